"""Scoring one answer against its eval item (``ItemResult``) and the metrics over many: hit@k, accuracy,
citations, abstention, unsupported numbers, latency percentiles, per split and per corpus."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from eval.dataset import answer_matches, contains_evidence, item_corpus, item_split, strip_markers

KS = (1, 3, 5)
SNIPPET_CHARS = 120
AUTO = object()  # score_item's default: look up rag.text.numbers.numbers_supported lazily

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


def load_numbers_check() -> NumbersCheck | None:
    """``rag.text.numbers.numbers_supported`` when that module exists yet, else None."""
    try:
        from rag.text.numbers import numbers_supported
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
    """Score one ``Answer`` against one eval item (pure apart from the lazy ``rag.text.numbers`` lookup).

    ``numbers_check`` is a ``numbers_supported(answer_text, evidence_text)`` function, or None to
    skip the unsupported-number check; by default ``rag.text.numbers`` is used when it is importable.
    """
    check = load_numbers_check() if numbers_check is AUTO else numbers_check
    passages = ranked(answer.passages)
    text = strip_markers(answer.text)
    result = _base_result(item)
    _copy_answer(result, answer, latency)
    result.top_passages = _snippets(item, passages)
    cited = [c.text for c in answer.citations]
    # answers to unanswerable questions are checked too: that is where invented numbers show up
    if check is not None and not result.abstained:
        # rag.text.numbers returns Number records; keep how each was written
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


def metric_value(summary: dict[str, Any], key: str) -> Any:
    """A metric by name; dotted names reach into nested dicts ("accuracy_by_type.count")."""
    value: Any = summary
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value
