"""Run the eval set through ``rag.answer`` and report retrieval, answer, citation and abstention metrics."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from eval.corpora import answering, group_by_corpus
from eval.dataset import (
    CORPORA,
    DEFAULT_SET,
    EVAL_DIR,
    SPLITS,
    answer_matches,
    contains_evidence,
    item_corpus,
    item_split,
    load_items,
    strip_markers,
)
from eval.report import display_path, fmt, format_table, metric_value, table_columns, write_outputs

DEFAULT_OUT = EVAL_DIR / "results"
DEFAULT_FLOORS = EVAL_DIR / "floors.json"
KS = (1, 3, 5)
SNIPPET_CHARS = 120
AUTO = object()  # score_item's default: look up rag.numbers.numbers_supported lazily

NumbersCheck = Callable[[str, str], Iterable[Any]]


@dataclass
class ItemResult:
    """How the system did on one eval item."""

    id: str
    type: str
    question: str
    answerable: bool
    expected: list[str]  # the answer patterns ([] = should abstain)
    all_required: bool  # every pattern must match (the item's "all": true), not just one
    evidence: list[str]
    split: str = "dev"
    corpus: str = "sample"
    history: list[dict] = field(default_factory=list)  # the conversation before a follow-up question
    answer: str = ""
    abstained: bool = False
    correct: bool = False
    hit_rank: int | None = None  # 1-based rank where the evidence is first covered; None = not retrieved
    citation_ok: bool | None = None  # None when not applicable (unanswerable or abstained)
    unsupported: list[str] | None = None  # numbers not in the cited passages; None = not checked
    latency: float | None = None  # seconds for the whole answer() call
    retrieval_s: float | None = None
    generation_s: float | None = None
    backend: str = ""
    flags: list[str] = field(default_factory=list)
    top_passages: list[dict] = field(default_factory=list)
    error: str | None = None


# ---------------------------------------------------------------- scoring one item


def _name(source: str) -> str:
    """The file name of a source, so "data/sample/x.txt" and "x.txt" compare equal."""
    return Path(str(source)).name


def ranked(passages: Iterable[Any]) -> list[Any]:
    """Passages in rank order (the list order breaks ties and covers a missing ``rank``)."""
    indexed = list(enumerate(passages))
    indexed.sort(key=lambda pair: (getattr(pair[1], "rank", pair[0]), pair[0]))
    return [p for _, p in indexed]


def evidence_rank(item: dict, passages: list[Any]) -> int | None:
    """1-based rank at which the retrieved passages first hold the item's evidence.

    A compare item must have evidence from every one of its sources inside the first k passages;
    any other item needs one passage holding any one of its evidence strings.
    """
    needed = {_name(s) for s in item.get("source", [])} if item.get("type") == "compare" else set()
    covered: set[str] = set()
    for position, passage in enumerate(passages, 1):
        if contains_evidence(item, passage.text):
            covered.add(_name(passage.source))
            if needed <= covered:
                return position
    return None


def _numbers_supported() -> NumbersCheck | None:
    """``rag.numbers.numbers_supported`` when that module exists yet, else None."""
    try:
        from rag.numbers import numbers_supported
    except ImportError:
        return None
    return numbers_supported


def _snippets(item: dict, passages: list[Any], n: int = 5) -> list[dict]:
    """Source, start of text and evidence flag for the first ``n`` passages (for the report)."""
    return [
        {
            "rank": position,
            "source": _name(p.source),
            "text": " ".join(p.text.split())[:SNIPPET_CHARS],
            "has_evidence": contains_evidence(item, p.text),
        }
        for position, p in enumerate(passages[:n], 1)
    ]


def score_item(item: dict, answer: Any, *, latency: float | None = None, numbers_check: Any = AUTO) -> ItemResult:
    """Score one ``Answer`` against one eval item (pure apart from the lazy ``rag.numbers`` lookup).

    ``numbers_check`` is a ``numbers_supported(answer_text, evidence_text)`` function, or None to
    skip the unsupported-number check; by default ``rag.numbers`` is used when it is importable.
    """
    check = _numbers_supported() if numbers_check is AUTO else numbers_check
    passages = ranked(answer.passages)
    text = strip_markers(answer.text)
    result = _base_result(item)
    _copy_answer(result, answer, latency)
    result.top_passages = _snippets(item, passages)
    cited = [c.text for c in answer.citations]
    # answers to unanswerable questions are checked too: that is where invented numbers show up
    if check is not None and not result.abstained:
        # rag.numbers returns Number records; keep how each was written
        result.unsupported = [str(getattr(n, "text", n)) for n in check(text, "\n".join(cited))]
    if not item["answerable"]:
        result.correct = result.abstained
        return result
    result.hit_rank = evidence_rank(item, passages)
    result.correct = not result.abstained and answer_matches(item, text)
    if not result.abstained:
        result.citation_ok = any(contains_evidence(item, c) for c in cited)
    return result


def _base_result(item: dict) -> ItemResult:
    """An ItemResult carrying only the item's own fields."""
    return ItemResult(
        id=item["id"],
        type=item["type"],
        question=item["question"],
        answerable=bool(item["answerable"]),
        expected=list(item.get("answers", [])),
        all_required=bool(item.get("all")),
        evidence=list(item.get("evidence", [])),
        split=item_split(item),
        corpus=item_corpus(item),
        history=list(item.get("history") or []),
    )


