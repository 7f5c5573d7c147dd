"""The one interface every vector store implements: written by ingestion, searched by retrieval.

A store holds the chunks of the documents, their vectors, a keyword (BM25) index over their
texts, the manifest, and derived tables built at ingest. Ingestion asks it what it holds and
hands it one ``Change`` to commit; retrieval opens a ``StoreView`` and searches it. Neither
ever asks which store it has.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, ContextManager, Hashable, Protocol, runtime_checkable

import numpy as np

from rag.errors import IndexDamagedError
from rag.index.manifest import Manifest
from rag.types import Chunk


@dataclass
class Change:
    """What one ingest or delete does: the documents whose chunks go, and the chunks (with vectors) that come."""

    drop: set[str] = field(default_factory=set)  # document ids
    chunks: list[Chunk] = field(default_factory=list)
    vectors: list[np.ndarray] = field(default_factory=list)  # row blocks, in the order of ``chunks``

    def matrix(self, dim: int) -> np.ndarray:
        """The vectors of ``chunks`` as one float32 matrix."""
        if not self.vectors:
            return np.zeros((0, dim), dtype=np.float32)
        return np.vstack(self.vectors).astype(np.float32, copy=False)

    def __bool__(self) -> bool:
        return bool(self.drop or self.chunks)


@dataclass(frozen=True)
class Hit:
    """One search result: the chunk, its score, and its position in the store (equal scores break by it)."""

    chunk: Chunk
    score: float
    position: int


# Builds the derived tables (name → bytes) from every chunk the store will hold and the tables it held before.
TableBuilder = Callable[[list[Chunk], dict[str, bytes]], dict[str, bytes]]


@runtime_checkable
class StoreView(Protocol):
    """One committed state of a store, opened for searching."""

    manifest: Manifest
    version: Hashable  # differs after every commit: what caches of derived data are keyed by

    def chunks(self) -> list[Chunk]:
        """Every chunk, in store order."""

    def chunks_of(self, source: str) -> list[Chunk]:
        """The chunks of the document shown as ``source``."""

    def dense(self, vector: np.ndarray, n: int) -> list[Hit]:
        """The ``n`` chunks whose vectors are nearest ``vector`` (inner product), best first."""

    def keyword(self, text: str, n: int) -> list[Hit]:
        """The ``n`` best BM25 matches for ``text`` with a positive score, best first."""

    def table(self, name: str) -> bytes | None:
        """A derived table saved at ingest, or None when this index has none."""


@runtime_checkable
class VectorStore(Protocol):
    """Where an index lives: a FAISS folder, a Milvus collection, ….  Chosen by ``stores.open_store``."""

    name: str

    def where(self) -> str:
        """Where the index is, as one line for users."""

    def holds_index(self) -> bool:
        """True when an index exists here, readable or not (nothing may then be built over it)."""

    def read_manifest(self) -> Manifest | None:
        """The committed manifest with its documents; None when there is no index."""

    def current(self) -> Hashable | None:
        """Which committed state is current, cheaply (a view opened now has it as ``version``); None: no index."""

    def writing(self) -> ContextManager[None]:
        """Hold the one writer's lock, or fail at once with ``IndexBusyError``."""

    def chunk_counts(self) -> Counter:
        """Chunks per document id as they are stored (a document with fewer than its manifest says is repaired)."""

    def commit(self, manifest: Manifest, change: Change, tables: TableBuilder, *, rebuild: bool = False) -> int:
        """Apply ``change`` and record ``manifest`` (last); returns the chunk count afterwards.

        A crash midway never loses a document: either readers keep the previous state (FAISS) or the next
        ingest finds the interrupted documents incomplete and writes them again (Milvus).
        """

    def lacks_tables(self, names: tuple[str, ...]) -> bool:
        """True when the committed index could hold these derived tables but was written without them."""

    def open(self) -> StoreView:
        """The committed index for searching (``IndexDamagedError`` when it cannot be read)."""

    def verify(self) -> tuple[Manifest | None, list[str]]:
        """The manifest and every problem a full check finds (empty: intact); (None, []) when there is no index."""

    def check_line(self) -> str:
        """What a passed ``verify`` checked, in words for users."""

    def damaged(self, problems: list[str]) -> IndexDamagedError:
        """The error for what ``verify`` found, naming the fix."""

    def rollback(self) -> str:
        """Go back to the previous intact state; returns a line saying what was done."""
