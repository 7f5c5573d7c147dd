"""Several facts in one question: split it into one question per fact, each answered and cited on its own.

"2023年公众号发了多少条稿件、被看了多少次？" → "2023年公众号发了多少条稿件？", "2023年被看了多少次？";
"In 2024, how many key proposals and how many consultation reports were there?" → one per "how many".
A question with one asked-for quantity is left whole.
"""

from __future__ import annotations

import re


_ASK = r"(?:多少|几[个份篇件人次条名项家位场期批回支本天年所座万千百]?)"
# a part starts after a list mark or "和/以及/还有" and holds its own 多少/几
_CN_SPLIT = re.compile(rf"(?:[、，,；;]|以及|还有|和|并且)(?=[^、，,；;]*?{_ASK})")
_EN_SPLIT = re.compile(r"\s*(?:,\s*)?\band\s+(?=how (?:many|much)\b)", re.I)
_EN_YEAR = re.compile(r"\bin\s+((?:19|20)\d{2})\b", re.I)


def split_question(question: str) -> list[str]:
    """The single-fact questions inside ``question`` (just ``[question]`` when it asks one thing)."""
    q = question.strip()
    if re.search(r"[\u4e00-\u9fff]", q):
        return _split_chinese(q)
    return _split_english(q)


_EMPTY_PART = re.compile(rf"^(?:分别|各自?|一共|总共|都)?(?:是|有|为)?{_ASK}[？?]?$")


_EACH = re.compile(rf"^(.*?)((?!年)[\u4e00-\u9fff]{{2,10}})(?:和|与|及|以及)([\u4e00-\u9fff]{{2,10}})(?:各|分别)(?:有|是|为)?({_ASK}.*)$")


def _split_chinese(q: str) -> list[str]:
    each = _EACH.match(q.rstrip("？?。"))
    if each:  # "2024年协商报告和提案各有多少" → one question per thing
        lead, first, second, ask = each.groups()
        return [f"{lead}{first}有{ask}？", f"{lead}{second}有{ask}？"]
    if len(re.findall(_ASK, q)) < 2:
        return [q]
    pieces = [p.strip() for p in _CN_SPLIT.split(q.rstrip("？?。")) if p.strip()]
    parts: list[str] = []
    lead = ""
    for piece in pieces:
        if _EMPTY_PART.match(piece):
            continue  # "分别是多少" only repeats the question
        if not re.search(_ASK, piece):
            lead += piece + "，"  # context for the part after it ("2024年2月去北京对接，去了几个部门")
            continue
        parts.append(lead + piece)
        lead = ""
    if len(parts) < 2:
        return [q]
    # the later parts lean on the first one's subject and year, and on its verb unless they repeat it
    stem = re.split(_ASK, parts[0], maxsplit=1)[0]
    return [parts[0] + "？"] + [f"{_subject(stem, part)}{part}？" for part in parts[1:]]


_FILLER = re.compile(r"分别|各自?|一共|总共|共|都|是|有|为|的|[，,、\s]")


def _subject(stem: str, part: str) -> str:
    """The first part's stem up to the verb the later part repeats: "电梯装好以后每年" of "电梯装好以后每年还能领"
    for "一共能领几年" (the whole stem when the later part repeats none of its words)."""
    own = _FILLER.sub("", re.split(_ASK, part, maxsplit=1)[0])
    for size in range(len(own), 1, -1):  # the longest piece of the later part's words found in the stem
        for start in range(len(own) - size + 1):
            at = stem.find(own[start : start + size])
            if at > 0:
                return stem[:at].rstrip("还也又都再就")
    return stem


def _split_english(q: str) -> list[str]:
    parts = [p.strip(" ,?") for p in _EN_SPLIT.split(q) if p.strip(" ,?")]
    if len(parts) < 2:
        return [q]
    year = _EN_YEAR.search(q)
    out = []
    for part in parts:
        if year and year.group(1) not in part:
            part = f"{part} in {year.group(1)}"
        out.append(part + "?")
    return out
