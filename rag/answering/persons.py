"""Who a text names: people jieba tags as person names, and names written in Latin letters."""

from __future__ import annotations

import re
from typing import Sequence

from rag.text.tokens import person_names
from rag.types import Passage

# a name written in Latin letters: two or three capitalised words ("Ian Murdock", "Raphaël Hertzog"), or two joined
# by a hyphen ("Leo-Hong", "Jean-Pierre Dupont")
_WORD = r"[A-Z][a-zà-öø-ÿ]{1,15}"
_LATIN_NAME = re.compile(rf"(?<![\w.])(?:{_WORD}(?:[ -][A-Z]\.)?(?: {_WORD}){{1,2}}"
                         rf"|[A-Z][a-z]{{1,8}}-[A-Z][a-z]{{1,6}}(?: {_WORD})?)(?![\w.-])")


def persons(text: str) -> set[str]:
    """The person names in ``text``."""
    return set(person_names(text)) | set(_LATIN_NAME.findall(text))


def names_a_person(text: str) -> bool:
    return bool(persons(text))


def names_a_cited_person(answer: str, passages: Sequence[Passage], cited: Sequence[int]) -> bool:
    """Whether an answer names a person that one of its cited passages names too (``cited``: 0-based)."""
    named = persons(answer)
    return any(name in passages[i].text for name in named for i in cited if 0 <= i < len(passages))


# a unit whose doer is "he" or "she": "1921年，他在东南大学创建了……", "She founded …"
_PRONOUN_DOER = re.compile(r"^(?:[^，。,.]{0,16}[，,]\s*)?(?:[他她](?![们人])|(?:He|She)\b)")


def pronoun_referent(unit: str, before: str, headings: str) -> str | None:
    """The person "他"/"she" opening ``unit`` stands for: of the people named before it in its passage (``before``)
    and in its headings (a biography's title), the one named most, the last named on a tie; None when the unit
    opens otherwise or nobody is named. ("……被李约瑟誉为“东方剑桥”。1949年以后，他任……" in a life of 竺可桢 is about
    竺可桢, named four times before.)"""
    if not _PRONOUN_DOER.match(unit.strip()):
        return None
    named = person_names(headings) + person_names(before) + _LATIN_NAME.findall(before)
    if not named:
        return None
    last = {name: k for k, name in enumerate(named)}
    return max(last, key=lambda name: (named.count(name), last[name]))
