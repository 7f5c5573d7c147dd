"""The Milvus store: embedded Milvus Lite, the same data through `milvus-lite server`, and (when configured) a real cluster."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("pymilvus", reason='needs the milvus extra: pip install -e ".[milvus]"')
pytest.importorskip("milvus_lite", reason='needs the milvus extra: pip install -e ".[milvus]"')

from rag.index.milvus_store import MilvusStore  # noqa: E402
from rag.answering.pipeline import answer  # noqa: E402
from rag.embedding.models import get_embedder  # noqa: E402
from rag.errors import IndexMismatchError  # noqa: E402
from rag.index.ingestion import delete_document, ingest, list_documents  # noqa: E402
from rag.index.milvus_client import StoreUnavailableError  # noqa: E402
from rag.retrieval.hybrid import get_retriever  # noqa: E402
from rag.settings import Settings  # noqa: E402
from tests.conftest import DOC_2023, DOC_2024, ROOT, SAMPLE  # noqa: E402
from tests.fakes import FakeEmbedder  # noqa: E402
from tests.milvus_server import LiteServer  # noqa: E402
from tests.test_ui_browser import _free_port  # noqa: E402

pytestmark = pytest.mark.milvus


def _settings(index: Path, **extra) -> Settings:
    return Settings(index_dir=index, vector_store="milvus", embedding_model=FakeEmbedder().model_id,
                    backend="extractive", **extra)


@pytest.fixture
def lite(tmp_path, fake_embedder, monkeypatch):
    """Settings for an embedded Milvus Lite index; the fake embedder stands in for the model everywhere."""
    import rag.index.ingestion
    import rag.embedding.query

    for module in (rag.index.ingestion, rag.embedding.query):
        monkeypatch.setattr(module, "get_embedder", lambda settings=None: fake_embedder)
    return _settings(tmp_path / "vectorstore")


def _texts(settings: Settings, question: str) -> list[str]:
    return [p.text for p in get_retriever(settings).search(question)]


def test_embedded_ingest_answer_update_delete(lite, corpus):
    report = ingest([corpus], settings=lite)
    assert sorted(report.added) == [DOC_2023, DOC_2024] and report.total_chunks > 10
    assert (lite.index_dir / "milvus.db").is_dir()  # the default: a Lite database inside the index folder
    again = ingest([corpus], settings=lite)
    assert not again.changed and sorted(again.unchanged) == [DOC_2023, DOC_2024]

    result = answer("2024年自治区政协形成了多少份协商报告？", settings=lite)
    assert "18" in result.text and not result.abstained
    assert any(p.source == DOC_2024 for p in result.passages)

    # a changed file replaces its chunks: the old text is gone, the new one is found
    (corpus / DOC_2024).write_text("全新内容：本年度共举办茶话会27场，参加委员三百人。\n", encoding="utf-8")
    report = ingest([corpus], settings=lite)
    assert report.updated == [DOC_2024] and report.unchanged == [DOC_2023]
    hits = get_retriever(lite).search("本年度共举办茶话会多少场？")
    assert "27场" in hits[0].text and hits[0].source == DOC_2024
    assert not any("协商报告" in p.text for p in hits if p.source == DOC_2024)

    removed = delete_document(DOC_2023, settings=lite)
    assert removed is not None and removed.source == DOC_2023
    assert [d.source for d in list_documents(lite)] == [DOC_2024]
    assert {p.source for p in get_retriever(lite).search("2023年政协协商")} == {DOC_2024}
    assert MilvusStore(lite).verify()[1] == []

    (corpus / DOC_2023).unlink()  # a file gone from an ingested folder is removed too
    (corpus / DOC_2024).unlink()
    report = ingest([corpus], settings=lite)
    assert report.removed == [DOC_2024] and report.total_chunks == 0


def test_a_collection_made_before_the_context_column_still_ingests_updates_and_answers(lite, corpus, monkeypatch):
    from rag.index import milvus_collection

    made = milvus_collection.Collection._create_chunks

    def without_context(self, dim, index_type):  # the schema an older version created: no "context" column
        real = self.client.create_schema

        def schema(**kwargs):
            built = real(**kwargs)
            add = built.add_field
            built.add_field = lambda name, *a, **k: None if name == "context" else add(name, *a, **k)
            return built

        monkeypatch.setattr(self.client, "create_schema", schema)
        try:
            made(self, dim, index_type)
        finally:
            monkeypatch.setattr(self.client, "create_schema", real)

    monkeypatch.setattr(milvus_collection.Collection, "_create_chunks", without_context)
    ingest([corpus], settings=lite)
    monkeypatch.setattr(milvus_collection.Collection, "_create_chunks", made)
    store = MilvusStore(lite)
    assert not store.collection.has_context
    assert "18" in answer("2024年自治区政协形成了多少份协商报告？", settings=lite).text
    (corpus / DOC_2024).write_text("全新内容：本年度共举办茶话会27场，参加委员三百人。\n", encoding="utf-8")
    assert ingest([corpus], settings=lite).updated == [DOC_2024]
    assert "27场" in get_retriever(lite).search("本年度共举办茶话会多少场？")[0].text
    assert MilvusStore(lite).verify()[1] == []


def test_quotes_and_backslashes_in_paths_and_names(lite, tmp_path):
    folder = tmp_path / 'we"ird\\dir'
    folder.mkdir()
    (folder / 'a"b\\c 纪要.txt').write_text("第三次会议决定：2024年共建设社区书屋45家。\n", encoding="utf-8")
    assert ingest([folder], settings=lite).added == ['a"b\\c 纪要.txt']
    retriever = get_retriever(lite)
    assert retriever.search("社区书屋")[0].source == 'a"b\\c 纪要.txt'
    assert retriever.document_year('a"b\\c 纪要.txt') == "2024"
    assert [d.source for d in list_documents(lite)] == ['a"b\\c 纪要.txt']
    assert delete_document('a"b\\c 纪要.txt', settings=lite) is not None and list_documents(lite) == []


def test_the_cli_reports_and_checks_a_milvus_index(lite, corpus, monkeypatch, capsys):
    from rag.cli import main
    from rag.settings import get_settings

    ingest([corpus], settings=lite)
    for name, value in (("RAG_VECTOR_STORE", "milvus"), ("RAG_INDEX_DIR", str(lite.index_dir)),
                        ("RAG_EMBEDDING_MODEL", lite.embedding_model)):
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        assert main(["index", "info"]) == 0
        info = capsys.readouterr().out
        assert "Milvus 集合 rag_chunks" in info and DOC_2024 in info and "fake/bigram-hash" in info
        assert main(["index", "check"]) == 0
        assert "索引完好" in capsys.readouterr().out
    finally:
        get_settings.cache_clear()


def test_the_pages_upload_and_delete_work_on_milvus(lite, tmp_path):
    from ui.actions import documents_view, handle_delete, handle_upload

    settings = lite.model_copy(update={"uploads_dir": tmp_path / "uploads"})
    note = tmp_path / "会议纪要.txt"
    note.write_text("第三次会议决定：明年共建设社区书屋45家。\n", encoding="utf-8")
    message, rows = handle_upload([str(note)], settings=settings)
    assert "会议纪要.txt" in message and [r[0] for r in rows] == ["会议纪要.txt"]
    assert "45家" in get_retriever(settings).search("明年建设多少家社区书屋？")[0].text
    message, rows = handle_delete("会议纪要.txt", settings=settings)
    assert "已删除" in message and rows == [] and documents_view(settings)[1] == []
    assert not (settings.uploads_dir / "会议纪要.txt").exists()


def test_a_collection_built_with_another_model_is_refused(lite, corpus, monkeypatch):
    ingest([corpus], settings=lite)
    other = FakeEmbedder(dim=32, model_id="other/model")
    with pytest.raises(IndexMismatchError, match="fake/bigram-hash.*64 维.*rag ingest --rebuild"):
        get_retriever(lite.model_copy(update={"embedding_model": other.model_id}), other)
    with pytest.raises(IndexMismatchError, match="rag ingest --rebuild"):
        ingest([corpus], settings=lite.model_copy(update={"embedding_model": other.model_id}), embedder=other)
    same_name = FakeEmbedder(dim=32)  # the same name but another dimension
    with pytest.raises(IndexMismatchError, match="32 维"):
        get_retriever(lite, same_name)
    rebuilt = ingest([corpus], rebuild=True, settings=lite.model_copy(update={"embedding_model": other.model_id}),
                     embedder=other)
    assert rebuilt.total_chunks > 10


def test_an_unreachable_server_is_one_clear_error(tmp_path):
    settings = _settings(tmp_path / "vs", milvus_uri=f"http://127.0.0.1:{_free_port()}",
                         milvus_token="root:secret-token")
    with pytest.raises(StoreUnavailableError) as caught:
        list_documents(settings)
    message = str(caught.value)
    assert "无法连接 Milvus" in message and "RAG_MILVUS_URI" in message and "secret-token" not in message
    cli = subprocess.run([sys.executable, "-m", "rag.cli", "index", "info"], capture_output=True, text=True,
                         timeout=60, cwd=ROOT, env={**os.environ, "RAG_VECTOR_STORE": "milvus",
                                                    "RAG_MILVUS_URI": settings.milvus_uri,
                                                    "RAG_MILVUS_TOKEN": "root:secret-token"})
    assert cli.returncode != 0 and "无法连接 Milvus" in cli.stderr
    assert "Traceback" not in cli.stderr and "secret-token" not in cli.stderr + cli.stdout


def test_an_embedded_database_open_in_another_process_names_the_server_fix(lite):
    lite.index_dir.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pymilvus import MilvusClient; "
         "c = MilvusClient(sys.argv[1]); print('open', flush=True); time.sleep(60)", str(lite.index_dir / "milvus.db")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(StoreUnavailableError, match="正被另一个进程使用.*milvus-lite server.*RAG_MILVUS_URI"):
            list_documents(lite)
    finally:
        holder.kill()
        holder.wait(timeout=10)


@pytest.fixture
def server(tmp_path):
    """A `milvus-lite server` on a free loopback port (restartable), stopped and its data removed after the test."""
    running = LiteServer(tmp_path / "server-data", _free_port())
    try:
        running.start()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    try:
        yield running
    finally:
        running.stop()
        shutil.rmtree(running.data, ignore_errors=True)


@pytest.fixture
def lite_server(server) -> str:
    return server.url


def test_through_the_server_a_second_process_reads_while_one_writes(tmp_path, lite_server, fake_embedder):
    settings = _settings(tmp_path / "vs", milvus_uri=lite_server, milvus_token="root:Milvus")
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "fixed.txt").write_text("固定文件：本单位成立于1990年。\n", encoding="utf-8")
    ingest([folder], settings=settings, embedder=fake_embedder)
    reader = subprocess.Popen([sys.executable, "-m", "tests.milvus_worker", lite_server, str(tmp_path / "reader"), "6"], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        writes = 0
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            (folder / "changing.txt").write_text(f"第{writes}版：会议记录{writes}。\n" * 20, encoding="utf-8")
            assert ingest([folder], settings=settings, embedder=fake_embedder).changed
            writes += 1
        out, err = reader.communicate(timeout=60)
    finally:
        reader.kill() if reader.poll() is None else None
    read = json.loads(out.strip().splitlines()[-1]) if out.strip() else pytest.fail(err[-800:])
    assert writes >= 3 and read["searches"] >= 10, (writes, read)
    assert read["failures"] == 0, read
    assert MilvusStore(settings).verify()[1] == []
    assert [d.source for d in list_documents(settings)] == ["changing.txt", "fixed.txt"]


def _rag(env: dict, *argv: str) -> tuple[list[str], list[str], subprocess.CompletedProcess]:
    """`rag` in a process of its own (fake embedder; ``;;`` separates commands): stdout and stderr per command."""
    done = subprocess.run([sys.executable, "-m", "tests.milvus_cli", *argv], capture_output=True, text=True,
                          timeout=180, cwd=ROOT, env=env)
    return done.stdout.split("@@ rc="), done.stderr.split("@@ rc="), done


def lite_with_sample(tmp_path: Path) -> tuple[dict, Path]:
    """The environment of a `rag` process on embedded Lite in ``tmp_path``, and a folder holding the sample."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_VECTOR_STORE="milvus", RAG_INDEX_DIR=str(tmp_path / "vs"), RAG_BACKEND="extractive")
    folder = tmp_path / "docs"
    folder.mkdir()
    for name in (DOC_2023, DOC_2024):
        shutil.copy(SAMPLE / name, folder / name)
    return env, folder


