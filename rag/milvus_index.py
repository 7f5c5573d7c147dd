"""Ingest, delete, list, check and search when the index lives in Milvus (``RAG_VECTOR_STORE=milvus``).

The same stages as the FAISS store: ``indexing`` decides what changed (content hashes,
the manifest's model check), this module writes only the change: a changed or removed
document's chunks are deleted by its id and the new chunks inserted with their dense and
BM25 sparse vectors. Retrieval fuses a dense and a sparse search with the same weighted
reciprocal-rank fusion as the FAISS store, so both return the same passages.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np

from . import indexing, sparse, store
from .embeddings import Embedder, get_embedder
from .errors import RagError
from .milvus_store import MilvusStore
from .question import YEAR_IN_TEXT, is_mostly_cjk
from .query_embeddings import get_query_embedder
from .retrieval import Retriever
from .settings import Settings
from .types import Passage


def ingest(paths, *, rebuild, settings: Settings, progress, embedder: Embedder | None) -> indexing.IngestReport:
    """``indexing.ingest`` for a Milvus collection."""
    started = time.perf_counter()
    report = indexing.IngestReport()
    with store.write_lock(settings.index_dir):  # one writer at a time (see README: several servers, one writer)
        ms = MilvusStore(settings)
        if rebuild:
            ms.drop()
        manifest = ms.read_manifest()
        if manifest is None:
            embedder = embedder or get_embedder(settings)
            manifest = indexing._empty(settings, embedder).manifest
            ms.create(manifest)
        indexing._check_settings(manifest, settings, embedder.model_id if embedder else settings.embedding_model)
        data = store.IndexData(manifest, [], np.zeros((0, manifest.dim), dtype=np.float32))
        before = set(manifest.documents)
        lazy = indexing._LazyEmbedder(settings, embedder)
        changes = indexing._apply(data, [Path(p) for p in paths], settings, lazy, report, progress or _quiet,
                                  have=ms.chunk_counts())
        if report.changed or rebuild:
            _write(ms, changes.drop, data, removed=before - set(manifest.documents))
        report.total_chunks = ms.count()
    report.seconds = time.perf_counter() - started
    return report


def _quiet(fraction: float, message: str) -> None:
    pass


def _write(ms: MilvusStore, drop: set[str], data: store.IndexData, removed: set[str]) -> None:
    """Delete the dropped documents' chunks, insert the new ones, then record statistics and manifest.

    The manifest goes last: after a crash its entries still name the old files, so the next
    ingest finds those documents incomplete and writes them again.
    """
    stats = ms.stats()
    mode = stats.setdefault("tokenizer", ms.settings.bm25_tokenizer)
    df = Counter()
    for text in ms.texts_of(drop):
        tokens = sparse.doc_tokens(text, mode)
        stats["tokens"] -= len(tokens)
        stats["chunks"] -= 1
        df.subtract(set(tokens))
    ms.delete_documents(drop)
    new_tokens = [sparse.doc_tokens(c.text, mode) for c in data.chunks]
    for tokens in new_tokens:
        stats["tokens"] += len(tokens)
        stats["chunks"] += 1
        df.update(set(tokens))
    avgdl = stats["tokens"] / stats["chunks"] if stats["chunks"] else 1.0
    seq = stats.get("seq", 0)
    vectors = [sparse.document_vector(tokens, avgdl) for tokens in new_tokens]
    ms.insert(data.chunks, data.vectors, vectors, seq)
    stats["seq"] = seq + len(data.chunks)
    ms.write_stats(stats, df)
    data.manifest.updated_at = time.time()
    data.manifest.format_version = store.FORMAT_VERSION
    ms.write_manifest(data.manifest, removed)
    ms.flush()


def delete_document(document: str, settings: Settings) -> indexing.DocumentInfo | None:
    """``indexing.delete_document`` for a Milvus collection."""
    with store.write_lock(settings.index_dir):
        ms = MilvusStore(settings)
        manifest = ms.read_manifest()
        if manifest is None:
            return None
        docs = manifest.documents
        key = next((k for k, e in docs.items() if document in (e.doc_id, k, e.source)), None)
        if key is None:
            return None
        entry = docs.pop(key)
        data = store.IndexData(manifest, [], np.zeros((0, manifest.dim), dtype=np.float32))
        _write(ms, {entry.doc_id}, data, removed={key})
    return indexing._info(entry)


def read_manifest(settings: Settings) -> store.Manifest | None:
    return MilvusStore(settings).read_manifest()


def holds_index(settings: Settings) -> bool:
    return MilvusStore(settings).exists()


def check(settings: Settings) -> tuple[store.Manifest | None, list[str]]:
    """The manifest and what disagrees between it, the chunks and the BM25 statistics (empty: consistent)."""
    ms = MilvusStore(settings)
    manifest = ms.read_manifest()
    if manifest is None:
        return None, []
    problems = []
    have = ms.chunk_counts()
    for entry in manifest.documents.values():
        if have.get(entry.doc_id, 0) != entry.chunks:
            problems.append(f"{entry.source} 应有 {entry.chunks} 个文本块，集合里有 {have.get(entry.doc_id, 0)} 个")
    known = {e.doc_id for e in manifest.documents.values()}
    strays = sum(n for d, n in have.items() if d not in known)
    if strays:
        problems.append(f"{strays} 个文本块不属于清单里的任何文档")
    stats = ms.stats()
    if stats["chunks"] != sum(have.values()):
        problems.append(f"BM25 统计记录 {stats['chunks']} 个文本块，集合里有 {sum(have.values())} 个")
    return manifest, problems


# -- retrieval --------------------------------------------------------------------------------------


class MilvusRetriever(Retriever):
    """Searches the collection: a dense and a BM25 sparse search, fused as ``Retriever.search`` fuses them."""

    def __init__(self, ms: MilvusStore, embedder: Embedder, settings: Settings):
        self.ms = ms
        self.embedder = embedder
        self.settings = settings
        self.data = store.IndexData(ms.read_manifest(documents=False), [], np.zeros((0, embedder.dim), dtype=np.float32))
        self._years: dict[str, str | None] = {}
        self._vocabulary: list = []
        self._derived: dict[str, object] = {}

    def all_chunks(self) -> list:
        """Every chunk of the collection, read once for the tables derived from the whole corpus."""
        if "chunks" not in self._derived:
            self._derived["chunks"] = list(self.ms.chunks_where(""))
        return self._derived["chunks"]

    def document_year(self, source: str) -> str | None:
        """The year a document is about: the one its chunks mention most."""
        if source not in self._years:
            import json

            counts = Counter(y for c in self.ms.chunks_where(f"source == {json.dumps(source, ensure_ascii=False)}")
                             for y in YEAR_IN_TEXT.findall(c.text))
            self._years[source] = max(counts, key=counts.get) if counts else None
        return self._years[source]

    def search(self, question: str, top_k: int | None = None) -> list[Passage]:
        s = self.settings
        top_k = top_k or s.top_k
        text = self.search_text(question)
        query = np.asarray(self.embedder.embed_query(text), dtype=np.float32)
        dense = self.ms.search("dense", query.tolist(), s.candidates)
        bm25 = [h for h in self._sparse(text) if h[1] > 0]
        dense_w, bm25_w = s.dense_weight, s.bm25_weight
        if not is_mostly_cjk(question):
            dense_w, bm25_w = s.translated_dense_weight, s.translated_bm25_weight
        fused: dict[int, float] = {}
        chunks, dense_by, bm25_by = {}, {}, {}
        for weight, hits, scores in ((dense_w, dense, dense_by), (bm25_w, bm25, bm25_by)):
            for rank, (chunk, score, seq) in enumerate(hits):
                fused[seq] = fused.get(seq, 0.0) + weight / (s.rrf_k + rank + 1)
                chunks[seq], scores[seq] = chunk, score
        order = sorted(fused, key=lambda i: (-fused[i], i))[:top_k]
        return [Passage(chunk=chunks[i], score=fused[i], rank=r + 1, dense_score=dense_by.get(i),
                        bm25_score=bm25_by.get(i, 0.0)) for r, i in enumerate(order)]

    def _sparse(self, text: str):
        stats = self.ms.stats()
        counts = sparse.query_tokens(text, stats.get("tokenizer", self.settings.bm25_tokenizer))
        vector = sparse.query_vector(counts, self.ms.doc_freq(counts), stats["chunks"])
        return self.ms.search("sparse", vector, self.settings.candidates) if vector else []


_lock = threading.Lock()
_retrievers: dict[tuple, MilvusRetriever] = {}


def get_retriever(settings: Settings, embedder: Embedder | None = None) -> MilvusRetriever:
    """A retriever over the collection; the per-document caches start again when the manifest changes."""
    import copy

    ms = MilvusStore(settings)
    manifest = ms.read_manifest(documents=False)  # one row: a question never reads the whole document list
    if manifest is None:
        raise RagError("还没有索引：请先运行 `rag ingest 文件或目录`。")
    key = (ms.uri, ms.name, manifest.updated_at, settings.embedding_model, str(settings.embedding_path), id(embedder))
    with _lock:
        if key not in _retrievers:
            for old in [k for k in _retrievers if k[:2] == key[:2]]:
                del _retrievers[old]
            store.check_compatible(manifest, embedder.model_id if embedder else settings.embedding_model)
            embedder = embedder or get_query_embedder(manifest, settings)
            store.check_compatible(manifest, embedder.model_id, embedder.dim)
            _retrievers[key] = MilvusRetriever(ms, embedder, settings)
        shared = copy.copy(_retrievers[key])
    shared.settings = settings
    return shared
