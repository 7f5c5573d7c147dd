"""The answer units of every document, with their vectors: built at ingest, saved with the index as ``units.npz``.

Each document is put back together from its chunks and split into units (``rag.documents.units``);
a unit keeps its span in the document, its kind and its context (headings, a table's header). Its
vector embeds the context and the unit as a passage, so at question time only the question is
embedded and the units of the retrieved passages are ranked by the saved vectors. Vectors of
units seen before (same context and text) are reused: an incremental ingest embeds only new units.

Two kinds of vectors (``VECTOR_KINDS``, the index's manifest says which): ``embedded``, each unit run through
the model on its own (the default); ``pooled``, the mean of the unit's token states inside the chunk
that holds most of it, kept while the chunks were embedded (``placed``, ``rag.embedding.pooling``):
no model call of its own, so ingestion runs the model over the chunks only (the fast option).
"""

from __future__ import annotations

import hashlib
import io
import json
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from rag.documents.chunking import document_title
from rag.documents.units import KINDS, display, split_units
from rag.types import Chunk

FILE_NAME = "units.npz"
MAX_EMBED_CHARS = 400  # a long unit is embedded by its start; the model reads 512 tokens at most
EMBED_BATCH = 256  # units per call to the model, as chunks are embedded
VECTOR_KINDS = ("embedded", "pooled")  # how unit vectors are made (RAG_UNIT_VECTORS)


@dataclass
class UnitTable:
    """Units of all documents: parallel arrays, row ``i`` of ``vectors`` belonging to unit ``i``."""

    doc_ids: list[str]
    starts: np.ndarray  # span in the document's cleaned text
    ends: np.ndarray
    kinds: np.ndarray  # index into KINDS
    contexts: list[str]
    texts: list[str]  # as shown in an answer (``display``)
    vectors: np.ndarray  # float16, unit length

    def __post_init__(self) -> None:
        self._by_doc: dict[str, list[int]] = defaultdict(list)
        for i, doc in enumerate(self.doc_ids):
            self._by_doc[doc].append(i)  # in document order: units were made in order
        starts = np.asarray(self.starts).tolist()
        self._doc_starts = {doc: [starts[i] for i in rows] for doc, rows in self._by_doc.items()}

    def __len__(self) -> int:
        return len(self.doc_ids)

    def within(self, chunk: Chunk) -> list[int]:
        """The units of ``chunk``'s document that lie inside the chunk (at least half of each)."""
        doc = chunk.doc_id or chunk.source
        rows, starts = self._by_doc.get(doc, []), self._doc_starts.get(doc, [])
        found = []
        for i in rows[max(0, bisect_left(starts, chunk.start) - 1):]:
            s, e = int(self.starts[i]), int(self.ends[i])
            if s >= chunk.end:
                break
            if min(e, chunk.end) - max(s, chunk.start) >= (e - s) / 2:
                found.append(i)
        return found

    def kind(self, row: int) -> str:
        return KINDS[int(self.kinds[row])]

    def to_bytes(self) -> bytes:
        meta = {"doc_ids": self.doc_ids, "contexts": self.contexts, "texts": self.texts}
        buffer = io.BytesIO()
        np.savez(buffer, starts=self.starts, ends=self.ends, kinds=self.kinds, vectors=self.vectors,
                 meta=np.frombuffer(json.dumps(meta, ensure_ascii=False).encode("utf-8"), dtype=np.uint8))
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, raw: bytes) -> "UnitTable":
        with np.load(io.BytesIO(raw), allow_pickle=False) as data:
            meta = json.loads(data["meta"].tobytes().decode("utf-8"))
            return cls(meta["doc_ids"], data["starts"], data["ends"], data["kinds"], meta["contexts"],
                       meta["texts"], data["vectors"])


def embed_text(context: str, text: str) -> str:
    """What the model reads for a unit: its context first, so "默认值：3" is about the option above it."""
    body = text[:MAX_EMBED_CHARS]
    return f"{context}：{body}" if context else body


def titled(title: str, context: str) -> str:
    """A unit's context under its document's name: "-r, --remove：……" is about the command its page is named after."""
    return " › ".join(part for part in (title, context) if part)


