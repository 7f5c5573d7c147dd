"""Answers that read like answers: one Chinese sentence that restates what was asked, with the figure.

"2024年自治区政协形成了多少篇协商报告？" + evidence "18份协商报告" → "2024年自治区政协形成了18份协商报告"
(the figure in the document's own words, measure word included).
The question is restated only when its numbers (years, ordinals), its nouns and the figure are all in the
cited passage and the evidence names what the question counts; otherwise the evidence itself is the answer,
with the year it is about put in front when the passage says so.
"""

from __future__ import annotations

import re

from rag.index.facts import CLASSIFIERS
from rag.text.numbers import extract_numbers, numbers_supported
from rag.question.analysis import COUNT_CLASSIFIERS, QuestionInfo, nouns

_ASK = re.compile(rf"(?:多少|几)(人次|场次|[{COUNT_CLASSIFIERS}天年吨亩册集户倍]?)")
_UNITS = ("人次", "场次", "万元", "亿元")
_END = "。！？!?；;，,、：:…"


def _figure(clause: str, near: int) -> str | None:
    """The counted figure of the evidence nearest to what is counted, with its unit: "1140余篇", "12.86亿元"."""
    best, best_distance = None, None
    for n in extract_numbers(clause):
        if clause[n.end : n.end + 1] in ("年", "月", "日") or clause[max(n.start - 1, 0) : n.start] == "第":
            continue
        unit = next((u for u in _UNITS if clause.startswith(u, n.end)), None)
        if unit is None:
            unit = clause[n.end] if n.end < len(clause) and clause[n.end] in CLASSIFIERS + "%" else ""
        if not unit:
            continue  # "三级政协": a numeral that counts nothing here
        distance = abs(n.start - near)
        if best_distance is None or distance < best_distance:
            best, best_distance = n.text + unit, distance
    return best


def restate(info: QuestionInfo, clause: str, passage: str, evidence: str = "") -> str | None:
    """The count question turned into its answer, or None when that would say more than the passage."""
    if info.kind != "count" or not info.is_chinese or not info.focus or info.focus not in clause:
        return None
    if re.search(r"分别|各[有是自]", info.text) or any(e not in (evidence or clause) for e in info.entities):
        return None  # several things asked, or a place/name the evidence sentence does not state
    if any(noun not in passage for noun in nouns(info.text) if noun in info.terms):
        return None  # restated, "曼谷办事处有14人" would say what only the question says ("胡志明市办事处…14人")
    asks = list(_ASK.finditer(info.text))
    figure = _figure(clause, clause.index(info.focus))
    if len(asks) != 1 or figure is None:
        return None
    m = asks[0]
    # The figure keeps the document's own measure word ("多少份…信息" + "1140余篇…信息" → "1140余篇"),
    # as the cited quote and every other answer about it say it.
    text = (info.text[: m.start()] + figure + info.text[m.end() :]).rstrip("？?。 ")
    text = re.sub(r"(?:是|为|有|达到?)?(?:多少|几)$", "", text)
    if numbers_supported(text, passage):
        return None  # a year or ordinal the passage does not state
    return text


def sentence(info: QuestionInfo, clause: str, passage: str, marker: str, evidence: str = "") -> str:
    """One sentence: the restated question or the evidence, the citation marker, a full stop."""
    body = restate(info, clause, passage, evidence)
    if body is None:
        body = clause.strip().rstrip(_END)
        missing = [y for y in info.years if y not in body and f"{y}年" in passage]
        if missing and info.is_chinese:
            body = f"{'、'.join(y + '年' for y in missing)}，{body}"
    return f"{body}{marker}。"


_ASKS_RELEASE = re.compile(r"哪一?个版本|哪一?版|什么版本|几版|\b(?:which|what) (?:version|release)\b", re.I)
_VERSION = re.compile(r"(?<![\w.])v?\d+\.\d+(?:\.\d+)*(?![\w.])")
_HEADING = re.compile(r"^#{1,6}\s+(.+)$", re.M)


def release_of(info: QuestionInfo, answer: str, passage, start: int) -> str:
    """The release an answer stands under when the question asks which one and the answer names none of its own
    ("0.44.0 (2021-11-14)" over "增加 Python 3.10 下的测试，正式支持 Python 3.10"); "" otherwise."""
    if not _ASKS_RELEASE.search(info.text):
        return ""
    asked = set(_VERSION.findall(info.text))
    if any(v not in asked for v in _VERSION.findall(answer)):
        return ""
    above = _HEADING.findall(passage.text[:start])
    heading = above[-1] if above else passage.chunk.context.split(" › ")[-1]
    title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip("#* ")  # "[0.44.0](…) (2021-11-14)"
    return title if any(v not in asked for v in _VERSION.findall(title)) else ""
