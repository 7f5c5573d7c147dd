"""Verified citations: markers that point at given passages, and numbers that their passages contain."""

from __future__ import annotations

import re
from typing import Sequence

from rag.answering.extractive import sentences
from rag.text.numbers import numbers_supported
from rag.text.tokens import bigrams
from rag.types import Citation, Passage

# [1], [1, 2], [1][2], 【1】, [^1], [ID:1]
_MARKER_RE = re.compile(r"[\[【]\s*(?:\^|ID:|id:|来源|资料)?\s*(\d+(?:\s*[,，、]\s*\d+)*)\s*[\]】]")


def _numbers(marker: re.Match) -> list[int]:
    """The passage numbers one marker names: "[1, 2]" → [1, 2]."""
    return [int(n) for n in re.split(r"\s*[,，、]\s*", marker.group(1))]


def markers(text: str) -> list[int]:
    """The marker numbers used in ``text``, in order of first use."""
    found: list[int] = []
    for m in _MARKER_RE.finditer(text):
        found.extend(n for n in _numbers(m) if n not in found)
    return found


def strip_markers(text: str) -> str:
    """``text`` without citation markers."""
    return _MARKER_RE.sub("", text)


def keep_valid_markers(text: str, n_passages: int) -> str:
    """Drop markers that point at no given passage; normalise the rest to ``[n]``."""

    def fix(m: re.Match) -> str:
        nums = [n for n in _numbers(m) if 1 <= n <= n_passages]
        return "".join(f"[{n}]" for n in dict.fromkeys(nums))

    return _MARKER_RE.sub(fix, text)


def supporting_passages(text: str, passages: Sequence[Passage], limit: int = 2) -> list[int]:
    """Marker numbers (1-based) of the passages that share most with ``text``."""
    words = set(bigrams(strip_markers(text)))
    if not words:
        return [1] if passages else []
    scored = [(len(words & set(bigrams(p.text))) / len(words), i + 1) for i, p in enumerate(passages)]
    scored = [s for s in scored if s[0] > 0.2] or scored[:1]
    return [i for _, i in sorted(scored, key=lambda s: -s[0])[:limit]]


def add_missing_markers(text: str, passages: Sequence[Passage]) -> str:
    """An answer with no marker gets the passage(s) it came from."""
    if markers(text) or not passages:
        return text
    return text.rstrip() + "".join(f"[{i}]" for i in supporting_passages(text, passages))


def unsupported_numbers(text: str, passages: Sequence[Passage]) -> list[str]:
    """Numbers in the answer that none of its cited passages contains."""
    cited = [passages[i - 1].text for i in markers(text) if 1 <= i <= len(passages)]
    evidence = "\n".join(cited)
    return [n.text for n in numbers_supported(strip_markers(text), evidence)]


def best_quote(passage_text: str, answer_text: str) -> str:
    """The sentence of the passage that supports the answer best."""
    words = set(bigrams(strip_markers(answer_text)))
    best, best_score = "", -1.0
    for s, e in sentences(passage_text):
        sentence = passage_text[s:e]
        score = len(words & set(bigrams(sentence)))
        if score > best_score:
            best, best_score = sentence, score
    return best.strip()


def build_citations(text: str, passages: Sequence[Passage], quotes: dict[int, str] | None = None) -> list[Citation]:
    """One citation per marker used in ``text``, pointing at the exact passage and its supporting sentence."""
    quotes = quotes or {}
    citations = []
    for n in markers(text):
        if not 1 <= n <= len(passages):
            continue
        chunk = passages[n - 1].chunk
        quote = quotes.get(n) or best_quote(chunk.text, text)
        citations.append(Citation(n, chunk.source, chunk.text, chunk.start, chunk.end, quote))
    return citations
