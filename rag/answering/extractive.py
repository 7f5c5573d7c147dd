"""The no-LLM answerer: pick the evidence sentence from the passages and cut it to the part that answers."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Callable, Sequence

from rag.question import units
from rag.answering.nearmiss import LOOKBACK, counts_another_thing, other_ordinal
from rag.documents.units import ENTRY_KINDS, IN_FORMULA
from rag.text.numbers import extract_numbers
from rag.question.analysis import (
    COUNT_CLASSIFIERS,
    QuestionInfo,
    asks_for_person,
    quoted_names,
)
from rag.question.multifact import alternatives
from rag.question.time import relative_word, says_other_relative, undated_relative
from rag.answering.figures import asked_unit, best_clause, counts_things, quantities, score_text, states_change
from rag.text.tokens import WHEN, YEAR_IN_TEXT, trim
from rag.types import Passage
from rag.answering.evidence_units import FIGURE_TOP, Evidence, Extract, Ranker
from rag.answering.when import dating_units
from rag.answering.who import who

# (a Latin ";", "!" or "?" inside a formula or an expression ends nothing: "DATE(1954;7;20)", "a!=b")
_SENTENCE_RE = re.compile(rf"(?:[^。！？!?；;\n]|{IN_FORMULA})+(?:(?:[。！？；]|(?!{IN_FORMULA})[!?;])+|……|$)")


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


def candidates(info: QuestionInfo, passages: Sequence[Passage], ranker: Ranker | None = None) -> list[Evidence]:
    """Every answer unit of the passages, best first: by the selector, or without one by the question's words."""
    if ranker is not None:
        return ranker(info, passages)
    found: list[Evidence] = []
    for p_i, passage in enumerate(passages):
        for s, e in sentences(passage.text):
            text = passage.text[s:e]
            # earlier passages win ties: retrieval already ranked them
            found.append(Evidence(p_i, s, e, text, score_text(info, text) - 0.01 * p_i))
    return sorted(found, key=lambda ev: -ev.score)


def extract_all(
    info: QuestionInfo,
    passages: Sequence[Passage],
    ranker: Ranker | None = None,
    document_year: Callable[[str], str | None] | None = None,
    compose: Callable[..., str] | None = None,
) -> list[Extract]:
    """The answer in parts: one per year when the question compares years, else at most one.

    ``compose`` turns the best unit into the answer when no figure or date is asked (a procedure's steps).
    """
    if len(info.years) < 2:
        hit = extract(info, passages, ranker, document_year, compose)
        return [hit] if hit else []
    parts = []
    for year in info.years:
        hit = extract(replace(info, years=(year,)), passages, ranker, document_year, compose)
        if hit is None:
            return []  # half an answer to a comparison would mislead
        parts.append(replace(hit, label=f"{year}年"))
    return parts


def extract(
    info: QuestionInfo,
    passages: Sequence[Passage],
    ranker: Ranker | None = None,
    document_year: Callable[[str], str | None] | None = None,
    compose: Callable[..., str] | None = None,
) -> Extract | None:
    """The best evidence sentence and the part of it that answers; None when nothing supports an answer."""
    if info.kind == "count" and (units.asks_share(info.text) or units.asks_duration(info.text)
                                 or units.asked_measure(info.text) == units.TIME_MEASURE):
        # "比例", "几年", "多少天内" name no counted thing, and no evidence says "比例": the kind of number stands in
        info = replace(info, focus="", terms=units.without_asking_words(info.terms))
    every = candidates(info, passages, ranker)
    # the selector judges the question answerable by its best unit of all; the checks below pick among fitting ones
    answerable = every[0].supported if every and every[0].supported is not None else None
    naming = _naming_sources(info, passages)
    ranked = [ev for ev in every if fits(info, ev, passages[ev.passage], document_year, naming)]
    if answerable is not None and ranked:
        ranked = [replace(ev, supported=answerable) if k == 0 else ev for k, ev in enumerate(ranked)]
    if not ranked:
        return None
    if info.kind == "count" and units.asks_share(info.text):
        return _pick(info, ranked, lambda c: any(units.is_share(n) for n in extract_numbers(c))
                     and units.same_whole(info.text, c))
    if info.kind == "count":
        asked = max(1, len(re.findall(rf"多少|几[{COUNT_CLASSIFIERS}]", info.text)))
        if units.asks_duration(info.text):  # "几年": a length of time, not a count found near a "每年"
            return _pick(info, ranked, lambda c: any(units.is_duration(c, n, True) for n in extract_numbers(c)))
        measure = units.asked_measure(info.text)
        if measure:  # "多少公里": a figure in kilometres or metres, or written another way, never "两件大事"
            hit = _pick(info, ranked, lambda c: any(units.in_measure(c, n, measure) for n in extract_numbers(c)),
                        span=asked, loose=lambda c: not counts_things(c, info.years))
            if hit is not None or not units.asked_dimension(info.text):
                return hit
            # "走多远": no figure read in a measure ("日三四里"), the best unit may still tell it
        else:
            # (a figure the question states itself is not the one it asks: "budget of 10 million" and "1000万元以上")
            return _pick(info, ranked, lambda c: any(n.value not in info.numbers for n in quantities(c, info.years)),
                         span=asked)
    if info.kind == "date":
        said, dated = dating_units(info, ranked, passages)
        return _pick(info, said, dated, whole=True)
    if asks_for_person(info.text):
        return who(info, ranked, passages, _supported)
    if _supported(info, ranked[0]):
        best = ranked[0]  # or a close runner-up it is part of (an entry, term and description): it says more
        best = next((replace(ev, supported=best.supported) for ev in ranked[1:_NEAR_TOP + 1] if ev.supported
                     and ev.passage == best.passage and ev.start <= best.start and best.end <= ev.end), best)
        text = _with_other_case(info, best, trim(compose(best) if compose else best.answer_text), ranked)
        also = runners_up(ranked, text)
        if compose:  # a runner-up from an option's description shows the option it describes
            also = tuple(replace(ev, shown=compose(ev, whole=False)) for ev in also)
        wider = next((ev for ev in also if text.rstrip("。") in ev.answer_text), None)
        if wider is not None:  # the entry the best unit is part of says all it says and more: it answers instead
            best, text = replace(wider, supported=best.supported), trim(wider.answer_text)
            also = tuple(ev for ev in also if ev is not wider and not _repeats(trim(ev.answer_text), text))
        return Extract(text, best, also=also)
    return None