def build(chunks: Sequence[Chunk], embedder, previous: UnitTable | None = None) -> UnitTable:
    """The unit table of ``chunks``' documents; vectors of units ``previous`` already holds are reused.

    When ``embedder`` has ``pooled_units`` (not None), the vectors are pooled: that dict holds those of the
    units whose chunks were just embedded (by ``pooled_key``); a unit found in neither is pooled by running
    its chunk again. Otherwise each new unit's ``embed_text`` is embedded as a passage.
    """
    doc_ids, starts, ends, kinds, contexts, texts = [], [], [], [], [], []
    titles = {c.doc_id or c.source: document_title(c.source) for c in chunks}
    for doc_id, text in _documents(chunks).items():
        for unit in split_units(text):
            doc_ids.append(doc_id)
            starts.append(unit.start)
            ends.append(unit.end)
            kinds.append(KINDS.index(unit.kind))
            contexts.append(unit.context)
            texts.append(display(text, unit))
    pooled = getattr(embedder, "pooled_units", None)

    def read(docs, contexts_of) -> list[str]:  # what the model reads before each unit: its document's name and context
        return [titled(titles.get(d, ""), c) for d, c in zip(docs, contexts_of)]

    reads = read(doc_ids, contexts)
    # an embedded vector is keyed by what the model read; a pooled one by where its unit stands
    keys = _keys(doc_ids, starts, ends, contexts if pooled is not None else reads, texts, pooled is not None)
    known = {}
    if previous is not None and len(previous):
        p = previous
        before = p.contexts if pooled is not None else read(p.doc_ids, p.contexts)
        known = dict(zip(_keys(p.doc_ids, p.starts, p.ends, before, p.texts, pooled is not None), p.vectors))
    known.update(pooled or {})
    if pooled is not None:
        known.update(_pool_again(chunks, embedder, set(keys) - known.keys()))
    todo = sorted({k: i for i, k in enumerate(keys) if k not in known}.values())
    dim = previous.vectors.shape[1] if previous is not None and len(previous) else None
    for start in range(0, len(todo), EMBED_BATCH):  # bounded batches: a huge file holds one batch at a time
        rows = todo[start:start + EMBED_BATCH]
        fresh = np.asarray(embedder.embed_passages([embed_text(reads[i], texts[i]) for i in rows]), dtype=np.float32)
        known.update({keys[i]: fresh[j].astype(np.float16) for j, i in enumerate(rows)})
        dim = fresh.shape[1]
    dim = dim or next((v.shape[0] for v in known.values()), None)
    vectors = np.stack([known[k] for k in keys]).astype(np.float16) if keys else np.zeros((0, dim or 1), np.float16)
    return UnitTable(doc_ids, np.asarray(starts, np.int64), np.asarray(ends, np.int64), np.asarray(kinds, np.int8),
                     contexts, texts, vectors)


def placed(chunks: Sequence[Chunk]) -> list[list[tuple[int, int, str]]]:
    """For each chunk, the units of its document it holds most of (the earlier chunk on a tie): each unit's
    part inside the chunk as a span of what is embedded (``Chunk.indexed``: the context line, then the text),
    and its ``pooled_key``."""
    out: list[list[tuple[int, int, str]]] = [[] for _ in chunks]
    rows_of: dict[str, list[int]] = defaultdict(list)
    for i, chunk in enumerate(chunks):
        rows_of[chunk.doc_id or chunk.source].append(i)
    for doc_id, text in _documents(chunks).items():
        rows = sorted(rows_of[doc_id], key=lambda i: chunks[i].start)
        firsts = [chunks[i].start for i in rows]
        for unit in split_units(text):
            s, e = unit.start, unit.end
            at = max(0, bisect_left(firsts, s) - 1)
            while at > 0 and chunks[rows[at - 1]].end > s:  # overlapping chunks before it may hold it too
                at -= 1
            best, most = None, 0
            for row in rows[at:]:
                chunk = chunks[row]
                if chunk.start >= e:
                    break
                if (inside := min(e, chunk.end) - max(s, chunk.start)) > most:
                    best, most = row, inside
            if best is not None:
                chunk = chunks[best]
                key = pooled_key(doc_id, s, e, unit.context, display(text, unit))
                lead = len(chunk.indexed) - len(chunk.text) - chunk.start
                out[best].append((max(s, chunk.start) + lead, min(e, chunk.end) + lead, key))
    return out


def pooled_key(doc_id: str, start: int, end: int, context: str, text: str) -> str:
    """A pooled vector's key: the unit and where it stands (its chunk's text around it shapes the vector)."""
    return _key(f"{doc_id}\x00{start}\x00{end}\x00{context}", text)


def _keys(doc_ids, starts, ends, contexts, texts, pooled: bool) -> list[str]:
    """Each unit's key: its context and text; for pooled vectors also where it stands."""
    if not pooled:
        return [_key(c, t) for c, t in zip(contexts, texts)]
    return [pooled_key(d, int(s), int(e), c, t) for d, s, e, c, t in zip(doc_ids, starts, ends, contexts, texts)]


def _pool_again(chunks: Sequence[Chunk], embedder, missing: set[str]) -> dict[str, np.ndarray]:
    """Pooled vectors of the ``missing`` units (a table written without them): their chunks run again."""
    if not missing:
        return {}
    units = placed(chunks)
    rows = [i for i, found in enumerate(units) if any(k in missing for _, _, k in found)]
    out = {}
    for start in range(0, len(rows), EMBED_BATCH):
        batch = rows[start:start + EMBED_BATCH]
        spans = [[(s, e) for s, e, _ in units[i]] for i in batch]
        _, parts = embedder.embed_passages_pooled([chunks[i].indexed for i in batch], spans)
        for i, part in zip(batch, parts):
            out.update({k: v.astype(np.float16) for (_, _, k), v in zip(units[i], part) if v.any()})
    return out


def _key(context: str, text: str) -> str:
    return hashlib.blake2b(f"{context}\x00{text}".encode("utf-8"), digest_size=12).hexdigest()


def _documents(chunks: Sequence[Chunk]) -> dict[str, str]:
    """Each document's cleaned text, put back together from its chunks (the gaps between them are blank lines)."""
    spans: dict[str, list[Chunk]] = defaultdict(list)
    for chunk in chunks:
        spans[chunk.doc_id or chunk.source].append(chunk)
    texts = {}
    for doc, parts in spans.items():
        pieces, cursor = [], 0
        for c in sorted(parts, key=lambda c: c.start):
            if c.start > cursor:
                pieces.append("\n" * (c.start - cursor))
            if c.end > cursor:
                pieces.append(c.text[max(0, cursor - c.start):])
                cursor = c.end
        texts[doc] = "".join(pieces)
    return texts


def from_bytes(raw: bytes) -> UnitTable:
    """The table saved at ingest."""
    return UnitTable.from_bytes(raw)
