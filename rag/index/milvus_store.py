"""The index in Milvus (``RAG_VECTOR_STORE=milvus``): the same store interface as the FAISS folder.

A commit writes only the change: a changed or removed document's chunks are deleted by its id
and the new chunks inserted with their dense and BM25 sparse vectors (``sparse``), whose inner
product equals the FAISS store's BM25 score, so both stores return the same passages. The
manifest goes last: after a crash its entries still name the old files, so the next ingest
finds those documents incomplete and writes them again.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from contextlib import AbstractContextManager

import numpy as np

from rag.errors import IndexDamagedError, RagError
from rag.index import faiss_files, sparse
from rag.index.base import Change, Hit, TableBuilder
from rag.index.manifest import FORMAT_VERSION, Manifest
from rag.index.milvus_collection import Collection, uri_of
from rag.settings import Settings
from rag.types import Chunk


class MilvusStore:
    """The index as one Milvus collection of chunks and its side collection (manifest, BM25 statistics)."""

    name = "milvus"

    def __init__(self, settings: Settings):
        self.settings = settings
        self._collection: Collection | None = None

    @property
    def collection(self) -> Collection:
        if self._collection is None:  # connecting is the expensive part: not before it is needed
            self._collection = Collection(self.settings)
        return self._collection

    def where(self) -> str:
        return f"Milvus 集合 {self.settings.milvus_collection}（{uri_of(self.settings).split('@')[-1]}）"

    def holds_index(self) -> bool:
        return self.collection.exists()

    def read_manifest(self) -> Manifest | None:
        return self.collection.read_manifest()

    def current(self) -> tuple | None:
        manifest = self.collection.read_manifest(documents=False)  # one row
        return None if manifest is None else (self.collection.uri, self.collection.name, manifest.updated_at)

    def writing(self) -> AbstractContextManager[None]:
        # one writer at a time, through the same lock as the FAISS folder (README: several servers, one writer)
        return faiss_files.write_lock(self.settings.index_dir)

    def chunk_counts(self) -> Counter:
        return self.collection.chunk_counts() if self.collection.exists() else Counter()

    def commit(self, manifest: Manifest, change: Change, tables: TableBuilder, *, rebuild: bool = False) -> int:
        """Delete the dropped documents' chunks, insert the new ones, then record statistics and manifest."""
        ms = self.collection
        if rebuild:
            ms.drop()
        if not ms.exists():
            ms.create(manifest)
        stored = {e.path for e in (ms.read_manifest() or manifest).documents.values()}
        removed = stored - set(manifest.documents)
        stats = ms.stats()
        mode = stats.setdefault("tokenizer", self.settings.bm25_tokenizer)
        df = Counter()
        for text in ms.texts_of(change.drop):
            tokens = sparse.doc_tokens(text, mode)
            stats["tokens"] -= len(tokens)
            stats["chunks"] -= 1
            df.subtract(set(tokens))
        ms.delete_documents(change.drop)
        new_tokens = [sparse.doc_tokens(c.text, mode) for c in change.chunks]
        for tokens in new_tokens:
            stats["tokens"] += len(tokens)
            stats["chunks"] += 1
            df.update(set(tokens))
        avgdl = stats["tokens"] / stats["chunks"] if stats["chunks"] else 1.0
        seq = stats.get("seq", 0)
        vectors = [sparse.document_vector(tokens, avgdl) for tokens in new_tokens]
        ms.insert(change.chunks, change.matrix(manifest.dim), vectors, seq)
        stats["seq"] = seq + len(change.chunks)
        ms.write_stats(stats, df)
        manifest.updated_at = time.time()
        manifest.format_version = FORMAT_VERSION
        ms.write_manifest(manifest, removed)
        ms.flush()
        return ms.count()

    def open(self) -> "MilvusView":
        manifest = self.collection.read_manifest(documents=False)  # one row: a question never reads the document list
        if manifest is None:
            raise RagError("还没有索引：请先运行 `rag ingest 文件或目录`。")
        return MilvusView(self.collection, manifest, self.settings)

    def verify(self) -> tuple[Manifest | None, list[str]]:
        """The manifest and what disagrees between it, the chunks and the BM25 statistics (empty: consistent)."""
        ms = self.collection
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

    def check_line(self) -> str:
        manifest = self.collection.read_manifest()
        return f"索引完好：{self.where()}（{len(manifest.documents)} 篇文档的文本块数与清单一致，BM25 统计一致）。"

    def damaged(self, problems: list[str]) -> IndexDamagedError:
        return IndexDamagedError(f"{self.where()} 不一致：{'；'.join(problems)}。修复：运行 `rag ingest 文件或目录` 补齐，"
                                 "或 `rag ingest --rebuild 文件或目录` 重建。")

    def rollback(self) -> str:
        raise RagError("Milvus 集合没有可回退的上一代；请用 `rag ingest --rebuild 文件或目录` 重建。")


class MilvusView:
    """The collection, searched: a dense search and a BM25 sparse search."""

    def __init__(self, collection: Collection, manifest: Manifest, settings: Settings):
        self.collection = collection
        self.manifest = manifest
        self.version = (collection.uri, collection.name, manifest.updated_at)
        self.settings = settings
        self._chunks: list[Chunk] | None = None

    def chunks(self) -> list[Chunk]:
        """Every chunk of the collection, read once (for the tables derived from the whole corpus)."""
        if self._chunks is None:
            self._chunks = list(self.collection.chunks_where(""))
        return self._chunks

    def chunks_of(self, source: str) -> list[Chunk]:
        return self.collection.chunks_where(f"source == {json.dumps(source, ensure_ascii=False)}")

    def dense(self, vector: np.ndarray, n: int) -> list[Hit]:
        hits = self.collection.search("dense", np.asarray(vector, dtype=np.float32).tolist(), n)
        return [Hit(chunk, score, seq) for chunk, score, seq in hits]

    def keyword(self, text: str, n: int) -> list[Hit]:
        stats = self.collection.stats()
        counts = sparse.query_tokens(text, stats.get("tokenizer", self.settings.bm25_tokenizer))
        vector = sparse.query_vector(counts, self.collection.doc_freq(counts), stats["chunks"])
        hits = self.collection.search("sparse", vector, n) if vector else []
        return [Hit(chunk, score, seq) for chunk, score, seq in hits if score > 0]

    def table(self, name: str) -> bytes | None:
        return None  # derived tables are built from the chunks on first use