def _codes(out: list[str]) -> list[int]:
    return [int(part.split("\n", 1)[0]) for part in out[1:]]


@pytest.fixture(params=["embedded", "uri-path", "server"])
def milvus_env(request, tmp_path) -> tuple[dict, object]:
    """The environment of a `rag` process on Milvus (the default embedded Lite, an explicit Lite path, a server),
    and what happens between two processes (the server is restarted: it forgets which collections were loaded)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_VECTOR_STORE="milvus", RAG_INDEX_DIR=str(tmp_path / "vs"), RAG_BACKEND="extractive")
    between = lambda: None  # noqa: E731
    if request.param == "uri-path":
        env["RAG_MILVUS_URI"] = str(tmp_path / "elsewhere" / "kb.db")
    elif request.param == "server":
        server = request.getfixturevalue("server")
        env.update(RAG_MILVUS_URI=server.url, RAG_MILVUS_TOKEN="root:Milvus")
        between = server.restart
    return env, between


def test_after_a_server_restart_a_running_and_a_new_process_read(server, tmp_path, corpus, fake_embedder):
    """A restarted server has every collection released: a process that loaded them before loads them again."""
    settings = _settings(tmp_path / "vs", milvus_uri=server.url, milvus_token="root:Milvus")
    ingest([corpus], settings=settings, embedder=fake_embedder)
    assert get_retriever(settings, fake_embedder).search("协商报告")[0].source in (DOC_2023, DOC_2024)
    server.restart()
    assert get_retriever(settings, fake_embedder).search("协商报告")[0].source in (DOC_2023, DOC_2024)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_VECTOR_STORE="milvus", RAG_INDEX_DIR=str(tmp_path / "vs"), RAG_MILVUS_URI=server.url,
               RAG_MILVUS_TOKEN="root:Milvus")
    server.restart()
    out, err, done = _rag(env, "index", "check")
    assert done.returncode == 0 and "索引完好" in done.stdout, done.stderr[-800:]


def test_a_second_process_reads_what_another_ingested(milvus_env, corpus):
    milvus_env, between = milvus_env
    out, err, done = _rag(milvus_env, "ingest", str(corpus))
    assert done.returncode == 0 and "新增 2" in done.stdout, done.stderr[-800:]
    between()
    # every later process loads the collections itself (embedded Lite forgets the load with its process)
    out, err, done = _rag(milvus_env, "ask", "2024年自治区政协形成了多少份协商报告？", ";;", "index", "info", ";;",
                          "index", "check", ";;", "report", str(corpus), "2024年形成了多少份协商报告？")
    assert _codes(out) == [0, 0, 0, 0] and "Traceback" not in done.stderr, done.stderr[-1500:]
    assert "18" in out[0] and DOC_2024 in out[1] and "校验完好" in out[1] and "索引完好" in out[2]
    report = json.loads(out[3].split("\n", 1)[1])
    assert report["problems"] == [] and report["ids"] == report["expected"]
    assert report["top"]["2024年形成了多少份协商报告？"]["sources"][0] == DOC_2024


NEW_2024 = "".join(f"第{i}节：全新内容，本年度共举办茶话会27场，参加委员三百人，另有座谈会{i}次。\n" * 9 for i in range(6))
CRASH_QUESTIONS = {"本年度共举办茶话会多少场？": DOC_2024, "社区书屋建设了多少家？": "added.txt",
                   "2023年凝聚共识工作回眸": DOC_2023}


@pytest.mark.parametrize("point", ["delete", "insert-half", "insert", "stats", "manifest", "flush"])
def test_a_writer_killed_in_an_update_is_mended_by_the_next_ingest(point, tmp_path):
    """SIGKILL the writer at each point of one commit that updates, removes and adds a document; ingest again."""
    env, folder = lite_with_sample(tmp_path)
    (folder / "gone.txt").write_text("将被删除的文件：本单位去年植树三千棵。\n", encoding="utf-8")
    assert _rag(env, "ingest", str(folder))[2].returncode == 0
    (folder / DOC_2024).write_text(NEW_2024, encoding="utf-8")
    (folder / "gone.txt").unlink()
    (folder / "added.txt").write_text("新增文件：本单位今年共建设社区书屋45家。\n", encoding="utf-8")
    killed = _rag(env, "--die-after", point, "--", "ingest", str(folder))[2]
    assert killed.returncode == -9, killed.stderr[-800:]  # it died where it was told to, not before

    out, err, done = _rag(env, "index", "check", ";;", "ingest", str(folder), ";;", "index", "check", ";;",
                          "report", str(folder), *CRASH_QUESTIONS)
    assert "Traceback" not in done.stderr, done.stderr[-1500:]
    first, *rest = _codes(out)
    assert first == 0 or "rag ingest" in err[0], err[0][-500:]  # before the repair: intact, or one line naming it
    assert rest == [0, 0, 0] and "索引完好" in out[2], done.stderr[-800:]
    report = json.loads(out[3].split("\n", 1)[1])
    assert report["problems"] == []
    # every document exactly once, with exactly the chunks a clean ingest gives it: none lost, none twice, none stale
    assert report["ids"] == report["expected"] and set(report["ids"]) == {DOC_2023, DOC_2024, "added.txt"}
    assert report["manifest"] == {k: len(v) for k, v in report["expected"].items()}
    assert report["stats"] == report["counted"] and report["df_wrong"] == [] and report["df_rows"][0] == report["df_rows"][1]
    for question, source in CRASH_QUESTIONS.items():
        top = report["top"][question]
        assert top["sources"][0] == source and not top["repeated"], (question, top)


class _OnceEach:
    """The real embedder, embedding each query once (the model is what both stores share, not what is tested)."""

    def __init__(self, embedder):
        self.embedder, self.model_id, self.dim, self.queries = embedder, embedder.model_id, embedder.dim, {}

    def embed_passages(self, texts):
        return self.embedder.embed_passages(texts)

    def embed_query(self, text):
        if text not in self.queries:
            self.queries[text] = self.embedder.embed_query(text)
        return self.queries[text]


@pytest.mark.slow
def test_the_real_model_gets_the_same_top5_from_milvus_as_from_faiss(tmp_path, sample_index):
    """Sample-corpus questions of the eval set: the same five passages from both stores, in the same order.

    The FAISS store orders chunks with exactly equal BM25 scores as ``np.argpartition`` leaves them (not
    by row), so where such a tie decides two neighbours' order the stores may swap them; that is all.
    """
    questions = [json.loads(line) for line in (ROOT / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
                 if line.strip()]
    # every other question keeps the test quick; a full run of both stores is in the README (python -m eval)
    questions = [q["question"] for q in questions if q.get("corpus", "sample") == "sample"][::2]
    faiss = get_retriever(sample_index)
    faiss.embedder = _OnceEach(faiss.embedder)  # both stores search the same query vector, embedded once
    milvus = sample_index.model_copy(update={"vector_store": "milvus", "index_dir": tmp_path / "vs"})
    # passages through the model that built the FAISS index; questions through the same query path as FAISS's
    ingest([SAMPLE], settings=milvus, embedder=get_embedder(sample_index))
    other = get_retriever(milvus, faiss.embedder)
    pairs = [([p.chunk.id for p in faiss.search(q)], [p.chunk.id for p in other.search(q)]) for q in questions]
    assert len(questions) > 90 and all(set(a) == set(b) for a, b in pairs)
    assert sum(a != b for a, b in pairs) <= len(questions) // 100, [p for p in pairs if p[0] != p[1]]
    assert "18" in answer("2024年自治区政协形成了多少份协商报告？", settings=milvus).text


@pytest.mark.skipif(not os.environ.get("RAG_MILVUS_URI"), reason="set RAG_MILVUS_URI to test against a real Milvus")
def test_a_real_milvus_server(tmp_path, corpus, fake_embedder):
    settings = _settings(tmp_path / "vs", milvus_uri=os.environ["RAG_MILVUS_URI"],
                         milvus_token=os.environ.get("RAG_MILVUS_TOKEN", ""),
                         milvus_collection=f"rag_test_{os.getpid()}")
    try:
        assert ingest([corpus], settings=settings, embedder=fake_embedder).total_chunks > 10
        assert get_retriever(settings, fake_embedder).search("协商报告")[0].source in (DOC_2023, DOC_2024)
        delete_document(DOC_2023, settings=settings)
        assert [d.source for d in list_documents(settings)] == [DOC_2024]
    finally:
        MilvusStore(settings).collection.drop()
