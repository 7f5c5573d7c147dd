"""``python -m api.bench``: what the API costs on top of ``answer()``, and how it holds 20 clients at once.

In one run, on an index of the sample corpus built for it:

1. ``rag serve`` starts in a subprocess (page mounted, ``RAG_API_KEY`` set: the server as deployed);
2. overhead: every question is asked through ``POST /v1/chat/completions`` (``rag-extractive``, not
   streamed, then streamed to ``[DONE]``) and through ``answer(backend="extractive")`` in this process,
   interleaved, ``--rounds`` times; p50 of each and the difference of the p50s;
3. load: ``--clients`` clients each ask question after question for ``--seconds`` seconds; every
   request must be answered (200 with a non-empty answer); p50, p95, max and answers per second.

The client and the server share the machine's cores; the load figures include that.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUESTIONS = (
    "2024年形成了多少份协商报告？",
    "2023年自治区政协微信公众号累计推送稿件多少条？",
    "2024年自治区政协有多少件重点督办提案？",
    "特邀调解员参与调解了多少件案件？",
    "2023年自治区政协微信公众号阅读量是多少？",
    "自治区政协党组书记、主席是谁？",
    "2024年自治区政协在协商议政方面做了哪些工作？",
    "商都县政协主席是谁？",
    "2024年自治区政协一共收到多少件提案？",
    "2025年形成了多少份协商报告？",
)
KEY = "bench-" + os.urandom(8).hex()
STARTUP_SECONDS = 300


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def build_index(base: Path):
    """Settings for a fresh index of the sample corpus in ``base`` (extractive answers, no model server)."""
    from rag.index.ingestion import ingest
    from rag.settings import Settings, project_root

    settings = Settings(index_dir=base / "vectorstore", uploads_dir=base / "uploads", backend="extractive",
                        ollama_host=f"http://127.0.0.1:{_free_port()}")
    ingest([project_root() / "data" / "sample"], settings=settings)
    return settings


def start_server(settings, base: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", "RAG_API_KEY": KEY,
           "RAG_INDEX_DIR": str(settings.index_dir), "RAG_UPLOADS_DIR": str(settings.uploads_dir),
           "RAG_OLLAMA_HOST": settings.ollama_host}
    log = open(base / "serve.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--port", str(port)], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"rag serve exited with {proc.returncode}:\n{(base / 'serve.log').read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("rag serve did not start in time")


def _body(question: str, stream: bool = False) -> dict:
    return {"model": "rag-extractive", "messages": [{"role": "user", "content": question}], "stream": stream}


def overhead(url: str, settings, rounds: int) -> dict:
    """p50 of the same questions through the API (whole, streamed) and through ``answer()`` here."""
    import httpx

    from rag import answer

    headers = {"Authorization": f"Bearer {KEY}"}
    api, streamed, local = [], [], []
    with httpx.Client(base_url=url, headers=headers, timeout=120, trust_env=False) as client:
        def via_api(q: str) -> None:
            t = time.perf_counter()
            r = client.post("/v1/chat/completions", json=_body(q))
            api.append(time.perf_counter() - t)
            assert r.status_code == 200 and r.json()["choices"][0]["message"]["content"], r.text

        def via_stream(q: str) -> None:
            t = time.perf_counter()
            with client.stream("POST", "/v1/chat/completions", json=_body(q, stream=True)) as r:
                lines = list(r.iter_lines())
            streamed.append(time.perf_counter() - t)
            assert r.status_code == 200 and [line for line in lines if line][-1] == "data: [DONE]", lines[-3:]

        def in_process(q: str) -> None:
            t = time.perf_counter()
            a = answer(q, backend="extractive", settings=settings)
            local.append(time.perf_counter() - t)
            assert a.text

        for q in QUESTIONS:  # warm-up: models loaded and every question embedded once on both sides
            via_api(q)
            in_process(q)
        api.clear()
        local.clear()
        for r in range(rounds):
            order = (via_api, via_stream, in_process) if r % 2 == 0 else (in_process, via_stream, via_api)
            for q in QUESTIONS:
                for step in order:
                    step(q)
    p50 = {name: statistics.median(v) for name, v in (("api", api), ("stream", streamed), ("answer", local))}
    return {"requests": len(api), "answer_p50_ms": _ms(p50["answer"]), "api_p50_ms": _ms(p50["api"]),
            "stream_p50_ms": _ms(p50["stream"]), "overhead_p50_ms": _ms(p50["api"] - p50["answer"]),
            "stream_overhead_p50_ms": _ms(p50["stream"] - p50["answer"])}


async def _load(url: str, clients: int, seconds: float) -> dict:
    import httpx

    latencies: list[float] = []
    failures: list[str] = []
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {KEY}"}, timeout=120,
                                 limits=limits, trust_env=False) as client:
        async def one_client(n: int) -> None:
            i = n
            while time.monotonic() < deadline:
                t = time.perf_counter()
                try:
                    r = await client.post("/v1/chat/completions", json=_body(QUESTIONS[i % len(QUESTIONS)]))
                    ok = r.status_code == 200 and bool(r.json()["choices"][0]["message"]["content"])
                    if not ok:
                        failures.append(f"{r.status_code} {r.text[:200]}")
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))
                latencies.append(time.perf_counter() - t)
                i += 1

        started = time.monotonic()
        await asyncio.gather(*(one_client(n) for n in range(clients)))
        elapsed = time.monotonic() - started
    return {"clients": clients, "seconds": round(elapsed, 1), "requests": len(latencies),
            "answered": len(latencies) - len(failures), "failures": failures[:5],
            "per_second": round(len(latencies) / elapsed, 1), "p50_ms": _ms(_pct(latencies, 0.5)),
            "p95_ms": _ms(_pct(latencies, 0.95)), "max_ms": _ms(max(latencies))}


def machine() -> dict:
    return {"cpus": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()],
            "python": sys.version.split()[0]}


def report(result: dict) -> str:
    o, l = result["overhead"], result["load"]
    return "\n".join([
        "| | p50 ms |", "|---|---:|",
        f"| `answer(backend=\"extractive\")` in-process | {o['answer_p50_ms']} |",
        f"| `POST /v1/chat/completions` (rag-extractive) | {o['api_p50_ms']} |",
        f"| same, `stream: true`, to `[DONE]` | {o['stream_p50_ms']} |",
        f"| **API overhead** (whole / streamed) | **{o['overhead_p50_ms']}** / {o['stream_overhead_p50_ms']} |",
        "",
        f"{l['clients']} clients for {l['seconds']} s: {l['answered']}/{l['requests']} answered, "
        f"{l['per_second']} answers/s, p50 {l['p50_ms']} ms, p95 {l['p95_ms']} ms, max {l['max_ms']} ms",
        f"(machine: {result['machine']['cpus']} CPUs, load average at start {result['machine']['load_average']}; "
        f"{o['requests']} requests per path for the overhead)",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="times each question is asked per path (default 5)")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory(prefix="rag-api-bench-") as tmp:
        base = Path(tmp)
        settings = build_index(base)
        result = {"machine": machine()}
        proc, url = start_server(settings, base)
        try:
            result["overhead"] = overhead(url, settings, args.rounds)
            result["load"] = asyncio.run(_load(url, args.clients, args.seconds))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 0 if result["load"]["answered"] == result["load"]["requests"] else 1


if __name__ == "__main__":
    sys.exit(main())
