"""Side-by-side figures for the benchmark: a cold `rag ask` against importing sentence-transformers (the raw fp32
encode rate ingestion is held against is ``bench.engines.raw_encode_rate``)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time


def timed_process(argv: list[str], env: dict) -> tuple[float, float]:
    """Wall seconds and peak memory (MB) of one child process, measured for that child alone."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])} failed ({proc.returncode}):\n{err[-3000:]}")
    return seconds, usage.ru_maxrss / 1024


def cold_cli(index_dir: str, question: str, repeats: int, env: dict, log) -> dict:
    """`rag ask` on the sample index and `python -c "import sentence_transformers"`, alternating, medians."""
    env = dict(env, RAG_INDEX_DIR=index_dir, RAG_BACKEND="extractive")
    ask = [sys.executable, "-m", "rag.cli", "ask", question]
    st = [sys.executable, "-c", "import sentence_transformers"]
    asks, imports = [], []
    for _ in range(repeats):
        asks.append(timed_process(ask, env))
        imports.append(timed_process(st, env))
    out = {"ask_s": statistics.median(s for s, _ in asks), "ask_peak_mb": statistics.median(m for _, m in asks),
           "import_st_s": statistics.median(s for s, _ in imports),
           "import_st_peak_mb": statistics.median(m for _, m in imports), "repeats": repeats}
    out["ratio"] = out["ask_s"] / out["import_st_s"]
    log(f"cold rag ask {out['ask_s']:.2f} s / import sentence_transformers {out['import_st_s']:.2f} s")
    return out


def cold_md(c: dict) -> str:
    """The cold `rag ask` row pair as Markdown."""
    rows = [
        f"| `rag ask`（示例索引，抽取式） | {c['ask_s']:.2f} | {c['ask_peak_mb']:,.0f} |",
        f"| `python -c \"import sentence_transformers\"` | {c['import_st_s']:.2f} | {c['import_st_peak_mb']:,.0f} |",
        f"| 比值 | {c['ratio']:.2f} | |",
    ]
    header = f"| 新进程（{c['repeats']} 次交替，中位数） | 用时 s | 峰值内存 MB |\n| --- | ---: | ---: |"
    return header + "\n" + "\n".join(rows)
