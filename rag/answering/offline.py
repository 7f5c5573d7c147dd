"""The answer without an LLM: the selector's best units, cut to what answers, or told as a near miss."""

from __future__ import annotations

import functools
import re
import time
from dataclasses import replace
from typing import Sequence

from rag.answering import nearmiss, phrasing, selection
from rag.answering.citations import build_citations, strip_markers
from rag.answering.compose import composer
from rag.answering.evidence import NOT_FOUND, analyse_question, evidence_gap
from rag.answering.evidence_units import Extract
from rag.answering.extractive import extract_all
from rag.answering.years import figure_item, other_year
from rag.question.analysis import YEAR_WORD, QuestionInfo
from rag.question.time import undated_relative
from rag.retrieval.hybrid import Retriever
from rag.text.tokens import trim
from rag.types import Answer, Passage


def ranked_parts(info: QuestionInfo, passages, retriever) -> tuple[list[Extract], list[str]]:
    """The extractive answer in parts, and flags saying how it was found."""
    # the units of the passages ranked by the fitted selector (their vectors were saved at ingest)
    ranker = functools.partial(selection.rank, retriever=retriever)
    compose = composer(selection.qtype_of(info), passages, retriever, listing=info.kind == "list")
    return extract_all(info, passages, ranker, retriever.document_year, compose), []


def several(subs: list[str], question: str, standalone: str, retriever: Retriever, top_k: int,
             flags, labels: Sequence[str] = (), separate: bool = False) -> Answer | None:
    """One answer per single-fact question, each cited to its own passage (None unless every one is found, or, for
    questions asked one after the other with no labels, at least one: the others are then said to be missing)."""
    t0 = time.perf_counter()
    merged: list[Passage] = []
    position: dict[str, int] = {}
    texts, quotes, missing, repeated = [], {}, [], 0
    for k, sub in enumerate(subs):
        passages = retriever.search(sub, top_k)
        info = analyse_question(sub, None, retriever)
        if k < len(labels) and not YEAR_WORD.fullmatch(labels[k]):  # "A 和 B 分别……": this part's item, then the others'
            info = replace(info, items=(labels[k], *labels[:k], *labels[k + 1:]))
        parts, how = ([], []) if evidence_gap(info, passages, retriever) else ranked_parts(info, passages, retriever)
        if len(parts) == 1 and _miss_reason(info, parts[0], passages) is not None:
            parts = []  # a related figure is not this part's answer
        if not parts:
            missing.append(sub)
            continue
        if any(f"{strip_markers(hit.answer)}[" in t for hit in parts for t in texts):
            repeated += 1  # the same clause as an earlier part: not this part's own answer, or both parts' answer
            continue
        flags = flags + [f for f in how if f not in flags]
        for hit in parts:
            p = passages[hit.evidence.passage]
            if p.chunk.id not in position:
                position[p.chunk.id] = len(merged)
                merged.append(replace(p, rank=len(merged) + 1))
            n = position[p.chunk.id] + 1
            label = labels[k] if k < len(labels) else hit.label
            said = strip_markers(hit.answer)
            if label and said.startswith(label):
                label = ""  # the entry names its item itself ("-v：…", "仅限第 1 页：…")
            texts.append(f"{label}{'：' if label else ''}{said}[{n}]")
            quotes.setdefault(n, strip_markers(hit.evidence.text).strip())
    if (missing or repeated) and (labels or not texts or not separate):
        return None  # answered as one question instead, which may still find every figure in one sentence
    timings = {"retrieval": time.perf_counter() - t0}
    base = dict(question=question, passages=merged, standalone_question=standalone, timings=timings)
    text = "；".join(texts) + "。" + "".join(f"文档中没有找到“{sub.rstrip('？?')}”的答案。" for sub in missing)
    return Answer(text=text, citations=build_citations(text, merged, quotes), backend="extractive",
                  flags=flags + ["several-facts"], **base)


def extractive(info: QuestionInfo, passages, retriever, flags, base) -> Answer:
    parts, how = ranked_parts(info, passages, retriever)
    flags = flags + how
    if not parts:
        told = other_year_answer(info, passages, retriever, flags, base)
        if told is not None:
            return told
        return Answer(text=NOT_FOUND, abstained=True, backend="extractive", flags=flags + ["no-evidence"], **base)
    missing = _not_said(info, parts, passages, retriever)
    if missing is not None:
        return _told_instead(missing, parts[0], passages, flags, base)
    if len(parts) == 1:
        missed = _near_miss(info, parts[0], passages, flags, base)
        if missed is not None:
            return missed
    answer = _from_extracts(parts, passages, flags, base, info)
    undated = _undated(info, parts, passages, retriever)
    return replace(answer, text=f"{answer.text}（文档里的“{undated}”没有写明是哪一年。）") if undated else answer


def _undated(info: QuestionInfo, parts: list[Extract], passages, retriever) -> str | None:
    """The question's "今年" that the cited text also says, in a document naming no year: which year it means is
    not told (the answer says so)."""
    return next((word for year in info.years for hit in parts
                 if (word := undated_relative(info.text, year, passages[hit.evidence.passage].text,
                                              retriever.document_year(passages[hit.evidence.passage].source)))), None)