MAX_ALSO = 2  # runners-up shown after the best unit
MAX_ALSO_CHARS = 200  # a runner-up longer than this is left to its citation
MAX_ANSWER_CHARS = 400
_ASKS = ("？", "?")


def _repeats(one: str, other: str) -> bool:
    """One says what the other says: contained in it either way, or the same after an entry's "term：" prefix."""
    one, other = (t.split("：", 1)[-1] if len(t.split("：", 1)[0]) <= 30 else t for t in (one, other))
    return one in other or other in one


def runners_up(ranked: list[Evidence], text: str) -> tuple[Evidence, ...]:
    """The next units the selector rates close to the best (at most two), when it has a verdict on them.

    A question often has its answer split over units (two list items, a rule and its exception), or the
    selector cannot tell two units apart: both are shown, each cited, briefly and never repeating the best.
    """
    found: list[Evidence] = []
    size = len(text)
    for ev in ranked[1:_NEAR_TOP + 1]:
        if len(found) == MAX_ALSO:
            break
        shown = trim(ev.answer_text)
        if not ev.supported or not shown or len(shown) > MAX_ALSO_CHARS or size + len(shown) > MAX_ANSWER_CHARS:
            continue
        if shown.rstrip().endswith(_ASKS):
            continue  # a question in the text ("6.7. 这些目录是干什么用的？") heads an answer, it is not one
        if any(_repeats(shown, other) for other in [text, *(trim(f.answer_text) for f in found)]):
            continue
        found.append(ev)
        size += len(shown)
    return tuple(found)


def _pick(info: QuestionInfo, ranked: list[Evidence], wanted: Callable[[str], bool], whole: bool = False,
          span: int = 1, loose: Callable[[str], bool] | None = None) -> Extract | None:
    """``loose``: whether the selector's best unit may answer with a figure ``wanted`` does not see ("百分之十");
    by default it may."""
    if ranked and ranked[0].supported is not None:
        return _pick_ranked(info, ranked, wanted, whole, span, loose)
    for ev in ranked[:12]:
        if not _supported(info, ev):
            break
        clause = best_clause(info, ev.answer_text, wanted, span)
        if clause is not None:
            return Extract(trim(ev.answer_text) if whole else clause, ev)
    return None


_ACRONYM = re.compile(r"\b(?:[A-Z]{2,}[A-Za-z0-9]*|[a-z]+[A-Z][A-Za-z0-9]*)\b")  # "GDP", "CADR", "KiCad"
_LIST_MARK = re.compile(r"^\s*(?:[（(]?[一二三四五六七八九十\d]{1,3}[)）.、]|[-*+•])\s*")  # "（一）", "1.", "-"
_NEAR_TOP = 3  # the selector's runners-up a second fact may come from


