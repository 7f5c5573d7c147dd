"""The eval set on disk: loading items, normalising text and matching answers against patterns."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

EVAL_DIR = Path(__file__).resolve().parent
DEFAULT_SET = EVAL_DIR / "questions.jsonl"
DEFAULT_CORPUS = EVAL_DIR.parent / "data" / "sample"
# the corpora an item can be asked against (its "corpus" field; absent = "sample")
CORPORA = {"sample": DEFAULT_CORPUS, "extra": EVAL_DIR.parent / "data" / "eval-extra"}
# cross-domain corpora: every folder data/eval/<name>/ is a corpus named <name>; its items are eval/sets/<name>.jsonl
EVAL_CORPORA_DIR = EVAL_DIR.parent / "data" / "eval"
SETS_DIR = EVAL_DIR / "sets"
CORPORA.update({p.name: p for p in sorted(EVAL_CORPORA_DIR.glob("*/")) if p.is_dir()})
# the file types a corpus folder's documents may have
DOC_SUFFIXES = (".txt", ".md")

TYPES = (
    "count", "date", "name", "place", "list", "compare", "reworded", "english", "multi", "followup", "unanswerable",
    "fact", "why", "how", "table",
)  # fmt: skip
# the nine types every cross-domain set (eval/sets/*.jsonl) must cover
SET_TYPES = ("fact", "reworded", "english", "multi", "followup", "why", "how", "table", "unanswerable")
# "dev" items may be looked at while improving the system; "holdout" items never are
SPLITS = ("dev", "holdout")
REQUIRED_FIELDS = ("id", "split", "question", "type", "answerable", "answers", "source", "evidence")

_WHITESPACE = re.compile(r"\s+")
# inline citation markers like [1] or [12]; stripped so their digits never count as an answer
_MARKER = re.compile(r"\[\d+\]")


def squash(text: str) -> str:
    """NFKC-normalise and drop all whitespace, so line joins and full/half-width punctuation don't matter."""
    return _WHITESPACE.sub("", unicodedata.normalize("NFKC", text or ""))


def strip_markers(text: str) -> str:
    """Remove inline citation markers ``[n]`` from an answer text."""
    return _MARKER.sub("", text or "")


def load_items(path: str | Path = DEFAULT_SET) -> list[dict]:
    """Read a JSONL eval set; blank lines are skipped, a bad line raises with its line number."""
    items = []
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            items.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{lineno}: not valid JSON: {exc}") from exc
    return items


def extra_sets() -> list[Path]:
    """The cross-domain eval sets, ``eval/sets/<corpus>.jsonl``, sorted by name."""
    return sorted(p for p in SETS_DIR.glob("*.jsonl") if (EVAL_CORPORA_DIR / p.stem).is_dir())


def item_corpus(item: dict) -> str:
    """The name of the corpus an item is asked against ("sample" unless it says otherwise)."""
    return item.get("corpus") or "sample"


def item_split(item: dict) -> str:
    """The split an item belongs to ("dev" unless it says otherwise)."""
    return item.get("split") or "dev"


def answer_matches(item: dict, text: str) -> bool:
    """Whether ``text`` satisfies the item's patterns: any of them, or every one when ``"all": true``."""
    patterns = item.get("answers") or []
    if not patterns:
        return False
    cleaned = unicodedata.normalize("NFKC", strip_markers(text))
    hits = (re.search(p, cleaned) is not None for p in patterns)
    return all(hits) if item.get("all") else any(hits)


def contains_evidence(item: dict, text: str) -> bool:
    """Whether ``text`` holds at least one of the item's evidence strings (whitespace and table bars ignored: a
    row laid out with spaces, "M-v     向后移动一屏", is shown as the Markdown row "| M-v | 向后移动一屏 |")."""
    haystack = squash(text).replace("|", "")
    return any(squash(e).replace("|", "") in haystack for e in item.get("evidence") or [])
