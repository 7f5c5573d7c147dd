"""The eval runner over the second corpus: a real index of its own, built for the run, never the user's."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from eval.dataset import CORPORA
from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def test_extra_corpus_is_asked_against_its_own_index(tmp_path):
    user_index = tmp_path / "user-index"
    env = {**os.environ, "RAG_INDEX_DIR": str(user_index), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "eval", "--corpus", "extra", "--type", "count", "--out", str(tmp_path / "out")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    results = json.loads((tmp_path / "out" / "extractive.json").read_text(encoding="utf-8"))["results"]
    extra_docs = {p.name for p in CORPORA["extra"].glob("*.txt")}
    assert results and all(r["corpus"] == "extra" for r in results)
    # every passage came from the extra documents, and the evidence was found among them
    assert {p["source"] for r in results for p in r["top_passages"]} <= extra_docs
    assert all(r["hit_rank"] is not None for r in results)
    assert not user_index.exists() or not any(user_index.iterdir())  # the user's index was never built
