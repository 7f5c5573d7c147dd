"""Ingestion and the saved index: incremental updates, atomic writes, one writer, clear refusals."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from rag.index import faiss_files as store
from rag.errors import IndexBusyError, IndexMismatchError
from rag.index.ingestion import delete_document, ingest, list_documents
from rag.retrieval.hybrid import get_retriever
from tests.conftest import DOC_2023, DOC_2024
from tests.fakes import FakeEmbedder


def _ingest(corpus, settings, embedder, **kw):
    return ingest([corpus], settings=settings, embedder=embedder, **kw)


def test_ingest_sample_corpus_builds_a_self_describing_index(corpus, settings, fake_embedder):
    report = _ingest(corpus, settings, fake_embedder)
    assert sorted(report.added) == [DOC_2023, DOC_2024]
    assert report.chunks == report.total_chunks > 20
    manifest = store.read_manifest(settings.index_dir)
    assert manifest.model_id == "fake/bigram-hash" and manifest.dim == 64
    assert (manifest.chunk_size, manifest.chunk_overlap, manifest.index_type) == (500, 100, "auto")
    assert {d.source for d in list_documents(settings)} == {DOC_2023, DOC_2024}
    data = store.load(settings.index_dir)
    assert len(data.chunks) == len(data.vectors) == data.faiss_index.ntotal
    for chunk in data.chunks:
        assert chunk.start < chunk.end and chunk.source in (DOC_2023, DOC_2024)


def test_reingesting_unchanged_files_does_no_work(corpus, settings, fake_embedder):
    _ingest(corpus, settings, fake_embedder)
    gen = store.current_generation(settings.index_dir)
    calls = fake_embedder.calls
    report = _ingest(corpus, settings, fake_embedder)
    assert sorted(report.unchanged) == [DOC_2023, DOC_2024]
    assert report.chunks == 0 and not report.changed
    assert fake_embedder.calls == calls
    assert store.current_generation(settings.index_dir) == gen


def test_changed_file_updates_only_its_own_chunks(corpus, settings):
    embedder = FakeEmbedder()
    _ingest(corpus, settings, embedder)
    before = store.load(settings.index_dir)
    old_2023 = [c.id for c in before.chunks if c.source == DOC_2023]
    path = corpus / DOC_2024
    path.write_text(path.read_text(encoding="utf-8") + "\n\n测试补充：2024年共收到来信999封。\n", encoding="utf-8")
    embedded: list[str] = []
    original = embedder.embed_passages
    embedder.embed_passages = lambda texts: embedded.extend(texts) or original(texts)
    report = _ingest(corpus, settings, embedder)
    assert report.updated == [DOC_2024] and report.unchanged == [DOC_2023]
    after = store.load(settings.index_dir)
    assert [c.id for c in after.chunks if c.source == DOC_2023] == old_2023
    assert any("999封" in c.text for c in after.chunks)
    chunk_texts = {c.indexed for c in after.chunks}  # what is embedded: each chunk under its context line
    embedded_chunks = [t for t in embedded if t in chunk_texts]
    assert len(embedded_chunks) == sum(1 for c in after.chunks if c.source == DOC_2024)
    # of the answer units, only the new one is embedded: the others' vectors are reused
    assert [t for t in embedded if t not in chunk_texts] == [t for t in embedded if "999封" in t and t not in chunk_texts]


def test_deleted_file_is_removed_from_the_index(corpus, settings, fake_embedder):
    _ingest(corpus, settings, fake_embedder)
    (corpus / DOC_2023).unlink()
    report = _ingest(corpus, settings, fake_embedder)
    assert report.removed == [DOC_2023]
    data = store.load(settings.index_dir)
    assert {c.source for c in data.chunks} == {DOC_2024}
    assert len(data.vectors) == data.faiss_index.ntotal == len(data.chunks)


def test_delete_document_by_name(corpus, settings, fake_embedder):
    _ingest(corpus, settings, fake_embedder)
    removed = delete_document(DOC_2024, settings)
    assert removed.source == DOC_2024 and removed.path == str((corpus / DOC_2024).resolve())
    assert [d.source for d in list_documents(settings)] == [DOC_2023]
    assert delete_document("no-such.txt", settings) is None


def test_index_built_with_another_model_is_refused_naming_both(corpus, settings, fake_embedder):
    _ingest(corpus, settings, fake_embedder)
    other = FakeEmbedder(model_id="other/model")
    with pytest.raises(IndexMismatchError) as exc:
        get_retriever(settings, other)
    assert "fake/bigram-hash" in str(exc.value) and "other/model" in str(exc.value)
    with pytest.raises(IndexMismatchError):
        _ingest(corpus, settings, other)
    report = _ingest(corpus, settings, other, rebuild=True)
    assert store.read_manifest(settings.index_dir).model_id == "other/model"
    assert report.total_chunks > 0


def test_changed_chunk_settings_ask_for_a_rebuild(corpus, settings, fake_embedder):
    _ingest(corpus, settings, fake_embedder)
    settings.chunk_size = 300
    with pytest.raises(IndexMismatchError, match="--rebuild"):
        _ingest(corpus, settings, fake_embedder)


def test_crash_while_saving_leaves_the_previous_index_loadable(corpus, settings, fake_embedder, monkeypatch):
    _ingest(corpus, settings, fake_embedder)
    before = store.load(settings.index_dir)
    (corpus / "new.txt").write_text("新文件：测试内容，共有员工321人。", encoding="utf-8")
    import faiss

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(faiss, "write_index", crash)
    with pytest.raises(OSError):
        _ingest(corpus, settings, fake_embedder)
    monkeypatch.undo()
    after = store.load(settings.index_dir)
    assert [c.id for c in after.chunks] == [c.id for c in before.chunks]
    assert not [p for p in settings.index_dir.iterdir() if p.name.startswith(".gen-tmp-")]
    report = _ingest(corpus, settings, fake_embedder)
    assert report.added == ["new.txt"]


def test_a_second_writer_is_refused(corpus, settings, fake_embedder):
    settings.index_dir.mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from filelock import FileLock
            lock = FileLock({str(settings.index_dir / store.LOCK)!r})
            lock.acquire()
            print("locked", flush=True)
            time.sleep(30)
        """)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(IndexBusyError):
            _ingest(corpus, settings, fake_embedder)
    finally:
        holder.kill()
        holder.wait()
    assert _ingest(corpus, settings, fake_embedder).total_chunks > 0


