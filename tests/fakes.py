"""Small deterministic stand-ins for fast unit tests (the real parts have tests of their own)."""

from __future__ import annotations

import hashlib

import numpy as np

from rag.text.tokens import bigrams


class FakeEmbedder:
    """Hashes character bigrams into a fixed-size vector: similar texts get similar vectors."""

    def __init__(self, dim: int = 64, model_id: str = "fake/bigram-hash"):
        self.dim = dim
        self.model_id = model_id
        self.origin = "fake"
        self.calls = 0

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for token in bigrams(text) or [text]:
            h = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=4).digest(), "little")
            v[h % self.dim] += 1.0
        norm = np.linalg.norm(v)
        return v / norm if norm else v

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        return np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)
