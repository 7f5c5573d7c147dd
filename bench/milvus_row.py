"""Compatibility figures for the Milvus store on embedded Milvus Lite beside the FAISS store, at one corpus size.

    python bench/milvus_row.py [--docs 5800] [--questions 100]     # or: python -m bench.milvus_row

Both stores ingest the same synthetic corpus (``bench.common.make_corpus``) with the stand-in embedder
(random unit vectors: everything but the model is timed), then answer the eval questions'
retrieval (dense + BM25, fused) with the stand-in's query vectors. Milvus Lite runs its search
loops in Python, so these are compatibility figures, not what a Milvus server does.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __name__ == "__main__":  # run as a script: the checkout, not this folder (where `bench` is bench.py), on sys.path
    HERE = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
    sys.path.insert(0, str(HERE.parent))

from bench.common import StandInEmbedder, bench_settings, load_questions, make_corpus  # noqa: E402


def measure(store: str, folder: Path, scratch: Path, questions: list[str]) -> dict:
    from rag.index.ingestion import ingest
    from rag.retrieval.hybrid import get_retriever

    embedder = StandInEmbedder("stand-in/random", 384, "stand-in")
    settings = bench_settings(scratch / store, vector_store=store, embedding_model=embedder.model_id)
    t0 = time.perf_counter()
    report = ingest([folder], settings=settings, embedder=embedder)
    seconds = time.perf_counter() - t0
    retriever = get_retriever(settings, embedder)
    retriever.search(questions[0])  # first search pays one-off costs (loading, tokenizer)
    times = []
    for q in questions:
        t = time.perf_counter()
        retriever.search(q)
        times.append(time.perf_counter() - t)
    times.sort()
    return {"store": store, "chunks": report.total_chunks, "ingest_s": round(seconds, 1),
            "chunks_per_s": round(report.total_chunks / seconds, 1),
            "query_p50_ms": round(statistics.median(times) * 1000, 1),
            "query_p95_ms": round(times[int(len(times) * 0.95) - 1] * 1000, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=5800, help="synthetic documents (about 3.4 chunks each)")
    parser.add_argument("--questions", type=int, default=100)
    args = parser.parse_args(argv)
    questions = [item["question"] for item in load_questions(args.questions)]
    with tempfile.TemporaryDirectory(prefix="rag-bench-milvus-") as tmp:
        scratch = Path(tmp)
        folder = make_corpus(scratch / "corpus", args.docs)
        rows = [measure(store, folder, scratch, questions) for store in ("faiss", "milvus")]
    print(json.dumps(rows, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
