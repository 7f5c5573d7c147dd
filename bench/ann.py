"""Approximate vector search at scale, measured on vectors with the structure of real e5 embeddings.

1. Text: sentences of the sample corpus with about half of their nouns, verbs, adjectives and numbers
   swapped for random words of the same part of speech from jieba's dictionary (so topics vary, the
   grammar stays Chinese), 3–8 sentences a chunk.
2. Real vectors: those chunks embedded by the project's e5 model (``passage:``), cached in the user cache.
3. Expansion to 100k / 1M: each new vector is a real one plus Gaussian noise drawn inside the span of
   its 10 nearest real neighbours (so it stays on the local shape of the data rather than spreading
   into all 384 directions), renormalised. One global scale is calibrated so that the distance from
   new vectors to their nearest real vector matches the real vectors' own nearest-neighbour distances;
   the two distributions are reported side by side.
4. Each index is built, then searched one query at a time (queries are held-out vectors made the same
   way); recall@10 is against exact search over the same vectors.
"""

from __future__ import annotations

import gc
import random
import time
from pathlib import Path

import numpy as np

NEIGHBOURS = 10
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


# ---------------------------------------------------------------- text and real vectors


def generated_chunks(count: int, sentences: list[str], seed: int) -> list[str]:
    """``count`` chunks of generated Chinese text (see the module docstring)."""
    import jieba
    import jieba.posseg

    jieba.setLogLevel(60)
    rng = random.Random(seed)
    templates = [[(w.word, w.flag) for w in jieba.posseg.cut(s)] for s in sentences]
    words = _dictionary_words()
    chunks = []
    for _ in range(count):
        picked = [rng.choice(templates) for _ in range(rng.randint(3, 8))]
        chunks.append("".join(_vary(t, words, rng) for t in picked))
    return chunks


def _dictionary_words() -> dict[str, list[str]]:
    import jieba

    by_tag: dict[str, list[str]] = {}
    path = Path(jieba.__file__).parent / "dict.txt"
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 3 and int(parts[1]) >= 20 and len(parts[0]) >= 2:  # common words only
            by_tag.setdefault(parts[2], []).append(parts[0])
    return by_tag


def _vary(template: list[tuple[str, str]], words: dict[str, list[str]], rng: random.Random) -> str:
    out = []
    for word, tag in template:
        if tag == "m" and any(c.isdigit() for c in word) and rng.random() < 0.5:
            word = str(rng.randint(2, 9999))
        elif tag in ("n", "ns", "nr", "nt", "nz", "v", "vn", "a") and words.get(tag) and rng.random() < 0.5:
            word = rng.choice(words[tag])
        out.append(word)
    return "".join(out)


def real_vectors(count: int, sentences: list[str], cache: Path, seed: int, log) -> np.ndarray:
    """e5 embeddings of ``count`` generated chunks, embedded in blocks and cached block by block."""
    cache.mkdir(parents=True, exist_ok=True)
    chunks = generated_chunks(count, sentences, seed)
    block, parts = 250, []
    embedder = None
    started = time.perf_counter()
    for at in range(0, count, block):
        path = cache / f"e5-generated-{seed}-{at:06d}-{block}.npy"
        if not path.exists():
            if embedder is None:
                from rag.embeddings import get_embedder

                embedder = get_embedder()
            np.save(path, embedder.embed_passages(chunks[at : at + block]))
            done = at + block
            log(f"embedded {done}/{count} generated chunks ({done / (time.perf_counter() - started):.1f}/s)")
        parts.append(np.load(path))
    return np.ascontiguousarray(np.vstack(parts)[:count], dtype=np.float32)


# ---------------------------------------------------------------- expansion


def nn_distances(points: np.ndarray, reference: np.ndarray, exclude_self: bool = False) -> np.ndarray:
    """Euclidean distance of each point to its nearest vector in ``reference``."""
    import faiss

    k = 2 if exclude_self else 1
    sims, _ = faiss.knn(np.ascontiguousarray(points), np.ascontiguousarray(reference), k,
                        metric=faiss.METRIC_INNER_PRODUCT)
    best = sims[:, 1] if exclude_self else sims[:, 0]
    return np.sqrt(np.maximum(0.0, 2.0 - 2.0 * best))


