"""Benchmark ingestion, query latency, vector search at scale and a LangChain baseline; write the results.

    python -m bench [--quick] [--runs N] [--sizes 1000,10000] [--vectors 100000,1000000] [--write-docs]

``python bench/bench.py`` takes the same options.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from bench.common import ROOT
from bench.report import render_markdown, write_outputs
from bench.runner import make_plan, run_benchmark
from bench.workers import worker_main


def main(argv: list[str] | None = None) -> int:
    """Command line: run the benchmark (or, internally, one worker)."""
    prog = "python -m bench" if sys.argv[0].endswith("__main__.py") else None  # else the script's name
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one run (a smoke test)")
    parser.add_argument("--runs", type=int, help="runs to take medians over (default 3)")
    parser.add_argument("--sizes", help="synthetic corpus sizes in documents, e.g. 1000,10000")
    parser.add_argument("--vectors", help="vector counts for the search-scale test, e.g. 100000,1000000")
    parser.add_argument("--real-vectors", type=int, help="generated chunks to embed for the search-scale test")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "bench", help="where results.json/.md go")
    parser.add_argument("--write-docs", action="store_true", help="also replace the bench block of docs/performance.md")
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
    write_outputs(results, args.out_dir, args.write_docs)
    print(render_markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
