"""The index in Milvus (``RAG_VECTOR_STORE=milvus``): the same store interface as the FAISS folder.

A commit writes only the change: a changed or removed document's chunks are deleted by its id
and the new chunks inserted with their dense and BM25 sparse vectors (``sparse``), whose inner
product equals the FAISS store's BM25 score, so both stores return the same passages.

Milvus has no transactions, so a commit first writes a journal: per document it touches, its
manifest entry before and after, and a digest of its chunk ids before and after. The manifest
goes last and the journal is cleared after it. The next writer (``writing``) finds a journal
left by a crash and finishes the job: a document whose chunks are exactly the new ones gets
its new entry, exactly the old ones its old entry; any other document loses its chunks and
keeps its old entry, so the ingest then finds it incomplete and writes it again. Chunks of
documents not in the manifest are deleted, and the BM25 statistics are counted afresh.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import asdict
from typing import Iterator

import numpy as np

from rag.errors import IndexDamagedError, RagError
from rag.index import faiss_files, sparse
from rag.index.base import Change, Hit, TableBuilder
from rag.index.manifest import FORMAT_VERSION, DocumentEntry, Manifest
from rag.index.milvus_client import uri_of
from rag.index.milvus_collection import Collection
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

    @contextmanager
    def writing(self) -> Iterator[None]:
        """The one writer's lock (the same file lock as the FAISS folder); a commit a crash interrupted is finished first."""
        with faiss_files.write_lock(self.settings.index_dir):
            self._finish_interrupted()
            yield

    def chunk_counts(self) -> Counter:
        return self.collection.chunk_counts() if self.collection.exists() else Counter()

    def commit(self, manifest: Manifest, change: Change, tables: TableBuilder, *, rebuild: bool = False) -> int:
        """Delete the dropped documents' chunks, insert the new ones, then record statistics and manifest."""
        ms = self.collection
        if rebuild:
            ms.drop()
        if not ms.exists():
            ms.create(manifest)
        before = ms.read_manifest() or manifest
        removed = {e.path for e in before.documents.values()} - set(manifest.documents)
        old_rows = ms.rows_of(change.drop, ["id", "doc_id", "text", *ms.context_fields()])
        ms.write_journal(_journal(before, manifest, change, old_rows))
        stats = ms.stats()
        mode = stats.setdefault("tokenizer", self.settings.bm25_tokenizer)
        df = Counter()
        for row in old_rows:
            tokens = sparse.doc_tokens(ms.keyword_text(row), mode)
            stats["tokens"] -= len(tokens)
            stats["chunks"] -= 1
            df.subtract(set(tokens))
        ms.delete_documents(change.drop)
        new_tokens = [sparse.doc_tokens(c.indexed if ms.has_context else c.text, mode) for c in change.chunks]
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
        ms.clear_journal()
        return ms.count()

    def _finish_interrupted(self) -> None:
        """Bring the collection back to one consistent state after a commit that a crash cut short.

        Also mends statistics that disagree with the chunks (an index written before the journal existed).
        """
        ms = self.collection
        if not ms.exists() or not ms.has_meta():
            return
        journal = ms.journal()
        stats = ms.stats()
        if not journal and stats["chunks"] == ms.count():
            return
        try:
            manifest = ms.read_manifest()
        except IndexDamagedError:  # no manifest at all: only `--rebuild` helps, and it must not be stopped here
            return
        rows = ms.rows_of(None, ["id", "doc_id", "text", "seq", *ms.context_fields()])
        ids_of = defaultdict(list)
        for row in rows:
            ids_of[row["doc_id"]].append(row["id"])
        before = set(manifest.documents)
        by_id = {e.doc_id: k for k, e in manifest.documents.items()}
        purge = set()
        for record in journal:
            doc = record["doc_id"]
            present = _digest(ids_of.get(doc, ()))
            if present == record["new_digest"]:
                entry = record["new"]
            else:  # the old chunks (untouched) keep the old entry; anything else is written again
                entry = record["old"]
                if present != record["old_digest"]:
                    purge.add(doc)
            manifest.documents.pop(by_id.get(doc, ""), None)
            if entry is not None:
                manifest.documents[entry["path"]] = DocumentEntry(**entry)
        known = {e.doc_id for e in manifest.documents.values()}
        purge |= set(ids_of) - known  # stray chunks: of no document in the manifest
        ms.delete_documents(purge)
        mode = stats.setdefault("tokenizer", self.settings.bm25_tokenizer)
        df, tokens, kept = Counter(), 0, [r for r in rows if r["doc_id"] not in purge]
        for row in kept:
            words = sparse.doc_tokens(ms.keyword_text(row), mode)
            tokens += len(words)
            df.update(set(words))
        seq = max([stats.get("seq", 0)] + [int(r["seq"]) + 1 for r in rows])
        ms.replace_stats({**stats, "chunks": len(kept), "tokens": tokens, "seq": seq}, df)
        manifest.updated_at = time.time()
        ms.write_manifest(manifest, before - set(manifest.documents))
        ms.flush()
        ms.clear_journal()

    def lacks_tables(self, names: tuple[str, ...]) -> bool:
        return False  # the collection keeps no derived tables: they are built from its chunks on first use

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
        journal = ms.journal()
        if journal:
            problems.append(f"有一次写入没有完成（涉及 {len(journal)} 篇文档：导入正在进行，或上次导入中途中断）")
        return manifest, problems

    def check_line(self) -> str:
        manifest = self.collection.read_manifest()
        return f"索引完好：{self.where()}（{len(manifest.documents)} 篇文档的文本块数与清单一致，BM25 统计一致）。"

    def damaged(self, problems: list[str]) -> IndexDamagedError:
        return IndexDamagedError(f"{self.where()} 不一致：{'；'.join(problems)}。修复：运行 `rag ingest 文件或目录` 补齐，"
                                 "或 `rag ingest --rebuild 文件或目录` 重建。")

    def rollback(self) -> str:
        raise RagError("Milvus 集合没有可回退的上一代；请用 `rag ingest --rebuild 文件或目录` 重建。")


def _digest(ids) -> str:
    """One value for a set of chunk ids (chunk ids are content hashes: equal digests, equal chunks)."""
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()


def _journal(before: Manifest, after: Manifest, change: Change, old_rows: list[dict]) -> list[dict]:
    """Per document the commit touches: its entry and chunk-id digest before and after."""
    old_ids, new_ids = defaultdict(list), defaultdict(list)
    for row in old_rows:
        old_ids[row["doc_id"]].append(row["id"])
    for chunk in change.chunks:
        new_ids[chunk.doc_id].append(chunk.id)
    was = {e.doc_id: asdict(e) for e in before.documents.values()}
    will = {e.doc_id: asdict(e) for e in after.documents.values()}
    return [{"doc_id": doc, "old": was.get(doc), "new": will.get(doc), "old_digest": _digest(old_ids[doc]),
             "new_digest": _digest(new_ids[doc])} for doc in sorted(set(change.drop) | set(new_ids))]


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
