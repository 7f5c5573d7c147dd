"""What an eval run writes: the metrics table for the terminal, ``<backend>.json`` and ``report.md``."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from eval.dataset import EVAL_DIR
from eval.metrics import ItemResult, metric_value


TABLE_METRICS = (
    "items", "hit@1", "hit@3", "hit@5", "mrr", "accuracy", "answerable_accuracy", "unanswerable_accuracy",
    "citation_accuracy", "abstention_precision", "abstention_recall", "unsupported_numbers",
    "flagged_unsupported_number", "latency_p50", "latency_p95", "retrieval_p50", "generation_p50", "errors",
)  # fmt: skip


def fmt(value: Any) -> str:
    """A metric for a table cell: three decimals, "n/a" for a metric that could not be measured."""
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _rows(summaries: dict[str, dict[str, Any]]) -> list[list[str]]:
    """Metric rows, then one "accuracy[type]" row per question type."""
    rows = [[m, *(fmt(s.get(m)) for s in summaries.values())] for m in TABLE_METRICS]
    types = sorted({t for s in summaries.values() for t in s.get("accuracy_by_type", {})})
    for t in types:
        cells = [fmt(metric_value(s, f"accuracy_by_type.{t}")) for s in summaries.values()]
        rows.append([f"accuracy[{t}]", *cells])
    return rows


def format_table(summaries: dict[str, dict[str, Any]]) -> str:
    """Plain-text table: one row per metric, one column per backend."""
    rows = [["metric", *summaries], *_rows(summaries)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _md_table(summaries: dict[str, dict[str, Any]]) -> list[str]:
    lines = ["| metric | " + " | ".join(summaries) + " |", "|---" * (len(summaries) + 1) + "|"]
    return lines + ["| " + " | ".join(r) + " |" for r in _rows(summaries)]


def _expected(r: ItemResult) -> str:
    if not r.answerable:
        return "abstain (not in the documents)"
    joiner = " & " if r.all_required else " | "
    return f"{' / '.join(r.evidence)}  (patterns: `{joiner.join(r.expected)}`)"


def _turn(turn: dict) -> str:
    """One earlier chat turn, on one line."""
    who = "user" if turn.get("role") == "user" else "assistant"
    return f"{who}: {' '.join(str(turn.get('content', '')).split())}"


def _miss_lines(r: ItemResult) -> list[str]:
    """Markdown for one wrong answer: question, expected, given, and the top 3 passages."""
    given = "(abstained) " if r.abstained else ""
    given += r.error or " ".join(r.answer.split()) or "(empty)"
    retrieved = f"evidence at rank {r.hit_rank}" if r.hit_rank else "evidence not in the passages"
    lines = [
        f"### {r.id} · {r.type} · {r.split} · {r.question}",
        "",
        *(f"- after: {_turn(t)}" for t in r.history),
        f"- expected: {_expected(r)}",
        f"- answer: {given}",
        f"- retrieved ({retrieved if r.answerable else 'should abstain'}):",
    ]
    for p in r.top_passages[:3]:
        mark = "evidence" if p["has_evidence"] else "no evidence"
        lines.append(f"  {p['rank']}. `{p['source']}` [{mark}] {p['text']}")
    return lines + [""]


def format_report(summaries: dict[str, dict[str, Any]], results: dict[str, list[ItemResult]], set_name: str) -> str:
    """The Markdown report: metrics per backend, then every miss with what was retrieved."""
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = ["# Eval report", "", f"Set `{set_name}`, run {stamp}.", "", "## Metrics", "",
             *_md_table(table_columns(summaries)), ""]
    for backend, rs in results.items():
        misses = [r for r in rs if not r.correct]
        lines += [f"## Misses: {backend} ({len(misses)} of {len(rs)})", ""]
        for r in misses:
            lines += _miss_lines(r)
    return "\n".join(lines)


def display_path(path: Path) -> str:
    """A path relative to the checkout when possible, so results never carry machine-specific paths."""
    try:
        return str(path.resolve().relative_to(EVAL_DIR.parent))
    except ValueError:
        return path.name


def write_outputs(out: Path, summaries: dict, results: dict, meta: dict) -> None:
    """``<backend>.json`` (metrics + per-item records) and ``report.md`` under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    for backend, rs in results.items():
        payload = {**meta, "backend": backend, "metrics": summaries[backend], "results": [asdict(r) for r in rs]}
        (out / f"{backend}.json").write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
    (out / "report.md").write_text(format_report(summaries, results, meta["set"]), encoding="utf-8")


def table_columns(summaries: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """One column per backend, then one per backend and split and per backend and corpus when there are several."""
    columns = dict(summaries)
    for backend, summary in summaries.items():
        for key in ("by_split", "by_corpus"):
            groups = summary.get(key) or {}
            if len(groups) > 1:
                columns.update({f"{backend}/{name}": s for name, s in groups.items()})
    return columns