def _pick_ranked(info: QuestionInfo, ranked: list[Evidence], wanted: Callable[[str], bool], whole: bool,
                 span: int, loose: Callable[[str], bool] | None = None) -> Extract | None:
    """The figure from the selector's best units: it decides whether there is an answer at all (its best
    unit is supported), then the first of its top units that holds the kind of figure asked gives it."""
    if not ranked[0].supported:
        return None
    top = ranked[:FIGURE_TOP]
    counted = info.focus if info.kind == "count" and info.is_chinese else ""
    if counted:
        # a unit with neither a character of the thing counted nor a figure in the unit asked ("几次视察考察活动":
        # "十三届…书画作品展") counts something else
        unit = asked_unit(info.text)
        same = re.compile(rf"[\d零〇一二两三四五六七八九十百千万亿]\s*[余多]?\s*{unit}") if unit else None
        top = [ev for ev in top if set(counted) & set(ev.answer_text) or (same and same.search(ev.answer_text))]
    words = [w for w in (relative_word(info.text, y) for y in info.years) if w]
    acronyms = _ACRONYM.findall(info.text) if not info.is_chinese else []
    change = states_change(info.text, "")

    def says_less(ev: Evidence) -> tuple[bool, ...]:
        """What the unit leaves unsaid, most telling first: the thing counted ("86件…提案" before "两件大事"), its head
        noun, the question's "今年" ("今年以来……1200公里" before "目前……总里程2.1万公里"), an acronym it names ("How much
        did the GDP grow?"), the change asked ("比上年末增加4.2万人" before "城镇常住人口612.7万人")."""
        text = ev.answer_text
        return (bool(counted) and counted not in text, bool(counted) and counted[-2:] not in text,
                bool(words) and not any(w in text for w in words), bool(acronyms) and not any(a in text for a in acronyms),
                change and not states_change(info.text, text))

    top = sorted(top, key=says_less)
    for ev in top:
        if not ev.plausible or counts_another_thing(info, ev.answer_text):
            continue
        clause = best_clause(info, ev.answer_text, wanted, span)
        if clause is None and ev.cases_lead and not whole:  # "（一）采购预算金额在1000万元以上；": one of the
            clause = best_clause(info, ev.cases_lead, wanted, span)  # cases; the figure is its lead-in's
            clause = clause and f"{clause}：{_LIST_MARK.sub('', trim(ev.answer_text))}"
        if clause:
            return Extract(trim(ev.answer_text) if whole else _in_row(ev, _of_what(ev.answer_text, clause)), ev)
    best = ranked[0]
    if counts_another_thing(info, best.answer_text):
        return None
    goes_on = _goes_on(best, ranked) if info.kind == "count" else None
    clause = goes_on and best_clause(info, goes_on.answer_text, wanted, span)
    if clause:  # "……以专题协商的形式开展。形成了4个方面……": the figure is in the sentence that goes on from it
        return Extract(clause, goes_on)
    text = best.answer_text
    # (an ordinal is no figure: "第十三条 纳税人应当……" gives no count)
    figures = ([n for n in extract_numbers(text) if n.text not in info.years and text[n.end:n.end + 1] not in "年月"
                and text[max(0, n.start - 1):n.start] != "第"] if info.kind == "count" else WHEN.findall(text))
    if best.plausible and figures and (loose is None or loose(text)):
        return Extract(trim(best.answer_text), best)  # a figure written another way ("百分之十")
    return None


def _of_what(text: str, clause: str) -> str:
    """A change cut from its sentence with the clause before it, which says what changed ("农村居民人均可支配收入
    29,870元，增长7.3%", not "增长7.3%")."""
    at = text.find(clause)
    if at <= 0 or not _CHANGE_FIRST.match(clause):
        return clause
    before = re.split(r"[，；;。：:]|,(?!\d)", text[:at].rstrip("，,；; "))[-1].strip()
    return f"{before}，{clause}" if before else clause


_CHANGE_FIRST = re.compile(rf"(?:比上年末?|同比|较上年)?(?:{'|'.join(units.RISES + units.FALLS)})")


def _in_row(ev: Evidence, clause: str) -> str:
    """A figure cut from a table row with the row's name ("营业收入（万元），2023年：486,520"): the column's header
    alone does not say what the figure is of."""
    if ev.kind != "row" or "；" not in ev.answer_text:
        return clause
    name = ev.answer_text.split("；", 1)[0].split("：", 1)[-1].strip()
    return clause if not name or name in clause else f"{name}，{clause}"