def test_bad_files_are_reported_by_name_and_the_rest_ingests(corpus, settings, fake_embedder):
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "binary.txt").write_bytes(bytes(range(256)) * 40)
    (corpus / "gbk.txt").write_bytes("测试单位2025年共有会员456名。".encode("gb18030"))
    report = _ingest(corpus, settings, fake_embedder)
    skipped = dict(report.skipped)
    assert set(skipped) == {"empty.txt", "binary.txt"}
    assert all(reason for reason in skipped.values())
    assert sorted(report.added) == sorted([DOC_2023, DOC_2024, "gbk.txt"])
    data = store.load(settings.index_dir)
    assert any("456名" in c.text for c in data.chunks)


def test_too_large_file_is_skipped_before_reading(corpus, settings, fake_embedder):
    settings.max_file_mb = 0.01
    report = _ingest(corpus, settings, fake_embedder)
    assert {name for name, _ in report.skipped} == {DOC_2023, DOC_2024}
    assert report.total_chunks == 0


def test_hnsw_index_type(corpus, settings, fake_embedder):
    settings.index_type = "hnsw"
    _ingest(corpus, settings, fake_embedder)
    data = store.load(settings.index_dir)
    assert "HNSW" in type(data.faiss_index).__name__
    retriever = get_retriever(settings, fake_embedder)
    hits = retriever.view.dense(fake_embedder.embed_query("协商报告"), 5)
    assert len(hits) == 5 and np.all(np.diff([h.score for h in hits]) <= 1e-6)


def test_index_survives_reload_in_a_new_process(corpus, settings, fake_embedder):
    _ingest(corpus, settings, fake_embedder)
    out = subprocess.run(
        [sys.executable, "-c", f"from rag.index import faiss_files as store; from pathlib import Path; "
         f"d = store.load(Path({str(settings.index_dir)!r})); print(len(d.chunks), d.faiss_index.ntotal)"],
        capture_output=True, text=True, check=True,
    )
    n, total = map(int, out.stdout.split())
    assert n == total == len(store.load(settings.index_dir).chunks)


def test_many_small_documents_share_model_calls_and_keep_their_vectors(tmp_path, settings, fake_embedder):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(60):
        (folder / f"note-{i:02d}.txt").write_text(f"第{i}号通知：2024年共收到来信{i * 7}封，已全部办结。\n", encoding="utf-8")
    report = _ingest(folder, settings, fake_embedder)
    assert len(report.added) == 60 and fake_embedder.calls < 60
    data = store.load(settings.index_dir)
    for chunk, vector in zip(data.chunks, data.vectors):  # row i still belongs to chunks[i]
        assert np.allclose(vector, fake_embedder.embed_query(chunk.indexed))


def test_files_with_the_same_name_in_one_ingest_get_distinct_names(tmp_path, settings, fake_embedder):
    for folder in ("甲", "乙"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "通知.txt").write_text(f"{folder}单位2024年共有会员12名。\n", encoding="utf-8")
    report = ingest([tmp_path / "甲", tmp_path / "乙"], settings=settings, embedder=fake_embedder)
    assert sorted(report.added) == ["乙/通知.txt", "通知.txt"]
    assert {c.source for c in store.load(settings.index_dir).chunks} == {"乙/通知.txt", "通知.txt"}
