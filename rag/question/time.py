"""Relative time in a question, resolved against today's date: "去年" → "去年（2025年）".

The year then takes part in retrieval and in the year checks like any written year, and the answer
shows which year was meant ("文档没有给出2025年的……，只提到2024年……").
"""

from __future__ import annotations

import datetime as _dt
import re

_RELATIVE = {"前年": -2, "去年": -1, "上一年": -1, "今年": 0, "本年": 0, "本年度": 0, "明年": 1}
_WORD = re.compile(r"(?<![\d（(])(前年|去年|上一年|今年|本年度|本年|明年)(?![（(]\s*\d)")
_HALF = re.compile(r"(?<![\d年（(])(上半年|下半年)")


def resolve_relative_time(question: str, today: _dt.date | None = None) -> str:
    """The question with each relative year followed by the year it means; unchanged when it has none."""
    year = (today or _dt.date.today()).year
    text = _WORD.sub(lambda m: f"{m.group(1)}（{year + _RELATIVE[m.group(1)]}年）", question)
    if not _WORD.search(question) and not re.search(r"(?:19|20)\d{2}\s*年", question):
        text = _HALF.sub(lambda m: f"{year}年{m.group(1)}", text)
    return text


def relative_word(question: str, year: str) -> str | None:
    """The relative word a resolved question wrote ``year`` for: "今年" of "今年（2026年）…" and "2026"."""
    m = re.search(rf"(前年|去年|上一年|今年|本年度|本年|明年)（{year}年）", question)
    return m.group(1) if m else None


def undated_relative(question: str, year: str, text: str, document_year: str | None) -> str | None:
    """The question's "今年" when ``text`` says "今年" too in a document that names no year of its own: that text
    may be the year asked (a news report's "今年以来……"), though nothing tells which year it is."""
    word = relative_word(question, year)
    return word if word and document_year is None and word in text else None


def says_other_relative(question: str, year: str, text: str) -> bool:
    """``text`` speaks of another year in relative words than the question's ("明年计划……" for a "今年" question)."""
    word = relative_word(question, year)
    if not word or word in text:
        return False
    return any(_RELATIVE[w] != _RELATIVE[word] for w in _WORD.findall(text))
