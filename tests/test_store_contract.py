"""One contract for every vector store: the same ingest, search, delete, check and lock behaviour on FAISS and Milvus Lite."""

from __future__ import annotations

import pytest

from rag.errors import IndexBusyError, RagError
from rag.index.base import StoreView, VectorStore
from rag.index.ingestion import delete_document, ingest, list_documents
from rag.index.stores import STORES, open_store
from rag.retrieval.hybrid import get_retriever
from rag.settings import Settings
from tests.conftest import DOC_2023, DOC_2024
from tests.fakes import FakeEmbedder

QUESTION = "2024年形成了多少份协商报告？"


def _available(name: str) -> bool:
    if name != "milvus":
        return True
    try:
        import milvus_lite  # noqa: F401
        import pymilvus  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(params=sorted(STORES))
def store_settings(request, tmp_path, fake_embedder, monkeypatch) -> Settings:
    """Settings for an empty index in each store; the fake embedder stands in for the model everywhere."""
    if not _available(request.param):
        pytest.skip('needs the milvus extra: pip install -e ".[milvus]"')
    import rag.embedding.query
    import rag.index.ingestion

    for module in (rag.index.ingestion, rag.embedding.query):
        monkeypatch.setattr(module, "get_embedder", lambda settings=None: fake_embedder)
    return Settings(index_dir=tmp_path / "vectorstore", vector_store=request.param, backend="extractive",
                    embedding_model=FakeEmbedder().model_id)


def test_the_factory_gives_a_store_that_keeps_the_protocol(store_settings):
    store = open_store(store_settings)
    assert isinstance(store, VectorStore) and store.name == store_settings.vector_store
    assert not store.holds_index() and store.read_manifest() is None and store.current() is None
    assert store.verify() == (None, [])


def test_an_unknown_store_is_refused_with_the_valid_names(tmp_path):
    settings = Settings(index_dir=tmp_path / "vs").model_copy(update={"vector_store": "qdrant"})
    with pytest.raises(RagError, match="faiss.*milvus"):
        open_store(settings)


def test_ingest_search_and_counts_agree(store_settings, corpus):
    report = ingest([corpus], settings=store_settings)
    store = open_store(store_settings)
    manifest = store.read_manifest()
    assert store.holds_index() and {e.source for e in manifest.documents.values()} == {DOC_2023, DOC_2024}
    counts = store.chunk_counts()
    assert sum(counts.values()) == report.total_chunks == sum(e.chunks for e in manifest.documents.values())
    view = store.open()
    assert isinstance(view, StoreView) and view.version == store.current()
    assert len(view.chunks()) == report.total_chunks
    assert {c.source for c in view.chunks_of(DOC_2024)} == {DOC_2024}
    keyword = view.keyword("协商报告", 5)
    assert keyword and all("协商" in h.chunk.text or "报告" in h.chunk.text for h in keyword)
    assert [h.score for h in keyword] == sorted((h.score for h in keyword), reverse=True)
    passages = get_retriever(store_settings).search(QUESTION, 3)
    assert any("18" in p.text and "协商报告" in p.text for p in passages)


def test_a_commit_changes_the_version_and_delete_removes_only_that_document(store_settings, corpus):
    ingest([corpus], settings=store_settings)
    store = open_store(store_settings)
    before = store.current()
    removed = delete_document(DOC_2023, store_settings)
    assert removed is not None and removed.source == DOC_2023
    assert store.current() != before
    assert [d.source for d in list_documents(store_settings)] == [DOC_2024]
    assert {c.source for c in store.open().chunks()} == {DOC_2024}
    assert store.verify()[1] == []
    assert delete_document("没有这篇.txt", store_settings) is None


def test_an_unchanged_ingest_commits_nothing(store_settings, corpus):
    ingest([corpus], settings=store_settings)
    store = open_store(store_settings)
    before = store.current()
    again = ingest([corpus], settings=store_settings)
    assert not again.changed and sorted(again.unchanged) == [DOC_2023, DOC_2024]
    assert store.current() == before


def test_a_second_writer_is_refused_at_once(store_settings, corpus):
    store = open_store(store_settings)
    with store.writing():
        with pytest.raises(IndexBusyError):
            ingest([corpus], settings=store_settings)


def test_rollback_goes_back_or_says_why_not(store_settings, corpus):
    ingest([corpus / DOC_2024], settings=store_settings)
    ingest([corpus / DOC_2023], settings=store_settings)
    store = open_store(store_settings)
    if store.name == "faiss":
        assert "已回退" in store.rollback()
        assert [d.source for d in list_documents(store_settings)] == [DOC_2024]
    else:
        with pytest.raises(RagError, match="rebuild"):
            store.rollback()
