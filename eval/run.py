"""Run the eval set through ``rag.answer`` and report retrieval, answer, citation and abstention metrics."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Callable

from eval.corpora import answering, group_by_corpus
from eval.dataset import CORPORA, DEFAULT_SET, EVAL_CORPORA_DIR, EVAL_DIR, SPLITS, extra_sets, item_corpus, item_split, load_items
from eval.metrics import (  # some only re-exported (see __all__): callers and tests reach them as eval.run.*
    ItemResult,
    error_result,
    evidence_rank,
    load_numbers_check,
    metric_value,
    percentile,
    score_item,
    summarize,
    summarize_groups,
)
from eval.report import display_path, fmt, format_table, table_columns, write_outputs

__all__ = ["ItemResult", "check_floors", "evidence_rank", "main", "percentile", "run_backend", "run_corpora",
           "score_item", "select_items", "summarize", "summarize_groups"]

DEFAULT_OUT = EVAL_DIR / "results"
DEFAULT_FLOORS = EVAL_DIR / "floors.json"


# ---------------------------------------------------------------- floors


def check_floors(summaries: dict[str, dict[str, Any]], floors: dict[str, dict[str, Any]]) -> list[str]:
    """Messages for every metric below its floor (or above its ``"max"`` ceiling); backends not run are skipped."""
    failures = []
    for backend, spec in floors.items():
        if backend not in summaries:
            continue
        summary = summaries[backend]
        for key, floor in spec.items():
            if key == "max":
                continue
            value = metric_value(summary, key)
            if value is None or value < floor:
                failures.append(f"{backend}: {key} = {fmt(value)} is below its floor {floor}")
        for key, ceiling in (spec.get("max") or {}).items():
            value = metric_value(summary, key)
            if value is None or value > ceiling:
                failures.append(f"{backend}: {key} = {fmt(value)} is above its ceiling {ceiling}")
    return failures


# ---------------------------------------------------------------- running


def _is_unavailable(error: BaseException) -> bool:
    """Whether the backend itself is down (then asking the remaining questions is pointless)."""
    try:
        from rag.errors import LLMUnavailable
    except ImportError:
        return False
    return isinstance(error, LLMUnavailable)


def run_backend(items: list[dict], backend: str, answer_fn: Callable[..., Any], top_k: int | None) -> list[ItemResult]:
    """Ask every item's question with one backend and score the answers."""
    check = load_numbers_check()
    progress = sys.stderr.isatty()  # a \r counter only makes sense on a terminal
    results = []
    for n, item in enumerate(items, 1):
        if progress:
            print(f"\r[{backend}] {n}/{len(items)}", end="", file=sys.stderr, flush=True)
        start = time.perf_counter()
        # only follow-ups pass a history, so an answer function without one still runs every other item
        history = {"history": item["history"]} if item.get("history") else {}
        try:
            answer = answer_fn(item["question"], backend=backend, top_k=top_k, **history)
        except Exception as exc:  # one failing question is recorded as wrong, not fatal to the run
            results.append(error_result(item, backend, exc, time.perf_counter() - start))
            if _is_unavailable(exc):
                print(f"\n[{backend}] unavailable, skipping the rest: {exc}", file=sys.stderr)
                results += [error_result(i, backend, exc) for i in items[n:]]
                break
            continue
        results.append(score_item(item, answer, latency=time.perf_counter() - start, numbers_check=check))
    if progress:
        print(file=sys.stderr)
    return results


REAL = "real"  # --corpus real: the corpora of real documents in data/eval/


