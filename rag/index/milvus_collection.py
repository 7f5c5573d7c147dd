"""The index in a Milvus collection: chunks with dense and sparse vectors, and a side collection for the manifest.

``<name>`` holds one row per chunk (its text, provenance, dense vector and BM25 sparse
vector). ``<name>_meta`` holds the manifest (``manifest``), one row per document
(``doc:<doc id>``), the BM25 statistics (``stats``) and the document frequency of every token
(``df:<token>``), so queries can carry IDF and the model check holds as it does for FAISS; while a
commit is under way, one journal row per document it touches (``txn:<doc id>``).
The URI is an embedded Milvus Lite folder (one process at a time), a ``milvus-lite server``,
a Milvus cluster or Zilliz Cloud. A collection is searchable only once loaded, and every process
loads it (embedded Lite forgets the load when its process ends): before its first read, and after create.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import asdict, replace
from typing import Iterable, Iterator

import numpy as np

from rag.errors import IndexDamagedError, RagError
from rag.settings import Settings
from rag.index.manifest import DocumentEntry, Manifest, document_id
from rag.index.milvus_client import (client, connection_problem, drop_lite_index_files, forget_client, not_loaded,
                                     pymilvus_module, quiet_lite, unavailable, uri_of, where)
from rag.types import Chunk, indexed_text

logger = logging.getLogger(__name__)
_READS = ("query", "search", "query_iterator")
_loaded: set[tuple[str, str]] = set()  # (uri, collection) this process loaded
BATCH = 500  # rows per insert/query call: keeps each request well under the message size limits
_KEY_LEN = 2048
_TEXT_LEN = 65535


class Collection:
    """One collection of chunks and its side collection, as the Milvus store needs them."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.uri = uri_of(settings)
        self.name = settings.milvus_collection
        self.meta = f"{self.name}_meta"
        self.client = client(settings)
        self._has_context: bool | None = None

    def _call(self, method: str, *args, _again: bool = True, **kwargs):
        """A client call (a read loads its collection first); a lost connection becomes the clear error."""
        if method in _READS:
            self.load(args[0])
        try:
            return getattr(self.client, method)(*args, **kwargs)
        except RagError:
            raise
        except Exception as exc:
            if _again and method in _READS and not_loaded(exc):  # released since (a restarted server): load again
                _loaded.discard((self.uri, args[0]))
                return self._call(method, *args, _again=False, **kwargs)
            if connection_problem(exc):
                forget_client(self.settings)
                _loaded.difference_update([k for k in _loaded if k[0] == self.uri])
                raise unavailable(self.uri, exc) from None
            raise RagError(f"Milvus（{where(self.uri)}）拒绝了请求：{str(exc)[:200]}") from None

    def load(self, name: str) -> None:
        """Make ``name`` searchable in this process (once; cheap when it is loaded already). An embedded Lite
        collection whose search-index files a writer left half-written (killed while it flushed) has them
        rebuilt from the stored vectors: they hold nothing else."""
        if (self.uri, name) in _loaded:
            return
        try:
            with quiet_lite(self.uri):
                self._call("load_collection", name)
        except RagError:
            # the index files hold nothing the stored vectors do not: without them Lite builds them again
            if not drop_lite_index_files(self.uri, name):
                raise
            self._call("load_collection", name)
            logger.warning("Milvus Lite 集合 %s 的检索索引文件读不出来（写入时进程被中止？），已按保存的向量重建", name)
        _loaded.add((self.uri, name))

    # -- the collections ---------------------------------------------------------------------

    def exists(self) -> bool:
        return bool(self._call("has_collection", self.name))

    def drop(self) -> None:
        for name in (self.name, self.meta):
            if self._call("has_collection", name):
                self._call("drop_collection", name)
            _loaded.discard((self.uri, name))

    def has_meta(self) -> bool:
        return bool(self._call("has_collection", self.meta))

    @property
    def has_context(self) -> bool:
        """Whether the chunk collection keeps each chunk's context line (one created by an older version does not:
        its chunks are keyword-indexed by their text alone until ``rag ingest --rebuild``)."""
        if self._has_context is None:
            fields = self._call("describe_collection", self.name).get("fields", [])
            self._has_context = any(f.get("name") == "context" for f in fields)
        return self._has_context

    def context_fields(self) -> list[str]:
        """The fields a chunk's keyword text is made of besides its text."""
        return ["context"] if self.has_context else []

    def chunk_fields(self) -> list[str]:
        return CHUNK_FIELDS + self.context_fields()

    def keyword_text(self, row: dict) -> str:
        """What the keyword index reads of a stored chunk row, as ``Chunk.indexed`` for a new chunk."""
        return indexed_text(row.get("context", ""), row["text"])

    def create(self, manifest: Manifest) -> None:
        """Create both collections for vectors of ``manifest.dim``, load them, record the manifest without documents."""
        self._has_context = None
        self._create_chunks(manifest.dim, manifest.index_type)
        self._create_meta()
        for name in (self.name, self.meta):
            _loaded.discard((self.uri, name))
            self.load(name)
        self.write_manifest(replace(manifest, documents={}), removed=())

    def _create_chunks(self, dim: int, index_type: str) -> None:
        DataType = pymilvus_module().DataType
        schema = self.client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=64)
        schema.add_field("doc_id", DataType.VARCHAR, max_length=64)
        schema.add_field("source", DataType.VARCHAR, max_length=_KEY_LEN)
        schema.add_field("text", DataType.VARCHAR, max_length=_TEXT_LEN)
        schema.add_field("context", DataType.VARCHAR, max_length=_KEY_LEN)  # Chunk.context (absent before pipeline 4)
        for field in ("start", "end", "order", "seq"):  # seq: insertion order, the tie-break FAISS rows have
            schema.add_field(field, DataType.INT64)
        schema.add_field("kind", DataType.VARCHAR, max_length=16)
        schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dim)
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        index = self.client.prepare_index_params()
        hnsw = {"index_type": "HNSW", "params": {"M": self.settings.hnsw_m, "efConstruction": 80}}
        index.add_index("dense", metric_type="IP", **(hnsw if index_type == "hnsw" else {"index_type": "FLAT"}))
        index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
        self._call("create_collection", self.name, schema=schema, index_params=index, consistency_level="Strong")

    def _create_meta(self) -> None:
        DataType = pymilvus_module().DataType
        schema = self.client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=_KEY_LEN)
        schema.add_field("value", DataType.VARCHAR, max_length=_TEXT_LEN)
        schema.add_field("num", DataType.INT64)
        schema.add_field("v", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector field in every collection
        index = self.client.prepare_index_params()
        index.add_index("v", index_type="FLAT", metric_type="L2")
        self._call("create_collection", self.meta, schema=schema, index_params=index, consistency_level="Strong")

    # -- the manifest --------------------------------------------------------------------------

    def read_manifest(self, documents: bool = True) -> Manifest | None:
        """The manifest (with its documents unless told not to); None when there is no collection yet."""
        if not self.exists():
            return None
        if not self.has_meta():  # not built by this program, or its side collection was dropped
            raise IndexDamagedError(
                f"Milvus 集合 {self.name}（{where(self.uri)}）没有配套的 {self.meta}，不是本程序建立的索引或已不完整。"
                "请把 RAG_MILVUS_COLLECTION 设为另一个名字；确认这个集合可以删除时，运行 `rag ingest --rebuild 文件或目录` 重建。"
            )
        head = self._get(["manifest"]).get("manifest")
        if head is None:
            raise self.damaged("清单（manifest）缺失")
        manifest = Manifest.from_json(head[0])
        manifest.documents = {}
        for value, _ in self._scan('key like "doc:%"') if documents else ():
            entry = DocumentEntry(**json.loads(value))
            manifest.documents[entry.path] = entry
        return manifest

    def write_manifest(self, manifest: Manifest, removed: Iterable[str]) -> None:
        """Record the manifest and its documents; ``removed`` are document paths no longer indexed."""
        head = asdict(manifest)
        head["documents"] = {}
        rows = [_meta_row("manifest", json.dumps(head, ensure_ascii=False))]
        # keyed by the document's id, not its path: pymilvus pages through string keys without escaping quotes
        rows += [_meta_row(f"doc:{document_id(k)}", json.dumps(asdict(e), ensure_ascii=False))
                 for k, e in manifest.documents.items()]
        self._upsert(self.meta, rows)
        self._delete_in(self.meta, "key", [f"doc:{document_id(k)}" for k in removed])

    def damaged(self, problem: str) -> IndexDamagedError:
        return IndexDamagedError(
            f"Milvus 集合 {self.name}（{where(self.uri)}）已损坏：{problem}。"
            "修复：用原始文件运行 `rag ingest --rebuild 文件或目录` 重建。"
        )

    # -- BM25 statistics -------------------------------------------------------------------------

    def stats(self) -> dict:
        """Chunks, their total token count, and the tokenizer the sparse vectors were built with."""
        row = self._get(["stats"]).get("stats")
        return json.loads(row[0]) if row else {"chunks": 0, "tokens": 0, "tokenizer": self.settings.bm25_tokenizer}

    def doc_freq(self, tokens: Iterable[str]) -> dict[str, int]:
        found = self._get([f"df:{t}" for t in tokens])
        return {key[3:]: num for key, (_, num) in found.items()}

    def write_stats(self, stats: dict, df_change: Counter) -> None:
        """Apply a change to the document frequencies, then record the statistics."""
        now = self.doc_freq([t for t, n in df_change.items() if n])
        value = {t: now.get(t, 0) + n for t, n in df_change.items() if n}
        self._upsert(self.meta, [_meta_row(f"df:{t}", "", n) for t, n in value.items() if n > 0])
        self._delete_in(self.meta, "key", [f"df:{t}" for t, n in value.items() if n <= 0])
        self._upsert(self.meta, [_meta_row("stats", json.dumps(stats))])

    def replace_stats(self, stats: dict, df: Counter) -> None:
        """Record statistics and document frequencies counted afresh (after an interrupted commit)."""
        self._call("delete", self.meta, filter='key like "df:%"')  # df keys may hold quotes: never paged through
        self._upsert(self.meta, [_meta_row(f"df:{t}", "", n) for t, n in df.items() if n > 0])
        self._upsert(self.meta, [_meta_row("stats", json.dumps(stats))])

    # -- the journal of a commit under way ----------------------------------------------------

    def journal(self) -> list[dict]:
        """What an interrupted commit meant to do, one record per document (empty: none was interrupted)."""
        return [json.loads(value) for value, _ in self._scan('key like "txn:%"')]

    def write_journal(self, records: list[dict]) -> None:
        self._upsert(self.meta, [_meta_row(f"txn:{r['doc_id']}", json.dumps(r, ensure_ascii=False)) for r in records])

    def clear_journal(self) -> None:
        self._call("delete", self.meta, filter='key like "txn:%"')

    # -- chunks ------------------------------------------------------------------------------------

    def chunk_counts(self) -> Counter:
        """Chunks per document id, as they are in the collection."""
        return Counter(row["doc_id"] for row in self._iterate("", ["doc_id"]))

    def count(self) -> int:
        return int(self._call("query", self.name, filter="", output_fields=["count(*)"],
                              consistency_level="Strong")[0]["count(*)"])

    def rows_of(self, doc_ids: Iterable[str] | None, fields: list[str]) -> list[dict]:
        """``fields`` of every chunk of the documents ``doc_ids`` (all chunks when None)."""
        ids = None if doc_ids is None else list(doc_ids)
        parts = [""] if ids is None else [f"doc_id in {json.dumps(ids[s:s + BATCH])}" for s in range(0, len(ids), BATCH)]
        return [row for part in parts for row in self._iterate(part, fields)]

    def chunks_where(self, filter: str) -> list[Chunk]:
        return [_chunk(row) for row in self._iterate(filter, self.chunk_fields())]

    def delete_documents(self, doc_ids: Iterable[str]) -> None:
        self._delete_in(self.name, "doc_id", list(doc_ids))

    def insert(self, chunks: list[Chunk], dense: np.ndarray, sparse_vectors: list[dict], first_seq: int) -> None:
        self._upsert(self.name, [{**_chunk_fields(c, self.has_context), "seq": first_seq + i, "dense": dense[i].tolist(),
                                  "sparse": sparse_vectors[i]} for i, c in enumerate(chunks)])

    def search(self, field: str, vector, limit: int) -> list[tuple[Chunk, float, int]]:
        """(chunk, score, seq) of the ``limit`` best matches in ``field`` (``dense`` or ``sparse``)."""
        params = {"metric_type": "IP", "params": {"ef": max(64, limit)} if field == "dense" else {}}
        hits = self._call("search", self.name, data=[vector], anns_field=field, limit=limit,
                          output_fields=self.chunk_fields(), search_params=params, consistency_level="Strong")
        found = [(_chunk(h["entity"]), float(h["distance"]), int(h["entity"]["seq"])) for h in hits[0]]
        # equal scores in insertion order, as rows of the FAISS store come (float32 scores: compared rounded)
        return sorted(found, key=lambda h: (-round(h[1], 5), h[2]))

    def flush(self) -> None:
        """Seal what was written so it is searched through its index (Lite otherwise scans sparse rows in Python)."""
        for name in (self.name, self.meta):
            self._call("flush", name)

    # -- plumbing ---------------------------------------------------------------------------------

    def _get(self, keys: list[str]) -> dict[str, tuple[str, int]]:
        found: dict[str, tuple[str, int]] = {}
        for start in range(0, len(keys), BATCH):
            part = keys[start:start + BATCH]
            rows = self._call("query", self.meta, filter=f"key in {json.dumps(part, ensure_ascii=False)}",
                              output_fields=["key", "value", "num"], consistency_level="Strong")
            found.update({r["key"]: (r["value"], int(r["num"])) for r in rows})
        return found

    def _scan(self, filter: str) -> Iterator[tuple[str, int]]:
        for row in self._iterate(filter, ["value", "num"], collection=self.meta):
            yield row["value"], int(row["num"])

    def _iterate(self, filter: str, fields: list[str], collection: str | None = None) -> Iterator[dict]:
        """Every matching row, in pages (a plain query stops at 16,384 rows)."""
        it = self._call("query_iterator", collection or self.name, batch_size=1000, filter=filter,
                        output_fields=fields, consistency_level="Strong")
        try:
            while True:
                page = self._call_on(it, "next")
                if not page:
                    return
                yield from page
        finally:
            it.close()

    def _call_on(self, obj, method: str):
        try:
            return getattr(obj, method)()
        except Exception as exc:
            raise unavailable(self.uri, exc) if connection_problem(exc) else RagError(str(exc)[:200]) from None

    def _upsert(self, collection: str, rows: list[dict]) -> None:
        for start in range(0, len(rows), BATCH):
            self._call("upsert", collection, rows[start:start + BATCH])

    def _delete_in(self, collection: str, field: str, values: list[str]) -> None:
        for start in range(0, len(values), BATCH):
            self._call("delete", collection,
                       filter=f"{field} in {json.dumps(values[start:start + BATCH], ensure_ascii=False)}")


CHUNK_FIELDS = ["id", "doc_id", "source", "text", "start", "end", "order", "kind", "seq"]




def _meta_row(key: str, value: str, num: int = 0) -> dict:
    return {"key": key, "value": value, "num": num, "v": [0.0, 0.0]}


def _chunk_fields(c: Chunk, context: bool) -> dict:
    fields = {"id": c.id, "doc_id": c.doc_id, "source": c.source, "text": c.text, "start": c.start,
              "end": c.end, "order": c.order, "kind": c.kind}
    return {**fields, "context": c.context} if context else fields


def _chunk(row: dict) -> Chunk:
    return Chunk(source=row["source"], text=row["text"], start=int(row["start"]), end=int(row["end"]),
                 order=int(row["order"]), kind=row["kind"], id=row["id"], doc_id=row["doc_id"],
                 context=row.get("context", ""))