class Expander:
    """Samples new vectors around real ones (module docstring, step 3)."""

    def __init__(self, real: np.ndarray, seed: int):
        import faiss

        self.real = real
        self.rng = np.random.default_rng(seed)
        _, ids = faiss.knn(real, real, NEIGHBOURS + 1, metric=faiss.METRIC_INNER_PRODUCT)
        self.neighbours = ids[:, 1:]
        self.real_nn = nn_distances(real, real, exclude_self=True)
        self.scale = self._calibrate()

    def sample(self, n: int, scale: float | None = None, block: int = 100_000) -> np.ndarray:
        """``n`` new unit vectors."""
        out = np.empty((n, self.real.shape[1]), dtype=np.float32)
        for at in range(0, n, block):
            m = min(block, n - at)
            centre = self.rng.integers(0, len(self.real), m)
            diffs = self.real[self.neighbours[centre]] - self.real[centre][:, None, :]  # (m, k, dim)
            weights = self.rng.standard_normal((m, NEIGHBOURS, 1), dtype=np.float32) / np.sqrt(NEIGHBOURS)
            v = self.real[centre] + (scale or self.scale) * (weights * diffs).sum(axis=1)
            out[at : at + m] = v / np.linalg.norm(v, axis=1, keepdims=True)
        return out

    def _calibrate(self, probe: int = 3_000) -> float:
        target, scale = float(np.median(self.real_nn)), 1.0
        for _ in range(4):  # the distance grows almost linearly with the scale
            got = float(np.median(nn_distances(self.sample(probe, scale), self.real)))
            scale *= target / max(got, 1e-6)
        return scale

    def distribution(self, generated: np.ndarray) -> dict:
        """Quantiles of nearest-real-neighbour distances: real among real vs generated against real."""
        sample = generated[self.rng.choice(len(generated), min(5_000, len(generated)), replace=False)]
        ours = nn_distances(sample, self.real)
        return {"quantiles": list(QUANTILES),
                "real": [round(float(q), 4) for q in np.quantile(self.real_nn, QUANTILES)],
                "generated": [round(float(q), 4) for q in np.quantile(ours, QUANTILES)],
                "scale": round(self.scale, 4)}


# ---------------------------------------------------------------- indexes


def candidates(n: int) -> list[dict]:
    """The index configurations measured at ``n`` vectors."""
    from rag.store import ivf_lists

    nlist = ivf_lists(n)
    out = [{"kind": "ivf", "nlist": nlist, "nprobe": p} for p in (8, 16, 32, 64)]
    out += [{"kind": "hnsw", "M": 32, "efSearch": ef} for ef in (64, 128)]
    return out


def measure(vectors: np.ndarray, queries: np.ndarray, budget: float, rss_mb, log) -> dict:
    """Exact search, then IVF (one build, several nprobe) and HNSW (one build, several efSearch)."""
    import faiss

    k, n = 10, len(vectors)
    rows = []
    before = rss_mb()
    started = time.perf_counter()
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    rows.append(_search_rows(flat, queries, None, k, {"kind": "flat"}, time.perf_counter() - started,
                             rss_mb() - before))
    _, exact = flat.search(queries, k)
    del flat
    gc.collect()
    rows += _ivf_rows(vectors, queries, exact, k, rss_mb, log)
    rows += _hnsw_rows(vectors, queries, exact, k, budget, rss_mb, log)
    return {"n": n, "rows": rows}


def _ivf_rows(vectors, queries, exact, k, rss_mb, log) -> list[dict]:
    from rag.store import build_faiss

    before = rss_mb()
    started = time.perf_counter()
    index = build_faiss(vectors, "ivf")
    build = time.perf_counter() - started
    log(f"IVF{index.nlist} over {len(vectors):,} built in {build:.1f} s")
    rows = []
    for nprobe in (8, 16, 32, 64):
        index.nprobe = nprobe
        rows.append(_search_rows(index, queries, exact, k, {"kind": "ivf", "nlist": index.nlist, "nprobe": nprobe},
                                 build, rss_mb() - before))
    del index
    gc.collect()
    return rows


def _hnsw_rows(vectors, queries, exact, k, budget, rss_mb, log) -> list[dict]:
    import faiss

    from rag.store import build_faiss

    n = len(vectors)
    block = max(1_000, n // 50)
    before = rss_mb()
    index = build_faiss(vectors[:0], "hnsw")
    started = time.perf_counter()
    while index.ntotal < n and time.perf_counter() - started < budget:
        index.add(np.ascontiguousarray(vectors[index.ntotal : index.ntotal + block]))
    build, built = time.perf_counter() - started, index.ntotal
    log(f"HNSW over {built:,}/{n:,} built in {build:.1f} s")
    if built < n:  # recall against the exact neighbours among the vectors the graph holds
        _, exact = faiss.knn(queries, vectors[:built], k, metric=faiss.METRIC_INNER_PRODUCT)
    rows = []
    for ef in (64, 128, 256):
        index.hnsw.efSearch = ef
        extra = {"kind": "hnsw", "M": index.hnsw.nb_neighbors(1), "efSearch": ef, "built": built,
                 "full_build_s_est": round(build * n / max(built, 1), 1)}
        rows.append(_search_rows(index, queries, exact, k, extra, build, rss_mb() - before))
    del index
    gc.collect()
    return rows


def _search_rows(index, queries, exact, k, extra: dict, build: float, memory: float) -> dict:
    latencies = []
    found = []
    for i in range(len(queries)):
        t = time.perf_counter()
        _, ids = index.search(queries[i : i + 1], k)
        latencies.append(time.perf_counter() - t)
        found.append(ids[0])
    ms = np.array(latencies) * 1000
    recall = 1.0 if exact is None else float(np.mean([len(set(a) & set(b)) / k for a, b in zip(exact, found)]))
    return {**extra, "build_s": round(build, 2), "index_mb": round(memory, 1), "recall_at_10": round(recall, 4),
            "p50_ms": round(float(np.percentile(ms, 50)), 3), "p95_ms": round(float(np.percentile(ms, 95)), 3)}