def _copy_answer(result: ItemResult, answer: Any, latency: float | None) -> None:
    """Copy what the answer says about itself (text, abstention, backend, flags, timings)."""
    result.answer = answer.text
    result.abstained = bool(answer.abstained)
    result.backend = answer.backend
    result.flags = list(answer.flags)
    result.latency = latency
    result.retrieval_s = answer.timings.get("retrieval")
    result.generation_s = answer.timings.get("generation")


def error_result(item: dict, backend: str, error: BaseException, latency: float | None = None) -> ItemResult:
    """The result for a question whose ``answer()`` call raised: it counts as wrong and not retrieved."""
    result = _base_result(item)
    result.backend = backend
    result.latency = latency
    result.error = f"{type(error).__name__}: {error}"
    return result


# ---------------------------------------------------------------- summarising


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation between order statistics; None if empty."""
    data = sorted(v for v in values if v is not None)
    if not data:
        return None
    pos = (len(data) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (pos - low)


def _retrieval_metrics(answerable: list[ItemResult]) -> dict[str, float | None]:
    """hit@k for each k in KS and the mean reciprocal rank, over answerable items."""
    metrics: dict[str, float | None] = {}
    for k in KS:
        metrics[f"hit@{k}"] = _mean([1.0 if r.hit_rank and r.hit_rank <= k else 0.0 for r in answerable])
    metrics["mrr"] = _mean([1.0 / r.hit_rank if r.hit_rank else 0.0 for r in answerable])
    return metrics


def _abstention_metrics(results: list[ItemResult]) -> dict[str, float | None]:
    """Precision and recall of abstaining, where the positive class is "should abstain"."""
    tp = sum(1 for r in results if r.abstained and not r.answerable)
    fp = sum(1 for r in results if r.abstained and r.answerable)
    fn = sum(1 for r in results if not r.abstained and not r.answerable)
    return {"abstention_precision": _ratio(tp, tp + fp), "abstention_recall": _ratio(tp, tp + fn)}


def _by_type(results: list[ItemResult]) -> tuple[dict[str, float], dict[str, int]]:
    """Accuracy and item count per question type."""
    groups: dict[str, list[ItemResult]] = defaultdict(list)
    for r in results:
        groups[r.type].append(r)
    accuracy = {t: _mean([1.0 if r.correct else 0.0 for r in rs]) for t, rs in sorted(groups.items())}
    return accuracy, {t: len(rs) for t, rs in sorted(groups.items())}


def _number_metrics(results: list[ItemResult]) -> dict[str, int | None]:
    """Unsupported numbers in answers (None when the check was skipped) and answers flagged by rag."""
    checked = [r for r in results if r.unsupported is not None]
    return {
        "unsupported_numbers": sum(len(r.unsupported) for r in checked) if checked else None,
        "answers_with_unsupported_numbers": sum(1 for r in checked if r.unsupported) if checked else None,
        "flagged_unsupported_number": sum(1 for r in results if "unsupported-number" in r.flags),
    }


def summarize(results: list[ItemResult]) -> dict[str, Any]:
    """All metrics for one backend's results (see eval/README.md for their meaning)."""
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    answered = [r for r in answerable if not r.abstained and r.citation_ok is not None]
    by_type, counts = _by_type(results)
    return {
        "items": len(results),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        **_retrieval_metrics(answerable),
        "accuracy": _mean([1.0 if r.correct else 0.0 for r in results]),
        "answerable_accuracy": _mean([1.0 if r.correct else 0.0 for r in answerable]),
        "unanswerable_accuracy": _mean([1.0 if r.correct else 0.0 for r in unanswerable]),
        "citation_accuracy": _mean([1.0 if r.citation_ok else 0.0 for r in answered]),
        **_abstention_metrics(results),
        **_number_metrics(results),
        "latency_p50": percentile([r.latency for r in results], 50),
        "latency_p95": percentile([r.latency for r in results], 95),
        "retrieval_p50": percentile([r.retrieval_s for r in results], 50),
        "generation_p50": percentile([r.generation_s for r in results], 50),
        "errors": sum(1 for r in results if r.error),
        "accuracy_by_type": by_type,
        "items_by_type": counts,
    }


