"""`rag eval` scores its own index of the sample documents, whatever the user's index holds, and leaves that alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def run(*args, env):
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=900, env={**os.environ, "HF_HUB_OFFLINE": "1", "RAG_BACKEND": "extractive", **env})


def test_eval_ignores_the_users_own_documents(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    # a document of the user's that contradicts the sample's figure: an eval over the user's index would count it
    (mine / "我的报告.txt").write_text("2024年自治区政协形成了99份协商报告。2024年自治区政协形成99份协商报告。\n",
                                       encoding="utf-8")
    env = {"RAG_INDEX_DIR": str(tmp_path / "user-index"), "RAG_CACHE_DIR": str(tmp_path / "cache")}
    assert run("ingest", str(mine), env=env).returncode == 0
    manifest = next((tmp_path / "user-index").glob("gen-*/manifest.json")).read_bytes()

    out = run("eval", "--backend", "extractive", "--limit", "1", "--out", str(tmp_path / "results"), env=env)
    assert out.returncode == 0, out.stderr
    assert "评测只用示例文档" in out.stderr and str(tmp_path / "cache" / "eval-index") in out.stderr
    [item] = json.loads((tmp_path / "results" / "extractive.json").read_text(encoding="utf-8"))["results"]
    assert "18份协商报告" in item["answer"] and item["correct"]
    assert {p["source"] for p in item["top_passages"]} <= {"cppcc-2023-consensus-review.txt",
                                                          "cppcc-2024-consultation-review.txt"}
    assert next((tmp_path / "user-index").glob("gen-*/manifest.json")).read_bytes() == manifest  # untouched

    again = run("eval", "--backend", "extractive", "--limit", "1", "--out", str(tmp_path / "results"), env=env)
    assert again.returncode == 0 and "第一次要先建立" not in again.stderr  # the eval's index is kept and reused
