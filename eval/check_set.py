"""Validate eval/questions.jsonl against the sample corpus and print counts by type."""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the ``eval`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eval.dataset import (  # noqa: E402
    DEFAULT_CORPUS,
    DEFAULT_SET,
    REQUIRED_FIELDS,
    TYPES,
    answer_matches,
    load_items,
    squash,
)

MIN_TOTAL = 70
MIN_BY_TYPE = {"count": 20, "compare": 5, "reworded": 6, "english": 4, "unanswerable": 12}
EVIDENCE_LEN = (8, 40)
_SENTENCE_END = re.compile(r"[。！？!?]")


def load_corpus(corpus_dir: str | Path = DEFAULT_CORPUS) -> dict[str, str]:
    """Every ``.txt`` file of the corpus, by file name, squashed (see ``squash``)."""
    return {p.name: squash(p.read_text(encoding="utf-8")) for p in sorted(Path(corpus_dir).glob("*.txt"))}


def sentence_around(doc: str, start: int, end: int) -> str:
    """The sentence(s) of ``doc`` that contain ``doc[start:end]``."""
    left = max((m.end() for m in _SENTENCE_END.finditer(doc, 0, start)), default=0)
    right = _SENTENCE_END.search(doc, end)
    return doc[left : right.end() if right else len(doc)]


def evidence_contexts(item: dict, corpus: dict[str, str]) -> tuple[list[str], list[str]]:
    """The sentences around each evidence occurrence in the item's sources, and the problems found."""
    contexts, problems = [], []
    covered = set()
    for ev in item.get("evidence", []):
        needle = squash(ev)
        if not EVIDENCE_LEN[0] <= len(needle) <= EVIDENCE_LEN[1]:
            problems.append(f"evidence {ev!r} is {len(needle)} chars, want {EVIDENCE_LEN[0]}-{EVIDENCE_LEN[1]}")
        found = False
        for source in item.get("source", []):
            doc = corpus.get(source, "")
            for m in re.finditer(re.escape(needle), doc):
                contexts.append(sentence_around(doc, m.start(), m.end()))
                covered.add(source)
                found = True
        if not found:
            problems.append(f"evidence {ev!r} not found in {item.get('source')}")
    for source in item.get("source", []):
        if source not in corpus:
            problems.append(f"unknown source {source!r}")
        elif item.get("answerable") and source not in covered:
            problems.append(f"no evidence from source {source!r}")
    return contexts, problems


def check_item(item: dict, corpus: dict[str, str]) -> list[str]:
    """Everything wrong with one item, as messages (empty when it is fine)."""
    missing = [f for f in REQUIRED_FIELDS if f not in item]
    if missing:
        return [f"missing fields {missing}"]
    problems = []
    if item["type"] not in TYPES:
        problems.append(f"unknown type {item['type']!r}")
    for pattern in item["answers"]:
        try:
            re.compile(pattern)
        except re.error as exc:
            problems.append(f"pattern {pattern!r} does not compile: {exc}")
    if problems:
        return problems
    if not item["answerable"]:
        if item["answers"]:
            problems.append("unanswerable item has answers")
        return problems
    if not item["answers"] or not item["evidence"]:
        return ["answerable item needs answers and evidence"]
    contexts, problems = evidence_contexts(item, corpus)
    # for "all" items the required elements may sit in different evidence sentences
    if contexts and not answer_matches(item, "\n".join(contexts)):
        problems.append("no answer pattern matches the evidence sentences")
    return problems


def check_set(items: list[dict], corpus: dict[str, str]) -> list[str]:
    """Problems across the whole set: per item, duplicate ids/questions and minimum counts."""
    problems = []
    for field in ("id", "question"):
        for value, n in Counter(i.get(field) for i in items).items():
            if n > 1:
                problems.append(f"duplicate {field} {value!r}")
    for item in items:
        problems += [f"{item.get('id', '?')}: {p}" for p in check_item(item, corpus)]
    counts = Counter(i.get("type") for i in items)
    if len(items) < MIN_TOTAL:
        problems.append(f"only {len(items)} items, want at least {MIN_TOTAL}")
    for type_, minimum in MIN_BY_TYPE.items():
        if counts[type_] < minimum:
            problems.append(f"only {counts[type_]} {type_} items, want at least {minimum}")
    return problems


def main(argv: list[str] | None = None) -> int:
    """Check the set, print counts by type and any problems; return 1 when there are problems."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--set", default=str(DEFAULT_SET), help="the JSONL eval set")
    parser.add_argument("--corpus", default=str(DEFAULT_CORPUS), help="folder with the source documents")
    args = parser.parse_args(argv)
    items = load_items(args.set)
    problems = check_set(items, load_corpus(args.corpus))
    counts = Counter(i.get("type") for i in items)
    for type_ in sorted(counts, key=lambda t: (TYPES.index(t) if t in TYPES else len(TYPES), t)):
        print(f"{type_:<13}{counts[type_]:>4}")
    answerable = sum(1 for i in items if i.get("answerable"))
    print(f"{'total':<13}{len(items):>4}  ({answerable} answerable, {len(items) - answerable} unanswerable)")
    for p in problems:
        print("PROBLEM", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
