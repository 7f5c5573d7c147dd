"""What every part of the benchmark shares: paths and constants, progress logging, measuring helpers, the eval
questions, synthetic corpora and the stand-in embedder (standard library only at import time)."""

from __future__ import annotations

import random
import re
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"
QUESTIONS = ROOT / "eval" / "questions.jsonl"
DOCS_PAGE = ROOT / "docs" / "performance.md"  # its bench block is rewritten by --write-docs
MARK_START, MARK_END = "<!-- bench:start -->", "<!-- bench:end -->"
SEED = 20241127
PACKAGES = ("torch", "onnxruntime", "faiss-cpu", "sentence-transformers", "transformers", "numpy", "bm25s",
            "langchain-core", "langchain-community", "langchain-huggingface", "langchain-text-splitters")
WARM_UP = "2022年自治区政协召开了几次常委会会议？"  # not in the eval set
_SENTENCE_END = re.compile(r"(?<=[。！？；])")
_T0 = time.perf_counter()
ROLE = ["bench"]  # "bench:<kind>" inside a worker, whose clock starts with its own process


def log(message: str) -> None:
    """Progress on stderr, with the seconds since this process started measuring."""
    print(f"[{ROLE[0]} {time.perf_counter() - _T0:7.1f}s] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- measuring helpers


def peak_rss_mb() -> float:
    """This process's resident-set high-water mark (Linux reports kilobytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    """This process's resident set now."""
    import psutil

    return psutil.Process().memory_info().rss / 1048576


def percentiles(seconds: list[float]) -> dict:
    """p50 and p95 in milliseconds."""
    import numpy as np

    if not seconds:
        return {"p50_ms": None, "p95_ms": None, "n": 0}
    p50, p95 = np.percentile(np.asarray(seconds) * 1000, [50, 95])
    return {"p50_ms": round(float(p50), 2), "p95_ms": round(float(p95), 2), "n": len(seconds)}


def median_merge(records: list[dict]) -> dict:
    """One record from several runs: numbers become their median, other values come from the first run."""
    import statistics

    merged: dict = {}
    for key, first in records[0].items():
        values = [r.get(key) for r in records]
        if isinstance(first, dict):
            merged[key] = median_merge([v for v in values if isinstance(v, dict)])
        elif isinstance(first, (int, float)) and not isinstance(first, bool) and all(
            isinstance(v, (int, float)) for v in values
        ):
            merged[key] = round(statistics.median(values), 4)
        else:
            merged[key] = first
    return merged


def bench_settings(index_dir: Path, **overrides):
    """Settings for an index in the benchmark's scratch folder, answering extractively."""
    from rag.settings import Settings

    return Settings(index_dir=index_dir, uploads_dir=index_dir.parent / "uploads", backend="extractive", **overrides)


def load_questions(limit: int = 0) -> list[dict]:
    """The eval items over the sample corpus that stand alone, the first ``limit`` of them when ``limit`` > 0.

    The benchmark indexes the sample corpus and asks without a conversation, so items of another corpus
    and follow-ups (which need their history) are left out.
    """
    from eval.dataset import item_corpus, load_items

    items = [i for i in load_items(QUESTIONS) if item_corpus(i) == "sample" and not i.get("history")]
    return items[:limit] if limit else items


def hits_at(item: dict, texts: list[str], k: int = 5) -> bool:
    """Whether one of the top ``k`` passage texts holds the item's evidence."""
    from eval.dataset import contains_evidence

    return any(contains_evidence(item, t) for t in texts[:k])


# ---------------------------------------------------------------- corpora


def sample_sentences(folder: Path = SAMPLE) -> list[str]:
    """The cleaned sample corpus cut into sentences, in order."""
    from rag.documents.loaders import iter_files, load_document

    out: list[str] = []
    for path in iter_files([folder]):
        for paragraph in load_document(path).text.split("\n"):
            out.extend(s.strip() for s in _SENTENCE_END.split(paragraph) if len(s.strip()) >= 8)
    return out


def make_corpus(target: Path, docs: int, seed: int = SEED) -> Path:
    """Write ``docs`` .txt files of 3–30 sample sentences each, in paragraphs, chosen by a seeded RNG."""
    pool = sample_sentences()
    rng = random.Random(f"{seed}-{docs}")
    target.mkdir(parents=True, exist_ok=True)
    for i in range(docs):
        picked = rng.sample(pool, rng.randint(3, 30))
        paragraphs, at = [], 0
        while at < len(picked):
            size = rng.randint(2, 5)
            paragraphs.append("".join(picked[at : at + size]))
            at += size
        (target / f"doc-{i:05d}.txt").write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
    return target


class StandInEmbedder:
    """Random unit vectors at almost no cost: times everything in ingestion except the model (vectors are meaningless)."""

    def __init__(self, model_id: str, dim: int, origin: str, seed: int = SEED):
        import numpy as np

        # The origin of the model it stands in for, so questions take the same query path as on a real index.
        self.model_id, self.dim, self.origin = model_id, dim, origin
        self._rng = np.random.default_rng(seed)

    def embed_passages(self, texts: list[str]):
        """Unit random vectors, one per text."""
        import numpy as np

        v = self._rng.standard_normal((len(texts), self.dim), dtype=np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    def embed_query(self, text: str):
        """One unit random vector."""
        return self.embed_passages([text])[0]

