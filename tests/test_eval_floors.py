"""The eval on the offline default (extractive) must not fall below the floors measured for it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def test_rag_eval_meets_the_floors(sample_index, tmp_path):
    # its own cache folder: `rag eval` keeps its sample index there, and one left by another version of rag
    # in the user's cache would be scored instead of what this code builds
    env = {**os.environ, "RAG_INDEX_DIR": str(sample_index.index_dir), "HF_HUB_OFFLINE": "1",
           "RAG_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, "-m", "rag.cli", "eval", "--backend", "extractive", "--check-floors", "--out", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )
    print(done.stdout[-3000:])
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "all floors met" in done.stdout
    summary = json.loads((tmp_path / "extractive.json").read_text(encoding="utf-8"))["metrics"]
    assert summary["items"] >= 60 and summary["errors"] == 0
    assert (tmp_path / "report.md").read_text(encoding="utf-8").count("|") > 10
