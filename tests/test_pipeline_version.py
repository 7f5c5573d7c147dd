"""An index made by an older text pipeline (cleaning, chunking, answer units): still answers, is made again by
the next ingest of its files, refreshes itself when it holds only the sample corpus, and is named once otherwise."""

from __future__ import annotations

import json
import shutil

import pytest

from rag.index import faiss_files as store
from rag.index import freshness, generations, unit_table
from rag.index.ingestion import ensure_index, ingest, list_documents
from rag.index.manifest import PIPELINE_VERSION
from rag.retrieval.hybrid import get_retriever
from tests.conftest import DOC_2023, DOC_2024
from tests.fakes import FakeEmbedder

OLD_TEXT = "旧版清理留下的目录"


@pytest.fixture(autouse=True)
def fresh_process(monkeypatch):
    """Each test is a new process as far as the once-per-process look at the index goes."""
    monkeypatch.setattr(freshness, "_looked_at", set())


def _make_old(settings, alter: str | None = None) -> None:
    """Rewrite the current generation as an older release wrote it: no pipeline recorded (version 1), and
    the first chunk of ``alter`` (a display name) as the older cleaning left it."""
    gen = store.current_generation(settings.index_dir)
    manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    del manifest["pipeline_version"]
    for entry in manifest["documents"].values():
        del entry["pipeline"]
    (gen / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    if alter:
        lines = [json.loads(line) for line in (gen / "chunks.jsonl").read_text(encoding="utf-8").splitlines()]
        first = next(c for c in lines if c["source"] == alter)
        first["text"] = OLD_TEXT + first["text"][len(OLD_TEXT):]
        (gen / "chunks.jsonl").write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in lines),
                                          encoding="utf-8")
    generations.seal(gen)  # as the program that wrote it sealed it


def _texts(settings) -> tuple[list[str], list[str]]:
    data = store.load(settings.index_dir)
    return sorted(c.text for c in data.chunks), sorted(unit_table.from_bytes(data.extras[unit_table.FILE_NAME]).texts)


def test_ingest_of_the_same_files_makes_an_older_pipelines_documents_again(corpus, settings, fake_embedder, tmp_path):
    ingest([corpus], settings=settings, embedder=fake_embedder)
    expected = _texts(settings)
    _make_old(settings, alter=DOC_2024)
    assert store.read_manifest(settings.index_dir).pipeline_version == 1
    assert any(OLD_TEXT in t for t in _texts(settings)[0])
    assert all(d.stale for d in list_documents(settings))

    report = ingest([corpus], settings=settings, embedder=fake_embedder)
    names = sorted(d.source for d in list_documents(settings))
    assert sorted(report.refreshed) == sorted(report.updated) == names and not report.unchanged
    assert not report.added and not report.removed and not report.stale and report.chunks == report.total_chunks
    assert _texts(settings) == expected  # chunks and answer units as the current pipeline makes them
    manifest = store.read_manifest(settings.index_dir)
    assert manifest.pipeline_version == PIPELINE_VERSION
    assert all(e.pipeline == PIPELINE_VERSION for e in manifest.documents.values())


def test_an_up_to_date_index_is_not_made_again(corpus, settings, fake_embedder):
    ingest([corpus], settings=settings, embedder=fake_embedder)
    gen = store.current_generation(settings.index_dir)
    calls = fake_embedder.calls
    report = ingest([corpus], settings=settings, embedder=fake_embedder)
    assert report.unchanged and not report.changed and not report.refreshed and report.chunks == 0
    assert fake_embedder.calls == calls and store.current_generation(settings.index_dir) == gen