def summarize_groups(results: list[ItemResult]) -> dict[str, Any]:
    """``summarize`` over all results, plus the same per split and per corpus under ``by_split``/``by_corpus``.

    Floors can reach them with dotted names ("by_split.holdout.accuracy").
    """
    summary = summarize(results)
    for key, attr in (("by_split", "split"), ("by_corpus", "corpus")):
        groups: dict[str, list[ItemResult]] = defaultdict(list)
        for r in results:
            groups[getattr(r, attr)].append(r)
        summary[key] = {name: summarize(rs) for name, rs in sorted(groups.items())}
    return summary


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
    check = _numbers_supported()
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


def select_items(
    items: list[dict], type_: str | None = None, limit: int | None = None,
    split: str | None = None, corpus: str | None = None,
) -> list[dict]:
    """Items of one type, split and corpus (each: all when None), at most ``limit`` of them."""
    chosen = [
        i for i in items
        if (type_ is None or i["type"] == type_)
        and (split is None or item_split(i) == split)
        and (corpus is None or item_corpus(i) == corpus)
    ]  # fmt: skip
    return chosen[:limit] if limit is not None else chosen


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m eval", description=__doc__)
    parser.add_argument("--backend", action="append", help="backend name, repeatable (default: extractive)")
    parser.add_argument("--set", default=str(DEFAULT_SET), help="the JSONL eval set")
    parser.add_argument("--top-k", type=int, default=None, help="passages to retrieve (default: the library's)")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="folder for <backend>.json and report.md")
    parser.add_argument("--limit", type=int, default=None, help="ask only the first N (selected) items")
    parser.add_argument("--type", default=None, help="ask only items of this type")
    parser.add_argument("--split", choices=[*SPLITS, "all"], default="all",
                        help="ask only this split's items (holdout: never used for tuning); default all")
    parser.add_argument("--corpus", choices=[*CORPORA, "all"], default="sample",
                        help="ask the items of this corpus; one other than sample gets an index of its own "
                             "for the run (default: sample, the configured index)")
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
    items = select_items(load_items(args.set), args.type, args.limit, split, corpus)
    if not items:
        print("no items selected", file=sys.stderr)
        return 2
    try:
        results = run_corpora(items, backends, answer_fn, args.top_k)
    except ImportError as exc:
        print(f"cannot import rag.answer: {exc}", file=sys.stderr)
        return 2
    summaries = {b: summarize_groups(rs) for b, rs in results.items()}
    notes = [] if _numbers_supported() else ["rag.numbers is not available: unsupported_numbers was skipped"]
    meta = {"set": display_path(Path(args.set)), "split": args.split, "corpus": args.corpus, "top_k": args.top_k,
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
