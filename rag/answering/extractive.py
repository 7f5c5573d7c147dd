"""The no-LLM answerer: pick the evidence sentence from the passages and cut it to the part that answers."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Callable, Sequence

import numpy as np

from rag.question import units
from rag.answering.nearmiss import LOOKBACK, other_ordinal
from rag.text.numbers import extract_numbers
from rag.question.analysis import COUNT_CLASSIFIERS, QuestionInfo, asks_for_person, date_predicate, quoted_names
from rag.text.tokens import YEAR_IN_TEXT
from rag.text.tokens import bigrams
from rag.types import Passage

_SENTENCE_RE = re.compile(r"[^。！？!?；;\n]+(?:[。！？!?；;]+|……|$)")
_CLAUSE_SPLIT = re.compile(r"[、，,；;：:]")
_DATE_RE = re.compile(r"(?:(?:19|20)\d{2}年)?\d{1,2}月(?:\d{1,2}日)?|(?:19|20)\d{2}年(?:\d{1,2}月)?")
_TRIM = " \u3000…。，,、；;：:“”\"'‘’（）()—-"

Similarity = Callable[[str, list[str]], np.ndarray]


@dataclass(frozen=True)
class Evidence:
    """A sentence inside one of the passages, with how well it answers."""

    passage: int  # index into the passages list
    start: int  # span inside the passage text
    end: int
    text: str
    score: float


@dataclass(frozen=True)
class Extract:
    """The extractive answer: the part that answers, and the sentence it was cut from."""

    answer: str
    evidence: Evidence
    label: str = ""  # e.g. "2023年" when a comparison is answered one year at a time


def sentences(text: str) -> list[tuple[int, int]]:
    """Spans of the sentences of ``text`` (split on Chinese and Western sentence ends and line breaks)."""
    spans = []
    for m in _SENTENCE_RE.finditer(text):
        s, e = m.span()
        while s < e and text[s] in " \u3000\t":
            s += 1
        if e - s >= 2:
            spans.append((s, e))
    return spans


def _overlap(tokens: set[str], text: str) -> float:
    if not tokens:
        return 0.0
    found = set(bigrams(text))
    return len(tokens & found) / len(tokens)


def score_text(info: QuestionInfo, text: str) -> float:
    """How well ``text`` covers the question: its focus weighs three times its other words."""
    # "方面的成果": the phrases either side of 的 are matched, not the bigrams across it
    focus = {g for part in info.focus.split("的") for g in bigrams(part)} if info.focus else set()
    years = {y for y in info.years}
    question = set(bigrams(" ".join(info.terms))) | years
    return 3 * _overlap(focus, text) + _overlap(question, text)


def candidates(info: QuestionInfo, passages: Sequence[Passage], similarity: Similarity | None = None) -> list[Evidence]:
    """Every sentence of the passages, best first."""
    found: list[Evidence] = []
    for p_i, passage in enumerate(passages):
        for s, e in sentences(passage.text):
            text = passage.text[s:e]
            # earlier passages win ties: retrieval already ranked them
            found.append(Evidence(p_i, s, e, text, score_text(info, text) - 0.01 * p_i))
    if similarity is not None and found and not info.is_chinese:
        sims = similarity(info.text, [ev.text for ev in found])
        found = [Evidence(ev.passage, ev.start, ev.end, ev.text, ev.score + float(s) * 4) for ev, s in zip(found, sims)]
    return sorted(found, key=lambda ev: -ev.score)


_CLASSIFIERS = "个份篇件人名位次场期批项家条种支所座万亿千百元倍余多盟市县旗区户"  # not 届: "十三届" names a term


def _quantities(clause: str, years: tuple[str, ...]) -> list:
    """Numbers in a clause that count something: not years or dates, not ordinals (第九批), not names (三北).

    "连续补贴5年" counts years: a duration is a quantity.
    """
    nums = []
    for n in extract_numbers(clause):
        tail = clause[n.end : n.end + 1]
        if units.is_duration(clause, n):
            nums.append(n)
            continue
        if tail in ("年", "月", "日") or n.text in years or clause[max(n.start - 1, 0) : n.start] == "第":
            continue
        if not n.text[0].isdigit() and (not tail or tail not in _CLASSIFIERS):
            continue
        nums.append(n)
    return nums


def _best_clause(info: QuestionInfo, sentence: str, wanted: Callable[[str], bool], span: int = 1) -> str | None:
    """The clause of ``sentence`` that answers: it holds what ``wanted`` asks for and covers the question best.

    ``span`` > 1 (a question asking for several numbers at once) extends it over the clauses that follow.
    """
    clauses = [c.strip(_TRIM) for c in _CLAUSE_SPLIT.split(sentence)]
    best, best_score = None, -1.0
    for i, clause in enumerate(clauses):
        if not clause or not wanted(clause):
            continue
        score = score_text(info, clause)
        if score > best_score:
            best, best_score = i, score
    if best is None:
        return None
    following = [c for c in clauses[best + 1 :] if c and wanted(c)][: span - 1]
    return "，".join([clauses[best], *following])


def extract_all(
    info: QuestionInfo,
    passages: Sequence[Passage],
    similarity: Similarity | None = None,
    document_year: Callable[[str], str | None] | None = None,
) -> list[Extract]:
    """The answer in parts: one per year when the question compares years, else at most one."""
    if len(info.years) < 2:
        hit = extract(info, passages, similarity, document_year)
        return [hit] if hit else []
    parts = []
    for year in info.years:
        hit = extract(replace(info, years=(year,)), passages, similarity, document_year)
        if hit is None:
            return []  # half an answer to a comparison would mislead
        parts.append(replace(hit, label=f"{year}年"))
    return parts


def extract(
    info: QuestionInfo,
    passages: Sequence[Passage],
    similarity: Similarity | None = None,
    document_year: Callable[[str], str | None] | None = None,
) -> Extract | None:
    """The best evidence sentence and the part of it that answers; None when nothing supports an answer."""
    if info.kind == "count" and (units.asks_share(info.text) or units.asks_duration(info.text)):
        # "比例", "几年" name no counted thing, and no evidence says "比例": the kind of number stands in
        info = replace(info, focus="", terms=units.without_asking_words(info.terms))
    ranked = [
        ev for ev in candidates(info, passages, similarity)
        if fits(info, ev, passages[ev.passage], document_year)
    ]
    if not ranked:
        return None
    if info.kind == "count" and units.asks_share(info.text):
        return _pick(info, ranked, lambda c: any(units.is_share(n) for n in extract_numbers(c))
                     and units.same_whole(info.text, c))
    if info.kind == "count":
        asked = max(1, len(re.findall(rf"多少|几[{COUNT_CLASSIFIERS}]", info.text)))
        if units.asks_duration(info.text):  # "几年": a length of time, not a count found near a "每年"
            return _pick(info, ranked, lambda c: any(units.is_duration(c, n, True) for n in extract_numbers(c)))
        return _pick(info, ranked, lambda c: bool(_quantities(c, info.years)), span=asked)
    if info.kind == "date":
        # "when" is answered by a date of the event asked about ("签署"): a sentence without one only
        # mentions the subject, or dates another event of it (a meeting about the agreement)
        event = date_predicate(info.text) if info.is_chinese else ""
        ranked = [ev for ev in ranked if event in ev.text]
        return _pick(info, ranked, lambda c: bool(_DATE_RE.search(c)), whole=True)
    if asks_for_person(info.text):
        return _who(info, ranked, passages)
    if _supported(info, ranked[0]):
        return Extract(ranked[0].text.strip(_TRIM), ranked[0])
    return None


def _who(info: QuestionInfo, ranked: list[Evidence], passages: Sequence[Passage]) -> Extract | None:
    """A person named in the same passage as the best evidence, which names what the question names.

    A name from another passage would pin one subject's fact on another document's person.
    """
    best = ranked[0]
    if not _supported(info, best):
        return None
    text = passages[best.passage].text
    if info.is_chinese and any(e not in text for e in info.entities):
        return None
    for ev in ranked[:3]:
        if ev.passage == best.passage and _supported(info, ev) and _names_a_person(ev.text):
            return Extract(ev.text.strip(_TRIM), ev)
    return None


def _names_a_person(text: str) -> bool:
    return bool(_persons(text))


def _persons(text: str) -> set[str]:
    import jieba.posseg

    return {w.word for w in jieba.posseg.cut(text) if w.flag in ("nr", "nrfg", "nrt") and len(w.word) >= 2}


def names_a_cited_person(answer: str, passages: Sequence[Passage], cited: Sequence[int]) -> bool:
    """Whether an answer names a person that one of its cited passages names too (``cited``: 0-based)."""
    named = _persons(answer)
    return any(name in passages[i].text for name in named for i in cited if 0 <= i < len(passages))


def _pick(info: QuestionInfo, ranked: list[Evidence], wanted: Callable[[str], bool], whole: bool = False,
          span: int = 1) -> Extract | None:
    for ev in ranked[:12]:
        if not _supported(info, ev):
            break
        clause = _best_clause(info, ev.text, wanted, span)
        if clause is not None:
            return Extract(ev.text.strip(_TRIM) if whole else clause, ev)
    return None


def fits(info: QuestionInfo, ev: Evidence, passage: Passage, document_year) -> bool:
    """The sentence speaks of the question's years and the numbers the question states."""
    for year in info.years:
        mentioned = YEAR_IN_TEXT.findall(ev.text)
        if year in mentioned:
            continue
        if mentioned or (document_year is not None and document_year(passage.source) != year):
            return False
    context = passage.text[max(0, ev.start - LOOKBACK) : ev.end]
    if other_ordinal(info, context):
        return False  # "第三期" is not answered by the 第二期's figure
    if any(name not in context for name in quoted_names(info.text)):
        return False  # a sentence about another “named” thing, however many words it shares
    if info.numbers:
        present = {n.value for n in extract_numbers(ev.text)}
        if not all(v in present for v in info.numbers):
            return False
    return True


def _supported(info: QuestionInfo, ev: Evidence) -> bool:
    """Enough of the question is in the sentence to call it evidence."""
    if not info.is_chinese:
        # a question in another language needs its (translated) words there: its focus, or two of them
        found = [t for t in info.terms if t.lower() in ev.text.lower()]
        # (one is enough when a person must also be named in the sentence)
        if not found or (not info.focus and len(found) < 2 and not asks_for_person(info.text)):
            return False
        if not info.focus:
            return True
    return ev.score >= (1.5 if info.focus else 0.34)