def test_documents_not_given_are_kept_as_they_are_and_named(corpus, settings, fake_embedder, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    shutil.move(corpus / DOC_2023, other / DOC_2023)
    ingest([corpus, other], settings=settings, embedder=fake_embedder)
    _make_old(settings)
    before = {d.source: d.chunks for d in list_documents(settings)}

    report = ingest([corpus], settings=settings, embedder=fake_embedder)
    assert report.stale == [DOC_2023] and DOC_2023 not in report.refreshed and not report.removed
    assert {d.source: d.chunks for d in list_documents(settings)} == before  # nothing dropped
    assert [d.source for d in list_documents(settings) if d.stale] == [DOC_2023]
    assert store.read_manifest(settings.index_dir).pipeline_version == 1  # the oldest document's

    report = ingest([other], settings=settings, embedder=fake_embedder)
    assert report.refreshed == [DOC_2023] and not report.stale
    assert store.read_manifest(settings.index_dir).pipeline_version == PIPELINE_VERSION


def test_a_stale_index_of_own_documents_still_answers_and_is_named_once(corpus, settings, fake_embedder):
    ingest([corpus], settings=settings, embedder=fake_embedder)  # not the sample corpus folder of the settings
    _make_old(settings)
    gen = store.current_generation(settings.index_dir)
    lines: list[str] = []
    for _ in range(3):
        assert ensure_index(settings, notify=lines.append, embedder=fake_embedder) is None
    assert len(lines) == 1 and "旧版本" in lines[0] and "rag ingest" in lines[0]
    assert store.current_generation(settings.index_dir) == gen  # nothing made again behind the user's back
    hits = get_retriever(settings, fake_embedder).search("2024年形成了多少份协商报告？")
    assert hits and "18份协商报告" in " ".join(h.text for h in hits)


def test_a_stale_index_of_the_sample_corpus_refreshes_itself(corpus, settings, fake_embedder):
    settings = settings.model_copy(update={"corpus_dir": corpus})
    ingest([corpus], settings=settings, embedder=fake_embedder)
    expected = _texts(settings)
    _make_old(settings, alter=DOC_2023)
    lines: list[str] = []
    report = ensure_index(settings, notify=lines.append, embedder=fake_embedder)
    assert lines == [freshness.REFRESHING]
    assert report is not None and DOC_2023 in report.refreshed and not report.stale
    assert _texts(settings) == expected
    assert store.read_manifest(settings.index_dir).pipeline_version == PIPELINE_VERSION
    assert ensure_index(settings, notify=lines.append, embedder=fake_embedder) is None and len(lines) == 1


def test_the_command_says_what_it_made_again_and_what_it_left(corpus, settings, fake_embedder, tmp_path,
                                                            monkeypatch, capsys):
    from rag import cli
    from rag.index import ingestion
    from rag.settings import get_settings

    other = tmp_path / "other"
    other.mkdir()
    shutil.move(corpus / DOC_2023, other / DOC_2023)
    ingest([corpus, other], settings=settings, embedder=fake_embedder)
    _make_old(settings)
    monkeypatch.setenv("RAG_INDEX_DIR", str(settings.index_dir))
    monkeypatch.setenv("RAG_EMBEDDING_MODEL", FakeEmbedder().model_id)  # so the fake's index is not refused
    monkeypatch.setattr(ingestion, "get_embedder", lambda settings=None: FakeEmbedder())
    get_settings.cache_clear()
    try:
        assert cli.main(["ingest", str(corpus)]) == 0
        out = capsys.readouterr()
        assert cli.main(["index", "info"]) == 0
        info = capsys.readouterr().out
    finally:
        get_settings.cache_clear()
    assert "按新版重新清理、分块和嵌入" in out.out and "未变 0" in out.out
    assert f"还有 1 篇文档（{DOC_2023}）由旧版本" in out.err and "rag ingest" in out.err
    assert f"文本处理版本：1（当前 {PIPELINE_VERSION}）" in info and "（旧版本生成）" in info


@pytest.mark.parametrize("vector_store", ["faiss", "milvus"])
def test_both_stores_record_the_pipeline_and_make_a_newer_ones_documents_again(vector_store, corpus, tmp_path,
                                                                              fake_embedder, monkeypatch):
    from rag.index import ingestion, manifest
    from rag.index.stores import open_store
    from rag.settings import Settings

    if vector_store == "milvus":
        pytest.importorskip("milvus_lite")
    settings = Settings(index_dir=tmp_path / "vs", vector_store=vector_store, backend="extractive",
                        embedding_model=FakeEmbedder().model_id)
    ingest([corpus], settings=settings, embedder=fake_embedder)
    assert open_store(settings).read_manifest().pipeline_version == PIPELINE_VERSION
    for module in (ingestion, manifest):  # the next release changed the text pipeline
        monkeypatch.setattr(module, "PIPELINE_VERSION", PIPELINE_VERSION + 1)
    lines: list[str] = []
    assert ensure_index(settings, notify=lines.append, embedder=fake_embedder) is None and len(lines) == 1
    report = ingest([corpus], settings=settings, embedder=fake_embedder)
    assert sorted(report.refreshed) == [DOC_2023, DOC_2024] and report.total_chunks == report.chunks
    after = open_store(settings).read_manifest()
    assert after.pipeline_version == PIPELINE_VERSION + 1 and not any(d.stale for d in list_documents(settings))
    hits = get_retriever(settings, fake_embedder).search("2024年形成了多少份协商报告？")
    assert "18份协商报告" in " ".join(h.text for h in hits)