def _with_other_case(info: QuestionInfo, best: Evidence, text: str, ranked: list[Evidence]) -> str:
    """"造成残疾或者死亡，还要赔什么": the best sentence tells one of the cases ("造成残疾的，……"); the sentence right
    after it that tells the other ("造成死亡的，……") goes with it."""
    cases = alternatives(info.text)
    told = [case for case in cases if case in text]
    if len(told) != 1:
        return text
    other = next(case for case in cases if case not in told)
    after = _next_unit(best, ranked)
    if after is None or after.kind != best.kind or other not in after.answer_text or told[0] in after.answer_text:
        return text
    return f"{text.rstrip('。')}。{trim(after.answer_text)}"


def _next_unit(best: Evidence, ranked: list[Evidence]) -> Evidence | None:
    return next((ev for ev in ranked if ev.passage == best.passage and 0 <= ev.start - best.end <= 2), None)


def _goes_on(best: Evidence, ranked: list[Evidence]) -> Evidence | None:
    """The sentence right after ``best`` in its passage when it has no subject of its own ("形成了……")."""
    after = _next_unit(best, ranked)
    return after if after is not None and after.kind == "sentence" and _NO_SUBJECT.match(after.text) else None


_NO_SUBJECT = re.compile(r"\s*(?:并|还|又|共|先后|累计|共计|最终|最后)?(?:形成|提出|达成|完成|收到|推出|产生|取得|开展|举办|组织)")


def _naming_sources(info: QuestionInfo, passages: Sequence[Passage]) -> frozenset[str]:
    """The documents whose retrieved passages say every “named” thing of the question."""
    names = [_bare(n) for n in quoted_names(info.text)]
    return frozenset(p.source for p in passages if all(n in _bare(p.chunk.context + p.text) for n in names))


def fits(info: QuestionInfo, ev: Evidence, passage: Passage, document_year, naming: frozenset[str] = frozenset()) -> bool:
    """The sentence speaks of the question's years and the numbers the question states. ``naming``: the documents
    that say the question's “named” things somewhere, under which a list's item may stand."""
    for year in info.years:
        if says_other_relative(info.text, year, ev.text):
            return False  # "明年计划……" does not answer a "今年" question
        said = ev.answer_text if ev.kind == "row" else ev.text  # a table row's years are its header's
        mentioned = YEAR_IN_TEXT.findall(said) + _ISO_YEAR.findall(said)
        if year in mentioned:
            continue
        if mentioned:
            return False
        about = document_year(passage.source) if document_year is not None else year
        if about != year and not undated_relative(info.text, year, passage.text, about):
            return False
    # an entry's id line ("-- 5a1b…") is about the entry below it: its title follows it
    after = _ENTRY_AHEAD if _RECORD_ID.match(ev.text.strip()) else 0
    context = passage.text[max(0, ev.start - LOOKBACK) : ev.end + after]
    if other_ordinal(info, context):
        return False  # "第三期" is not answered by the 第二期's figure
    # a list's items stand under the lead-in that names what they are ("这些代号都来自《玩具总动员》的角色：")
    listed = ev.kind in ENTRY_KINDS and passage.source in naming
    # a name the passage's headings give is what all of it is about ("本办法自……起施行" under the measures' title)
    above = _bare(passage.chunk.context)
    if not listed and any(_bare(name) not in _bare(context) and _bare(name) not in above
                          for name in quoted_names(info.text)):
        return False  # a sentence about another “named” thing, however many words it shares
    if info.numbers:
        # "退出状态 16": the number may be the entry's term just above the unit; "1、2、3 分别" asks for each;
        # "第五讲小结里的……": it may be the heading the passage stands under (not the document's name: "userdel.8")
        headings = passage.chunk.context.partition(" › ")[2]
        present = {n.value for n in extract_numbers(f"{headings}\n{context}")}
        if not any(v in present for v in info.numbers):
            return False
    return True


_ISO_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?=[-/.]\d{1,2}[-/.]\d{1,2}(?!\d))")  # "2012-06-13" says 2012 too
_RECORD_ID = re.compile(r"^-{2,3}\s+[0-9a-fA-F-]{16,}$")
_ENTRY_AHEAD = 200


def _bare(text: str) -> str:
    """Only the words: a quoted “先到先得” is the text's 先到，先得."""
    return re.sub(r"[\W_]+", "", text)


def _supported(info: QuestionInfo, ev: Evidence) -> bool:
    """Enough of the question is in the unit to call it evidence: the selector's verdict, or without one its words."""
    if ev.supported is not None:
        return ev.supported
    if not info.is_chinese:
        # a question in another language needs its (translated) words there: its focus, or two of them
        found = [t for t in info.terms if t.lower() in ev.text.lower()]
        # (one is enough when a person must also be named in the sentence)
        if not found or (not info.focus and len(found) < 2 and not asks_for_person(info.text)):
            return False
        if not info.focus:
            return True
    return ev.score >= (1.5 if info.focus else 0.34)
