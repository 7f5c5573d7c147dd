"""Chunks ranked by their best answer unit: the question's similarity to the saved vectors of the units inside each
candidate chunk, the best unit standing for its chunk.

A chunk's own vector averages everything in it: a chunk of twenty option entries is near none of them, so a
question reworded in the asker's words ("不想顺带生成一个同名的组") finds the entry it means
("-N, --no-user-group：不创建同名的组") by the entry's vector sooner than by its chunk's or by shared words. Only the
chunks the dense and keyword searches already found are ranked again, so the cost does not grow with the index.
"""

from __future__ import annotations

import numpy as np

from rag.index.base import Hit


def unit_hits(retriever, vector: np.ndarray, candidates: list[Hit]) -> list[Hit]:
    """``candidates`` (hits of the other searches, any order, repeats allowed) ranked by their best unit's
    similarity to ``vector``, best first; a chunk without units is left out."""
    table = retriever.units()
    chunks: dict[int, object] = {}
    for hit in candidates:
        chunks.setdefault(hit.position, hit.chunk)
    rows, owners = [], []
    for position, chunk in chunks.items():
        inside = retriever.unit_rows(position, chunk)
        rows.extend(inside)
        owners.extend([position] * len(inside))
    if not rows:
        return []
    sims = np.asarray(table.vectors[rows], dtype=np.float32) @ np.asarray(vector, dtype=np.float32)
    best: dict[int, float] = {}
    for position, sim in zip(owners, sims.tolist()):
        if sim > best.get(position, -2.0):
            best[position] = sim
    order = sorted(best, key=lambda p: (-best[p], p))
    return [Hit(chunks[p], best[p], p) for p in order]
