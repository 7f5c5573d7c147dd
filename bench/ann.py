"""Approximate vector search at scale, measured on vectors with the structure of real e5 embeddings.

1. Text: sentences of the sample corpus with about half of their nouns, verbs, adjectives and numbers
   swapped for random words of the same part of speech from jieba's dictionary (so topics vary, the
   grammar stays Chinese), 3–8 sentences a chunk.
2. Real vectors: those chunks embedded by the project's e5 model (``passage:``), cached in the user cache.
3. Expansion to 100k / 1M: each new vector is a real one moved in a random direction drawn from a
   Gaussian inside the span of its 10 nearest real neighbours (so it stays on the local shape of the
   data rather than spreading into all 384 directions), by a length drawn from the real vectors'
   nearest-neighbour distances, then renormalised. One global factor is calibrated so that the distance
   from new vectors to their nearest real vector matches the real vectors' own nearest-neighbour
   distances; the two distributions are reported side by side.
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
        texts = chunks[at : at + block]  # the same texts for any count: chunks are drawn one by one
        path = cache / f"e5-generated-{seed}-{at:06d}-{len(texts)}.npy"
        if not path.exists():
            if embedder is None:
                from rag.embedding.models import get_embedder

                embedder = get_embedder()
            np.save(path, embedder.embed_passages(texts))
            done = at + len(texts)
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

    def sample(self, n: int, scale: float | None = None, block: int = 50_000) -> np.ndarray:
        """``n`` new unit vectors."""
        out = np.empty((n, self.real.shape[1]), dtype=np.float32)
        for at in range(0, n, block):
            m = min(block, n - at)
            centre = self.rng.integers(0, len(self.real), m)
            weights = self.rng.standard_normal((m, NEIGHBOURS), dtype=np.float32)
            direction = self._combine(centre, weights)  # sum_k w_k (neighbour_k - centre)
            direction /= np.maximum(np.linalg.norm(direction, axis=1, keepdims=True), 1e-12)
            # how far: a real vector's nearest-neighbour distance, drawn at random
            length = self.real_nn[self.rng.integers(0, len(self.real), m)][:, None] * (scale or self.scale)
            v = self.real[centre] + length * direction
            out[at : at + m] = v / np.linalg.norm(v, axis=1, keepdims=True)
        return out

    def _combine(self, centre: np.ndarray, weights: np.ndarray) -> np.ndarray:
        from scipy.sparse import csr_matrix

        # A sparse (m x real) matrix times the real vectors: no (m, k, dim) block in memory.
        m = len(centre)
        cols = np.concatenate([self.neighbours[centre], centre[:, None]], axis=1)
        vals = np.concatenate([weights, -weights.sum(axis=1, keepdims=True)], axis=1)
        rows = np.repeat(np.arange(m), NEIGHBOURS + 1)
        mix = csr_matrix((vals.ravel(), (rows, cols.ravel())), shape=(m, len(self.real)))
        return np.asarray(mix @ self.real, dtype=np.float32)

    def _calibrate(self, probe: int = 3_000) -> float:
        target, scale = float(np.median(self.real_nn)), 1.0
        for _ in range(4):  # the distance grows almost linearly with the factor
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
    from rag.index.faiss_store import ivf_lists

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
    build = time.perf_counter() - started
    _, exact = flat.search(queries, k)  # batched: the ground truth for recall
    # exact search costs ~n/5M s a query: time a few of them, not all
    rows.append(_search_rows(flat, queries[:30], exact[:30], k, {"kind": "flat"}, build, rss_mb() - before))
    del flat
    gc.collect()
    rows += _ivf_rows(vectors, queries, exact, k, rss_mb, log)
    rows += _hnsw_rows(vectors, queries, exact, k, budget, rss_mb, log)
    return {"n": n, "rows": rows}


def _ivf_rows(vectors, queries, exact, k, rss_mb, log) -> list[dict]:
    from rag.index.faiss_store import build_faiss

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

    from rag.index.faiss_store import build_faiss

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


# ---------------------------------------------------------------- report


def markdown(results: list[dict], hnsw_budget: float) -> str:
    """The search-scale tables: the vectors' distances, then every index at every size."""
    if not results:
        return ""
    first = results[0]
    d = first["nn_distances"]
    dist = [f"| 真实向量之间 | {' | '.join(f'{x:.3f}' for x in d['real'])} |"]
    for r in results:
        g = r["nn_distances"]["generated"]
        dist.append(f"| 扩充到 {r['n']:,} 的新向量 → 最近的真实向量 | {' | '.join(f'{x:.3f}' for x in g)} |")
    qs = " | ".join(f"{int(q * 100)}%" for q in d["quantiles"])
    lead = (
        f"**向量检索规模**：向量有真实嵌入的结构，不是随机的。先用样例语料的句子生成中文文本（约一半名词、动词、"
        f"形容词和数字换成 jieba 词典里同词性的随机词），{first['real']:,} 块由 e5 模型真实嵌入（缓存在用户缓存目录）；"
        f"再扩充到目标数量：每个新向量 = 一个真实向量沿随机方向移动（方向是落在它 10 个最近真实邻居张成的子空间里的高斯向量，"
        f"距离取自真实向量之间的最近邻距离分布），再归一化，"
        f"移动距离整体乘一个系数，校准到新向量到最近真实向量的距离与真实向量之间的最近邻距离一致（下表，欧氏距离分位数，系数 "
        f"{d['scale']}）。查询是另外 {first['queries']} 个没有参与扩充的真实向量，一次一个，top-10，recall@10 对照精确结果。\n\n"
        f"| 最近邻距离 | {qs} |\n| --- |{' ---: |' * len(d['quantiles'])}\n" + "\n".join(dist) + "\n\n"
    )
    rows = []
    for r in results:
        for row in r["rows"]:
            rows.append(f"| {r['n']:,} | {_label(row)} | {row['build_s']:,.1f} | {row['p50_ms']:.2f} / {row['p95_ms']:.2f} "
                        f"| {row['recall_at_10']:.3f} | {row['index_mb']:,.0f} | {_note(row, r['n'], hnsw_budget)} |")
    header = "| 向量数 | 索引 | 构建 s | 搜索 p50/p95 ms | recall@10 | 索引内存 MB | 说明 |\n| ---: | --- | ---: | ---: | ---: | ---: | --- |\n"
    return lead + header + "\n".join(rows)


def _label(row: dict) -> str:
    if row["kind"] == "flat":
        return "精确（IndexFlatIP）"
    if row["kind"] == "ivf":
        return f"IVF nlist={row['nlist']}, nprobe={row['nprobe']}"
    return f"HNSW M={row['M']}, efSearch={row['efSearch']}"


def _note(row: dict, n: int, budget: float) -> str:
    if row["kind"] != "hnsw" or row["built"] == n:
        return ""
    return (f"限时 {budget:.0f} s 只建了前 {row['built']:,} 个（搜索、recall、内存只对这部分）；"
            f"全量构建按插入速率外推约 {row['full_build_s_est']:,.0f} s（下限）")
