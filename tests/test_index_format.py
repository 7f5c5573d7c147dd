"""The saved generation carries its keyword index and a format version; "auto" picks the vector index by size."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rag.index import generations
from rag.index import faiss_files as store
from rag.index import faiss_store
from rag.errors import IndexMismatchError
from rag.index.ingestion import ingest
from rag.index.bm25 import BM25Index
from rag.retrieval.hybrid import get_retriever

QUESTION = "2024年形成了多少份协商报告？"


def _ids(settings, embedder, question=QUESTION):
    return [p.chunk.id for p in get_retriever(settings, embedder).search(question)]


def _rewrite_manifest(settings, **changes):
    path = store.current_generation(settings.index_dir) / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps(manifest | changes, ensure_ascii=False), encoding="utf-8")
    if generations.file_table(path.parent) is not None:  # as the program that wrote it would have sealed it
        generations.seal(path.parent)


def test_keyword_index_is_saved_and_opened_without_rebuilding(corpus, settings, fake_embedder, monkeypatch):
    ingest([corpus], settings=settings, embedder=fake_embedder)
    gen = store.current_generation(settings.index_dir)
    assert (gen / "bm25-bigram.params.json").is_file() and (gen / "bm25-bigram.vocab.json").is_file()
    assert store.read_manifest(settings.index_dir).format_version == store.FORMAT_VERSION
    fresh = BM25Index([c.indexed for c in store.load(settings.index_dir).chunks]).scores(QUESTION)

    import bm25s

    def no_indexing(*args, **kwargs):
        raise AssertionError("BM25 was rebuilt instead of opened")

    monkeypatch.setattr(bm25s.BM25, "index", no_indexing)
    retriever = get_retriever(settings, fake_embedder)
    assert np.allclose(retriever.view.bm25.scores(QUESTION), fresh)
    assert "18份协商报告" in retriever.search(QUESTION)[0].text


def test_older_index_without_keyword_files_is_still_read(corpus, settings, fake_embedder):
    ingest([corpus], settings=settings, embedder=fake_embedder)
    expected = _ids(settings, fake_embedder)
    gen = store.current_generation(settings.index_dir)
    for path in gen.glob("bm25-*"):
        path.unlink()
    _rewrite_manifest(settings, format_version=1)
    store_copy = settings.model_copy(update={"top_k": settings.top_k})  # a new retriever, not the cached one
    assert _ids(store_copy, fake_embedder) == expected


def test_a_newer_index_format_asks_for_an_upgrade_never_a_rebuild(corpus, settings, fake_embedder):
    ingest([corpus], settings=settings, embedder=fake_embedder)
    _rewrite_manifest(settings, format_version=store.FORMAT_VERSION + 1)
    with pytest.raises(IndexMismatchError, match="升级 rag") as caught:
        store.load(settings.index_dir)
    assert "不要运行 --rebuild" in str(caught.value)


def test_another_tokenizer_builds_its_keyword_index_in_memory(corpus, settings, fake_embedder):
    ingest([corpus], settings=settings, embedder=fake_embedder)
    # the keyword index alone decides here: the fake embedder's vectors rank the chunks and their units at random
    jieba_settings = settings.model_copy(update={"bm25_tokenizer": "jieba", "unit_weight": 0.0})
    assert "18份协商报告" in get_retriever(jieba_settings, fake_embedder).search(QUESTION)[0].text


def _unit_vectors(n: int) -> np.ndarray:
    vectors = np.random.default_rng(0).standard_normal((n, 32)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_auto_searches_exactly_when_small_and_with_hnsw_when_large(monkeypatch):
    import faiss

    vectors = _unit_vectors(3_000)
    assert isinstance(faiss_store.build_faiss(vectors, "auto"), faiss.IndexFlatIP)
    monkeypatch.setattr(faiss_store, "EXACT_SEARCH_MAX", 1_000)
    index = faiss_store.build_faiss(vectors, "auto", ef_search=96)
    assert isinstance(index, faiss.IndexHNSWFlat) and index.hnsw.efSearch == 96 and index.ntotal == 3_000
    _, ids = index.search(vectors[:20], 1)
    assert list(ids[:, 0]) == list(range(20))


def test_ivf_trains_unit_centroids_and_finds_each_vector():
    import faiss

    vectors = _unit_vectors(5_000)
    index = faiss_store.build_faiss(vectors, "ivf", nprobe=8)
    assert isinstance(index, faiss.IndexIVFFlat) and index.nprobe == 8 and index.nlist == faiss_store.ivf_lists(5_000)
    assert np.allclose(np.linalg.norm(index.quantizer.reconstruct_n(0, index.nlist), axis=1), 1, atol=1e-4)
    _, ids = index.search(vectors[:20], 1)
    assert list(ids[:, 0]) == list(range(20))


def test_auto_index_round_trips_through_ingest(corpus, settings, fake_embedder, monkeypatch):
    import faiss

    settings.index_type = "flat"
    ingest([corpus], settings=settings, embedder=fake_embedder)
    expected = _ids(settings, fake_embedder)
    # an index built before "auto" existed (flat) takes new documents under "auto" without a rebuild
    monkeypatch.setattr(faiss_store, "EXACT_SEARCH_MAX", 10)
    settings.index_type = "auto"
    (corpus / "新.txt").write_text("本协会2025年共有会员456名，其中新会员78名。", encoding="utf-8")
    report = ingest([corpus], settings=settings, embedder=fake_embedder)
    assert report.added == ["新.txt"]
    data = store.load(settings.index_dir)
    assert isinstance(data.faiss_index, faiss.IndexHNSWFlat) and data.manifest.index_type == "auto"
    assert _ids(settings, fake_embedder)[0] == expected[0]