def select_items(
    items: list[dict], type_: str | None = None, limit: int | None = None,
    split: str | None = None, corpus: str | None = None,
) -> list[dict]:
    """Items of one type, split and corpus (each: all when None), at most ``limit`` of them.

    ``corpus`` is a corpus name, or ``real``: every corpus of real documents in ``data/eval/``.
    """
    real = {p.name for p in EVAL_CORPORA_DIR.glob("*/")}
    chosen = [
        i for i in items
        if (type_ is None or i["type"] == type_)
        and (split is None or item_split(i) == split)
        and (corpus is None or item_corpus(i) == corpus or (corpus == REAL and item_corpus(i) in real))
    ]  # fmt: skip
    return chosen[:limit] if limit is not None else chosen


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m eval", description=__doc__)
    parser.add_argument("--backend", action="append", help="backend name, repeatable (default: extractive)")
    parser.add_argument("--set", default=None,
                        help="a JSONL eval set (default: eval/questions.jsonl and every eval/sets/*.jsonl)")
    parser.add_argument("--top-k", type=int, default=None, help="passages to retrieve (default: the library's)")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="folder for <backend>.json and report.md")
    parser.add_argument("--limit", type=int, default=None, help="ask only the first N (selected) items")
    parser.add_argument("--type", default=None, help="ask only items of this type")
    parser.add_argument("--split", choices=[*SPLITS, "all"], default="all",
                        help="ask only this split's items (holdout: never used for tuning); default all")
    parser.add_argument("--corpus", choices=[*CORPORA, REAL, "all"], default="sample",
                        help="ask the items of this corpus (real: every corpus in data/eval/); one other than "
                             "sample gets an index of its own for the run (default: sample, the configured index)")
    parser.add_argument("--check-floors", action="store_true", help="exit 1 when a metric is below its floor")
    parser.add_argument("--floors", default=str(DEFAULT_FLOORS), help="floors file for --check-floors")
    return parser


def main(argv: list[str] | None = None, answer_fn: Callable[..., Any] | None = None) -> int:
    """Run the eval; returns the exit code (1 when --check-floors finds a metric below its floor).

    ``answer_fn`` replaces ``rag.answer`` for every corpus (tests pass a fake); it is called as
    ``answer_fn(question, backend=..., top_k=...)``, plus ``history=`` for a follow-up item.
    """
    args = _parser().parse_args(argv)
    backends = args.backend or ["extractive"]
    split = None if args.split == "all" else args.split
    corpus = None if args.corpus == "all" else args.corpus
    sets = [Path(args.set)] if args.set else [DEFAULT_SET, *extra_sets()]
    items = select_items([i for path in sets for i in load_items(path)], args.type, args.limit, split, corpus)
    if not items:
        print("no items selected", file=sys.stderr)
        return 2
    try:
        results = run_corpora(items, backends, answer_fn, args.top_k)
    except ImportError as exc:
        print(f"cannot import rag.answer: {exc}", file=sys.stderr)
        return 2
    summaries = {b: summarize_groups(rs) for b, rs in results.items()}
    notes = [] if load_numbers_check() else ["rag.text.numbers is not available: unsupported_numbers was skipped"]
    meta = {"set": ", ".join(display_path(p) for p in sets), "split": args.split, "corpus": args.corpus, "top_k": args.top_k,
            "notes": notes}  # fmt: skip
    write_outputs(Path(args.out), summaries, results, meta)
    print(format_table(table_columns(summaries)))
    for note in notes:
        print("note:", note)
    print(f"wrote {display_path(Path(args.out))}/report.md")
    return _floors_exit_code(args, summaries) if args.check_floors else 0


def run_corpora(
    items: list[dict], backends: list[str], answer_fn: Callable[..., Any] | None, top_k: int | None
) -> dict[str, list[ItemResult]]:
    """Every backend's results, each corpus's items asked against that corpus's documents (see eval/corpora.py)."""
    results: dict[str, list[ItemResult]] = {b: [] for b in backends}
    for corpus, group in group_by_corpus(items).items():
        with answering(corpus, answer_fn) as fn:
            for backend in backends:
                results[backend] += run_backend(group, backend, fn, top_k)
    return results


def _floors_exit_code(args: argparse.Namespace, summaries: dict[str, dict[str, Any]]) -> int:
    """Print every metric below its floor; 1 when there is one."""
    floors = json.loads(Path(args.floors).read_text(encoding="utf-8"))
    failures = check_floors(summaries, floors)
    for failure in failures:
        print("BELOW FLOOR", failure)
    if not failures:
        print("all floors met")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
