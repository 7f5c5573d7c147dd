"""Validate eval/questions.jsonl and the cross-domain sets (eval/sets/*.jsonl) against their corpora; print counts."""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the ``eval`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eval.dataset import (  # noqa: E402
    CORPORA,
    DEFAULT_CORPUS,
    DEFAULT_SET,
    DOC_SUFFIXES,
    REQUIRED_FIELDS,
    SET_TYPES,
    SPLITS,
    TYPES,
    answer_matches,
    extra_sets,
    item_corpus,
    item_split,
    load_items,
    squash,
)

MIN_TOTAL = 150
MIN_BY_TYPE = {
    "count": 20, "compare": 5, "reworded": 16, "english": 10, "multi": 8, "followup": 6, "unanswerable": 24,
}  # fmt: skip
MIN_BY_SPLIT = {"dev": 60, "holdout": 40}
MIN_BY_CORPUS = {"sample": 100, "extra": 20}
# each cross-domain set (eval/sets/<corpus>.jsonl): enough items, and every one of SET_TYPES a few times
MIN_SET_ITEMS = 32
MIN_SET_BY_TYPE = 3
ROLES = ("user", "assistant")
EVIDENCE_LEN = (8, 40)
_SENTENCE_END = re.compile(r"[。！？!?]")


class SquashedDoc(str):
    """A squashed document (see ``squash``) that remembers where its lines ended, as offsets into itself."""

    line_ends: tuple[int, ...] = ()


def squash_lines(text: str) -> SquashedDoc:
    """``squash(text)``, remembering the squashed offset at the end of every non-blank line."""
    doc, ends, offset = [], [], 0
    for line in text.splitlines():
        part = squash(line)
        if part:
            doc.append(part)
            offset += len(part)
            ends.append(offset)
    squashed = SquashedDoc("".join(doc))
    squashed.line_ends = tuple(ends)
    return squashed


def load_corpus(corpus_dir: str | Path = DEFAULT_CORPUS) -> dict[str, str]:
    """Every ``.txt`` and ``.md`` file of the corpus, by file name, squashed (see ``squash_lines``)."""
    from rag.documents.loaders import decode_text  # read as the product reads them: GB18030 files too

    paths = sorted(p for p in Path(corpus_dir).iterdir() if p.is_file() and p.suffix in DOC_SUFFIXES)
    return {p.name: squash_lines(decode_text(p.read_bytes(), p.name)[0]) for p in paths}


def sentence_around(doc: str, start: int, end: int) -> str:
    """The sentence(s) of ``doc`` that contain ``doc[start:end]``.

    A sentence also ends at the end of a line when ``doc`` knows its line ends (``SquashedDoc``), so a
    table row, list item or ``Key: value`` line is its own context; a line end inside the evidence is kept.
    """
    left = max((m.end() for m in _SENTENCE_END.finditer(doc, 0, start)), default=0)
    right_match = _SENTENCE_END.search(doc, end)
    right = right_match.end() if right_match else len(doc)
    for line_end in getattr(doc, "line_ends", ()):
        if line_end <= start:
            left = max(left, line_end)
        elif line_end >= end:
            right = min(right, line_end)
            break
    return doc[left:right]


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


def history_problems(item: dict) -> list[str]:
    """What is wrong with an item's ``history`` (earlier chat turns); a follow-up must have one."""
    history = item.get("history")
    if history is None:
        return ["followup item needs a history"] if item.get("type") == "followup" else []
    if not isinstance(history, list) or not history:
        return ["history must be a non-empty list of {role, content} turns"]
    bad = [
        t for t in history
        if not (isinstance(t, dict) and t.get("role") in ROLES and isinstance(t.get("content"), str))
    ]
    if bad:
        return [f"history turn {bad[0]!r} needs a role in {ROLES} and a content string"]
    if not any(t["role"] == "user" for t in history):
        return ["history has no user turn"]
    return []


def check_item(item: dict, corpus: dict[str, str]) -> list[str]:
    """Everything wrong with one item, as messages (empty when it is fine); ``corpus`` is the item's corpus."""
    missing = [f for f in REQUIRED_FIELDS if f not in item]
    if missing:
        return [f"missing fields {missing}"]
    problems = []
    if item["type"] not in TYPES:
        problems.append(f"unknown type {item['type']!r}")
    if item["split"] not in SPLITS:
        problems.append(f"unknown split {item['split']!r}, want one of {SPLITS}")
    if item_corpus(item) not in CORPORA:
        problems.append(f"unknown corpus {item_corpus(item)!r}, want one of {tuple(CORPORA)}")
    problems += history_problems(item)
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


def duplicates(items: list[dict], prefix: str = "") -> list[str]:
    """Ids or questions used twice (a follow-up's short question may recur with another history)."""
    problems = []
    for key in ("id", "question"):
        values = Counter(_identity(i, key) for i in items)
        problems += [f"{prefix}duplicate {key} {value[0]!r}" for value, n in values.items() if n > 1]
    return problems


def check_set(items: list[dict], corpus: dict[str, str], others: dict[str, dict[str, str]] | None = None) -> list[str]:
    """Problems across the whole set: per item, duplicate ids/questions and minimum counts.

    ``corpus`` holds the sample documents; items of another corpus are checked against
    ``others[name]``, read from its folder (``CORPORA``) when not given.
    """
    corpora = {"sample": corpus, **(others or {})}
    problems = []
    problems += duplicates(items)
    for item in items:
        name = item_corpus(item)
        if name not in corpora and name in CORPORA:
            corpora[name] = load_corpus(CORPORA[name])
        problems += [f"{item.get('id', '?')}: {p}" for p in check_item(item, corpora.get(name, {}))]
    return problems + mix_problems(items)


def _identity(item: dict, key: str) -> tuple:
    """What must be unique: the id, or the question together with the conversation before it."""
    if key == "id":
        return (item.get("id"),)
    history = tuple((t.get("role"), t.get("content")) for t in item.get("history") or [] if isinstance(t, dict))
    return (item.get("question"), history)


def mix_problems(items: list[dict]) -> list[str]:
    """The minimum mix: enough items overall, per type, per split and per corpus."""
    problems = []
    if len(items) < MIN_TOTAL:
        problems.append(f"only {len(items)} items, want at least {MIN_TOTAL}")
    for label, counts, minimums in (
        ("", Counter(i.get("type") for i in items), MIN_BY_TYPE),
        ("split ", Counter(item_split(i) for i in items), MIN_BY_SPLIT),
        ("corpus ", Counter(item_corpus(i) for i in items), MIN_BY_CORPUS),
    ):
        for name, minimum in minimums.items():
            if counts[name] < minimum:
                problems.append(f"only {counts[name]} {label}{name} items, want at least {minimum}")
    return problems


def set_problems(name: str, items: list[dict], corpora: dict[str, dict[str, str]] | None = None) -> list[str]:
    """Problems of one cross-domain set ``eval/sets/<name>.jsonl``: per item, duplicates and its mix.

    Every item must be of corpus ``name`` (a folder ``data/eval/<name>/``); the set needs at least
    ``MIN_SET_ITEMS`` items and ``MIN_SET_BY_TYPE`` of each of ``SET_TYPES``.
    """
    corpora = dict(corpora or {})
    problems = []
    problems += duplicates(items, f"{name}: ")
    for item in items:
        corpus = item_corpus(item)
        if corpus != name:
            problems.append(f"{name}: {item.get('id', '?')}: corpus {corpus!r}, want {name!r}")
        if corpus not in corpora and corpus in CORPORA:
            corpora[corpus] = load_corpus(CORPORA[corpus])
        problems += [f"{name}: {item.get('id', '?')}: {p}" for p in check_item(item, corpora.get(corpus, {}))]
    if len(items) < MIN_SET_ITEMS:
        problems.append(f"{name}: only {len(items)} items, want at least {MIN_SET_ITEMS}")
    counts = Counter(i.get("type") for i in items)
    for t in SET_TYPES:
        if counts[t] < MIN_SET_BY_TYPE:
            problems.append(f"{name}: only {counts[t]} {t} items, want at least {MIN_SET_BY_TYPE}")
    return problems


def main(argv: list[str] | None = None) -> int:
    """Check the set and the cross-domain sets, print counts by type and any problems; 1 when there are problems."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--set", default=str(DEFAULT_SET), help="the JSONL eval set")
    parser.add_argument("--corpus", default=str(DEFAULT_CORPUS), help="folder with the sample documents")
    parser.add_argument("--no-sets", action="store_true", help="skip the cross-domain sets in eval/sets/")
    args = parser.parse_args(argv)
    items = load_items(args.set)
    problems = check_set(items, load_corpus(args.corpus))
    print(format_counts(items))
    if not args.no_sets:
        ids = Counter(i.get("id") for i in items)
        for path in extra_sets():
            set_items = load_items(path)
            ids.update(i.get("id") for i in set_items)
            problems += set_problems(path.stem, set_items)
            print(f"\n{path.relative_to(DEFAULT_SET.parent.parent)}")
            print(format_counts(set_items))
        problems += [f"duplicate id {i!r} across sets" for i, n in ids.items() if n > 1 and i is not None]
    for p in problems:
        print("PROBLEM", p)
    return 1 if problems else 0


def format_counts(items: list[dict]) -> str:
    """A table of item counts: one row per type, one column per corpus/split pair, and totals."""
    columns = sorted({(item_corpus(i), item_split(i)) for i in items}, key=lambda c: (c[0] != "sample", c))
    counts = Counter((i.get("type"), item_corpus(i), item_split(i)) for i in items)
    types = sorted({i.get("type") for i in items}, key=lambda t: (TYPES.index(t) if t in TYPES else len(TYPES), str(t)))
    width = max([16] + [len(f"{c}/{s}") + 2 for c, s in columns])
    header = f"{'type':<13}" + "".join(f"{c}/{s}".rjust(width) for c, s in columns) + f"{'all':>6}"
    lines = [header]
    for t in types:
        row = [counts[(t, c, s)] for c, s in columns]
        lines.append(f"{t:<13}" + "".join(f"{n:>{width}}" for n in row) + f"{sum(row):>6}")
    totals = [sum(counts[(t, c, s)] for t in types) for c, s in columns]
    lines.append(f"{'total':<13}" + "".join(f"{n:>{width}}" for n in totals) + f"{len(items):>6}")
    answerable = sum(1 for i in items if i.get("answerable"))
    lines.append(f"({answerable} answerable, {len(items) - answerable} unanswerable)")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
