"""BM25 as sparse vectors: the in-memory BM25's scores, split into a document half and a query half.

A document's vector holds each token's length-normalised term frequency; a query's holds each
token's IDF (times how often the question repeats it), so their inner product is the Lucene
BM25 score that ``retrieval.BM25Index`` (bm25s) computes. The IDF needs the document
frequencies, which the writer keeps up to date beside the vectors.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter

from rag.text.tokens import query_text, tokenize

# bm25s's defaults (method "lucene"), so both stores rank alike
K1 = 1.5
B = 0.75
EMPTY = "<empty>"  # what BM25Index indexes for a text without tokens


def doc_tokens(text: str, mode: str) -> list[str]:
    """The tokens a chunk is indexed under."""
    return tokenize(text, mode) or [EMPTY]


def dimension(token: str) -> int:
    """The sparse dimension of a token (a 32-bit hash; Milvus accepts indices below 2**32 - 1)."""
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=4).digest(), "little") % (2**32 - 1)


def document_vector(tokens: list[str], avgdl: float) -> dict[int, float]:
    """The document half of BM25: tf / (tf + k1 · (1 − b + b · |d| / avgdl)) per token."""
    norm = K1 * (1 - B + B * len(tokens) / max(avgdl, 1e-9))
    vector: dict[int, float] = {}
    for token, tf in Counter(tokens).items():
        dim = dimension(token)
        vector[dim] = vector.get(dim, 0.0) + tf / (tf + norm)
    return vector


def query_tokens(question: str, mode: str) -> Counter:
    """The query's tokens and how often each occurs (question words removed, as BM25Index does)."""
    return Counter(tokenize(query_text(question), mode))


def query_vector(counts: Counter, doc_freq: dict[str, int], total: int) -> dict[int, float]:
    """The query half of BM25: count · ln(1 + (N − df + 0.5) / (df + 0.5)); unknown tokens are left out."""
    vector: dict[int, float] = {}
    for token, count in counts.items():
        df = doc_freq.get(token, 0)
        if df > 0:
            dim = dimension(token)
            vector[dim] = vector.get(dim, 0.0) + count * math.log(1 + (total - df + 0.5) / (df + 0.5))
    return vector