def _not_said(info: QuestionInfo, parts: list[Extract], passages, retriever) -> tuple[str, bool] | None:
    """What the question asks that the answer's units do not say (and whether to show them anyway): the key for
    the action, the page it names, the menu, the thing a table row would have to name."""
    texts = [hit.answer for hit in parts]
    best = parts[0].evidence
    chunk = passages[best.passage].chunk
    if nearmiss.no_key(info, texts):
        return "文档没有给出这个操作的快捷键", True
    page = nearmiss.other_page(info, chunk.indexed, retriever.page_names())
    if page:
        return f"文档中关于{page}没有这一项", False
    if nearmiss.no_menu(info, texts):
        return "文档没有说它在哪个菜单里", True
    # what the entry stands under: its document's name and headings (those above it in the passage too: "## ulimit"
    # where the passage began in the section before), the lead-in above it
    before = passages[best.passage].text[:best.start]
    above = "\n".join([chunk.context, *re.findall(r"^#{1,6} .*$", before, re.M), before[-nearmiss.LEAD_IN:]])
    absent = nearmiss.not_in_entry(info, best.kind, best.shown or best.text, above)
    return (f"相关的表格和条目里没有“{absent}”这一项", False) if absent else None


def _miss_reason(info: QuestionInfo, hit: Extract, passages) -> tuple[str, bool] | None:
    text = passages[hit.evidence.passage].text
    context = text[max(0, hit.evidence.start - nearmiss.LOOKBACK) : hit.evidence.end]
    after = text[hit.evidence.end : hit.evidence.end + nearmiss.LOOKAHEAD].split("\n\n", 1)[0]  # its paragraph
    heading = passages[hit.evidence.passage].chunk.context  # its document's name and the headings above it
    # (a table row as shown carries its header: "默认值：document.body" is said by the column far above the row)
    return nearmiss.describe(info, hit.answer, context, f"{context}{after}\n{hit.evidence.shown}", heading)


def _near_miss(info: QuestionInfo, hit: Extract, passages, flags, base) -> Answer | None:
    """An abstention that tells the related figure the documents do hold (another ordinal, a subset)."""
    found = _miss_reason(info, hit, passages)
    return None if found is None else _told_instead(found, hit, passages, flags, base)


def _told_instead(found: tuple[str, bool], hit: Extract, passages, flags, base) -> Answer:
    """The abstention for a near-miss: why the passages do not answer, and (when related) what they hold instead."""
    reason, related = found
    n = hit.evidence.passage + 1
    if not related:
        return Answer(text=f"{NOT_FOUND}（{reason}）", abstained=True, backend="extractive",
                      flags=flags + ["near-miss"], **base)
    said = f"{reason}，只提到：{strip_markers(hit.answer)}[{n}]。"
    quotes = {n: strip_markers(hit.evidence.text).strip()}
    return Answer(text=said, citations=build_citations(said, passages, quotes), abstained=True,
                  backend="extractive", flags=flags + ["near-miss"], **base)


def other_year_answer(info: QuestionInfo, passages, retriever, flags, base) -> Answer | None:
    """An abstention that tells the same figure of another year, cited ("…只提到2024年86件重点督办提案[1]")."""
    found = other_year(info, passages, retriever)
    if found is None:
        return None
    fact, p_i, year = found
    n = p_i + 1
    item = strip_markers(figure_item(fact))
    asked = "、".join(f"{y}年" for y in info.years)
    told = item if item.startswith(f"{year}年") else f"{year}年{item}"  # the item may say its year itself
    said = f"文档没有给出{asked}的{info.focus}，只提到{told}[{n}]。"
    quotes = {n: strip_markers(fact.lead + fact.clause).strip()}
    return Answer(text=said, citations=build_citations(said, passages, quotes), abstained=True,
                  backend="extractive", flags=flags + ["near-miss", "other-year"], **base)


def _from_extracts(parts: list[Extract], passages, flags, base, info: QuestionInfo | None = None) -> Answer:
    texts, quotes = [], {}
    for hit in parts:
        n = hit.evidence.passage + 1
        # a "[3]" or "【来源5】" written in the document is not ours: only the marker added here may cite
        texts.append(f"{hit.label}{'：' if hit.label else ''}{strip_markers(hit.answer)}[{n}]")
        quotes.setdefault(n, strip_markers(hit.evidence.text).strip())
    if info is not None and len(parts) == 1 and not parts[0].label:
        hit = parts[0]
        texts[0] = phrasing.sentence(info, strip_markers(hit.answer), passages[hit.evidence.passage].text,
                                     f"[{hit.evidence.passage + 1}]", hit.evidence.text).rstrip("。")
        release = phrasing.release_of(info, texts[0], passages[hit.evidence.passage], hit.evidence.start)
        if release:  # "从哪个版本开始……" answered by a changelog line: the release it stands under
            texts[0] = f"{release}：{texts[0]}"
    for hit in parts:
        for ev in hit.also:
            n = ev.passage + 1
            texts.append(f"{trim(strip_markers(ev.answer_text))}[{n}]")
            quotes.setdefault(n, strip_markers(ev.text).strip())
    text = "；".join(texts) + "。"
    return Answer(text=text, citations=build_citations(text, passages, quotes), backend="extractive", flags=flags, **base)
