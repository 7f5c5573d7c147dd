"""Vectors of parts of a passage, pooled from the token states the model computed for the whole passage.

A part (an answer unit inside a chunk) is given by its character span in the passage; its vector is
the mean of the last hidden states of the tokens that overlap the span (offsets as ``tokenizers``
reports them), scaled to unit length: the passage's own vector is the same mean over all its tokens,
so a part costs no model call of its own. Each token reads the whole passage, so a part's vector is
about the part in its passage, not the part alone.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def span_tokens(offsets: Sequence[tuple[int, int]], start: int, end: int) -> np.ndarray:
    """Positions of the tokens whose characters overlap ``[start, end)``; ``<s>`` and ``</s>`` (0, 0) never."""
    return np.asarray([j for j, (a, b) in enumerate(offsets) if a < b and a < end and b > start], dtype=np.int64)


def pooled(states: np.ndarray, tokens: np.ndarray) -> np.ndarray:
    """The mean of ``states`` (tokens × dim) over ``tokens``, unit length; zeros when ``tokens`` is empty."""
    if not len(tokens):
        return np.zeros(states.shape[-1], dtype=np.float32)
    mean = states[tokens].mean(axis=0, dtype=np.float32)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)


def pool_spans(states: np.ndarray, offsets: Sequence[tuple[int, int]], spans: Sequence[tuple[int, int]],
               shift: int = 0) -> np.ndarray:
    """One pooled vector per span (characters of the text, ``shift`` added to reach the passage's): (spans, dim)."""
    out = np.zeros((len(spans), states.shape[-1]), dtype=np.float32)
    for row, (start, end) in enumerate(spans):
        out[row] = pooled(states, span_tokens(offsets, start + shift, end + shift))
    return out
