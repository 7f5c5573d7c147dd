"""The embedder of one ingest: the model loads only when a document needs it, and with pooled unit vectors
(``RAG_UNIT_VECTORS=pooled``) the answer units get their vectors from the very run that embeds their chunks."""

from __future__ import annotations

from typing import Callable

import numpy as np

from rag.embedding.models import Embedder
from rag.errors import RagError


class IngestEmbedder:
    """Loads the embedding model on first use. ``pooled_units`` is None for embedded unit vectors; for pooled
    ones it collects, by ``unit_table.pooled_key``, the vectors of the units of every chunk embedded so far
    (``unit_table.build`` takes them from there)."""

    def __init__(self, embedder: Embedder | None, load: Callable[[], Embedder], pooled: bool = False):
        self._embedder, self._load = embedder, load
        self.pooled_units: dict[str, np.ndarray] | None = {} if pooled else None
        if pooled and embedder is not None:
            _check_pools(embedder)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._model().embed_passages(texts)

    def embed_passages_pooled(self, texts: list[str], spans: list[list[tuple[int, int]]]):
        return _check_pools(self._model()).embed_passages_pooled(texts, spans)

    def embed_chunks(self, texts: list[str], units: list[list[tuple[int, int, str]]] | None) -> np.ndarray:
        """The chunk texts' vectors; with pooled unit vectors also those of ``units`` (``unit_table.placed`` of
        these chunks), kept in ``pooled_units`` (a unit no token reaches, past the 512th, is left to the table)."""
        if self.pooled_units is None or units is None:
            return self.embed_passages(texts)
        vectors, parts = self.embed_passages_pooled(texts, [[(s, e) for s, e, _ in found] for found in units])
        for found, part in zip(units, parts):
            self.pooled_units.update((key, v.astype(np.float16)) for (_, _, key), v in zip(found, part) if v.any())
        return vectors

    def _model(self) -> Embedder:
        if self._embedder is None:
            self._embedder = self._load()
        return self._embedder


def _check_pools(embedder: Embedder) -> Embedder:
    if not hasattr(embedder, "embed_passages_pooled"):
        raise RagError(f"RAG_UNIT_VECTORS=pooled 需要内置模型的 ONNX Runtime 引擎，而当前嵌入模型 "
                       f"{getattr(embedder, 'model_id', '')} 不能给出 token 级向量；请去掉 RAG_UNIT_VECTORS。")
    return embedder
