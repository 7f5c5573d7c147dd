"""The ``rag`` command: a thin layer over the library (ingest, index info, ask, ui, eval)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

from .errors import RagError


def _progress_bar():
    from tqdm import tqdm

    bar = tqdm(total=100, unit="%", bar_format="{l_bar}{bar}| {n:.0f}% {postfix}", file=sys.stderr)

    def update(fraction: float, message: str) -> None:
        bar.n = round(fraction * 100)
        bar.set_postfix_str(message[:40])
        bar.refresh()

    return bar, update


def cmd_ingest(args: argparse.Namespace) -> int:
    from .indexing import ingest

    missing = [p for p in args.paths if not Path(p).exists()]
    for p in missing:
        print(f"跳过：{p}（不存在）", file=sys.stderr)
    paths = [Path(p) for p in args.paths if Path(p).exists()]
    if not paths:
        print("没有可导入的文件。", file=sys.stderr)
        return 1
    bar, update = _progress_bar()
    try:
        report = ingest(paths, rebuild=args.rebuild, progress=update)
    finally:
        bar.close()
    docs = len(report.added) + len(report.updated) + len(report.unchanged)
    print(
        f"文档 {docs} 篇（新增 {len(report.added)}，更新 {len(report.updated)}，未变 {len(report.unchanged)}，"
        f"移除 {len(report.removed)}），本次嵌入 {report.chunks} 个文本块，索引共 {report.total_chunks} 个，"
        f"用时 {report.seconds:.1f} 秒"
    )
    for name, reason in report.skipped:
        print(f"跳过：{name}（{reason}）", file=sys.stderr)
    return 0 if docs or not report.skipped else 1


def cmd_index_info(args: argparse.Namespace) -> int:
    from . import store
    from .indexing import list_documents
    from .settings import get_settings

    settings = get_settings()
    manifest = store.read_manifest(settings.index_dir)
    if manifest is None:
        print(f"还没有索引（{settings.index_dir}）。运行 `rag ingest 文件或目录` 建立索引。")
        return 1
    docs = list_documents(settings)
    print(f"索引目录：{settings.index_dir}")
    print(f"嵌入模型：{manifest.model_id}（{manifest.dim} 维，来源 {manifest.origin or '未知'}）")
    print(f"分块：{manifest.chunk_size} 字，重叠 {manifest.chunk_overlap}；索引类型：{manifest.index_type}")
    print(f"更新时间：{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(manifest.updated_at))}")
    print(f"文档 {len(docs)} 篇，文本块 {sum(d.chunks for d in docs)} 个：")
    for d in docs:
        print(f"  {d.source}  {d.chunks} 块  {d.chars} 字  sha256 {d.sha256[:12]}")
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from .answering import answer

    result = answer(args.question, backend=args.backend, top_k=args.top_k)
    if args.json:
        print(json.dumps(dataclasses.asdict(result), ensure_ascii=False, indent=2))
        return 0
    print(result.text)
    print(f"\n（回答：{result.backend}；检索 {result.timings.get('retrieval', 0):.2f} 秒，"
          f"生成 {result.timings.get('generation', 0):.2f} 秒）")
    if result.citations:
        print("\n出处：")
        for c in result.citations:
            print(f"  [{c.index}] {c.source} 字符 {c.start}-{c.end}")
            print(f"      “{c.quote or c.text[:120]}”")
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    from ui.app import launch

    launch(host=args.host, port=args.port)
    return 0


def cmd_eval(argv: list[str]) -> int:
    from eval.run import main as eval_main

    return eval_main(argv)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rag", description="离线中文文档问答：导入文档、提问、带出处的回答。")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="导入文件或目录（.txt .md .pdf .docx）到索引")
    p.add_argument("paths", nargs="+", help="文件或目录")
    p.add_argument("--rebuild", action="store_true", help="丢弃现有索引，全部重建")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("index", help="查看索引")
    isub = p.add_subparsers(dest="index_command", required=True)
    isub.add_parser("info", help="索引里有什么").set_defaults(func=cmd_index_info)

    from .llm import BACKEND_NAMES

    p = sub.add_parser("ask", help="提问")
    p.add_argument("question")
    p.add_argument("--backend", choices=BACKEND_NAMES, default=None, help="回答后端（默认取设置，auto）")
    p.add_argument("--top-k", type=int, default=None)
    p.add_argument("--json", action="store_true", help="以 JSON 输出完整的 Answer")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("ui", help="启动网页聊天界面")
    p.add_argument("--host", default="127.0.0.1", help="监听地址（默认只在本机 127.0.0.1）")
    p.add_argument("--port", type=int, default=7860)
    p.set_defaults(func=cmd_ui)

    # listed for --help; its arguments go to the eval runner untouched (see main)
    sub.add_parser("eval", help="在评测集上衡量回答质量（参数同 python -m eval）", add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["eval"]:
        return cmd_eval(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except RagError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
