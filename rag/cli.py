"""The ``rag`` command: a thin layer over the library (ingest, index, ask), plus the commands other packages add."""

from __future__ import annotations

import argparse
import errno
import dataclasses
import json
import sys
import time
from pathlib import Path

from rag.errors import RagError


class _ProgressBar:
    """A tqdm bar over the chunks to embed, drawn on the first update (an early error prints only itself)."""

    def __init__(self):
        self.bar = None

    def __call__(self, fraction: float, message: str) -> None:
        if self.bar is None:
            from tqdm import tqdm

            # thousandths of the work: tqdm's rate gives the time estimate
            self.bar = tqdm(total=1000, bar_format="{percentage:3.0f}%|{bar}| {postfix} [{elapsed}<{remaining}]",
                            file=sys.stderr)
        self.bar.n = round(fraction * 1000)
        self.bar.set_postfix_str(message[:50], refresh=False)
        self.bar.refresh()

    def close(self, finished: bool = False) -> None:
        if self.bar is not None:
            if finished:  # the last step (saving) reports below 100%: the bar ends full
                self(1.0, "完成")
            self.bar.close()
            self.bar = None


def cmd_ingest(args: argparse.Namespace) -> int:
    from rag.index.ingestion import ingest

    missing = [p for p in args.paths if not Path(p).exists()]
    for p in missing:
        print(f"跳过：{p}（不存在）", file=sys.stderr)
    paths = [Path(p) for p in args.paths if Path(p).exists()]
    if not paths:
        print("没有可导入的文件：给出的路径都不存在。请写出要导入的文件或目录，例如 `rag ingest data/sample`。",
              file=sys.stderr)
        return 1
    bar = _ProgressBar()
    try:
        report = ingest(paths, rebuild=args.rebuild, progress=bar)
        bar.close(finished=True)
    except KeyboardInterrupt:
        bar.close()
        print("已中断：索引保持导入前的样子，没有写入任何改动。", file=sys.stderr)
        return 130
    finally:
        bar.close()
    docs = len(report.added) + len(report.updated) + len(report.unchanged)
    print(
        f"文档 {docs} 篇（新增 {len(report.added)}，更新 {len(report.updated)}，未变 {len(report.unchanged)}，"
        f"移除 {len(report.removed)}），本次嵌入 {report.chunks} 个文本块，索引共 {report.total_chunks} 个，"
        f"用时 {report.seconds:.1f} 秒"
    )
    if report.refreshed:
        print(f"其中 {len(report.refreshed)} 篇内容未变、由旧版本的文本处理生成，已按新版重新清理、分块和嵌入。")
    if report.stale:
        names = "、".join(report.stale[:3]) + ("等" if len(report.stale) > 3 else "")
        print(f"提示：索引里还有 {len(report.stale)} 篇文档（{names}）由旧版本的文本处理生成，本次没有给出它们的文件，"
              "保持原样；用 `rag ingest` 再次导入它们原来的文件或目录即可按新版重新处理。", file=sys.stderr)
    for name, reason in report.skipped:
        print(f"跳过：{name}（{reason}）", file=sys.stderr)
    return 0 if docs or not report.skipped else 1


def cmd_index_info(args: argparse.Namespace) -> int:
    from rag.index.ingestion import list_documents
    from rag.index.manifest import PIPELINE_VERSION

    store, manifest = _verified_store()
    if manifest is None:
        return 1
    docs = list_documents(store.settings)
    print(f"{store.where()}（校验完好）")
    print(f"嵌入模型：{manifest.model_id}（{manifest.dim} 维，来源 {manifest.origin or '未知'}）")
    print(f"分块：{manifest.chunk_size} 字，重叠 {manifest.chunk_overlap}；索引类型：{manifest.index_type}")
    stale = sum(d.stale for d in docs)
    print(f"文本处理版本：{manifest.pipeline_version}（当前 {PIPELINE_VERSION}）" + (
        f"；{stale} 篇文档由旧版本生成，再次 `rag ingest` 它们的文件或目录即可按新版重新处理" if stale else ""))
    print(f"更新时间：{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(manifest.updated_at))}")
    print(f"文档 {len(docs)} 篇，文本块 {sum(d.chunks for d in docs)} 个：")
    for d in docs:
        print(f"  {d.source}  {d.chunks} 块  {d.chars} 字  sha256 {d.sha256[:12]}{'  （旧版本生成）' if d.stale else ''}")
    return 0


def _verified_store():
    """The configured store and its manifest once a full check passed; None (said on stdout) when there is no index."""
    from rag.index.stores import open_store

    store = open_store()
    manifest, problems = store.verify()
    if problems:
        raise store.damaged(problems)
    if manifest is None:
        print(f"还没有索引（{store.where()}）。运行 `rag ingest 文件或目录` 建立索引。")
    return store, manifest


def cmd_index_check(args: argparse.Namespace) -> int:
    store, manifest = _verified_store()
    if manifest is None:
        return 1
    print(store.check_line())
    return 0


def cmd_index_rollback(args: argparse.Namespace) -> int:
    from rag.index.stores import open_store

    print(open_store().rollback())
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from rag.answering.pipeline import answer

    from rag.question.analysis import validate
    from rag.settings import get_settings

    _check_utf8(args.question)
    validate(args.question, get_settings().max_question_chars)  # an empty question is said before any index work
    _ensure_index()
    result = answer(args.question, backend=args.backend, top_k=args.top_k)
    if args.json:
        print(json.dumps(dataclasses.asdict(result), ensure_ascii=False, indent=2))
        return 0
    print(result.text)
    print(f"\n（回答：{result.backend}；检索 {result.timings.get('retrieval', 0):.2f} 秒，"
          f"生成 {result.timings.get('generation', 0):.2f} 秒）")
    _print_citations(result)
    _note_skipped_server(result, args.backend)
    return 0


def _ensure_index() -> None:
    """The first question without an index builds one from the sample documents: said first, with a progress bar.
    An index made by an older text pipeline is refreshed (the sample corpus) or named with its fix, on stderr."""
    from rag.index.ingestion import ensure_index
    from rag.index.stores import open_store
    from rag.settings import get_settings

    settings = get_settings()
    if not open_store(settings).holds_index():
        print(f"还没有索引：先用示例文档（{settings.corpus_dir}）建立，首次约需半分钟；"
              "自己的文档请用 `rag ingest 文件或目录` 导入。", file=sys.stderr, flush=True)
    bar = _ProgressBar()
    try:
        ensure_index(settings, progress=bar, notify=lambda line: print(line, file=sys.stderr, flush=True))
        bar.close(finished=True)
    finally:
        bar.close()


def _check_utf8(question: str) -> None:
    try:
        question.encode("utf-8")
    except UnicodeEncodeError:  # argv bytes that were not UTF-8 arrive as lone surrogates
        raise RagError("问题里有不是 UTF-8 编码的字节；请把终端设为 UTF-8 编码后重新输入问题。") from None


def _print_citations(result) -> None:
    if result.citations:
        print("\n出处：")
        for c in result.citations:
            print(f"  [{c.index}] {c.source} 字符 {c.start}-{c.end}")
            print(f"      “{c.quote or c.text[:120]}”")


def _note_skipped_server(result, requested: str | None) -> bool:
    """On stderr: ``auto`` answered without the configured OpenAI-compatible server (True when said)."""
    from rag.llm.openai import skipped_server_note
    from rag.settings import get_settings

    note = skipped_server_note(get_settings(), requested, result.backend, result.flags)
    if note:
        print(f"提示：{note}请检查 RAG_OPENAI_BASE_URL 和该服务；加 --backend openai 提问可看到具体原因。",
              file=sys.stderr)
    return bool(note)


CHAT_HELP = "输入问题后按回车；可以接着追问（例如“那2023年呢？”）。/new 开始新对话，/quit 或 Ctrl-D 退出。"
NEW_CHAT, QUIT = {"/new", "/reset", "新对话"}, {"/quit", "/exit", "exit", "quit", "退出"}


def cmd_chat(args: argparse.Namespace) -> int:
    """A conversation in the terminal: each question goes to the library with the turns before it."""
    from rag.answering.pipeline import warm_up
    from rag.index.ingestion import list_documents
    from rag.settings import get_settings

    settings = get_settings()
    tty = sys.stdin.isatty()
    _ensure_index()
    if tty:
        try:
            import readline  # noqa: F401  (line editing and ↑ for earlier questions)
        except ImportError:
            pass
        print("正在加载索引和模型…", file=sys.stderr, flush=True)
    warm_up(settings)  # an index that is missing or damaged is one line naming the fix, before any question
    docs = list_documents(settings)
    print(f"知识库：{len(docs)} 篇文档，{sum(d.chunks for d in docs)} 个文本块。{CHAT_HELP}")
    history: list[dict] = []
    noted = False
    while True:
        try:
            question = input("问> " if tty else "").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not question:
            continue
        if question.lower() in QUIT:
            return 0
        if question.lower() in NEW_CHAT:
            history = []
            print("（已开始新对话）")
            continue
        try:
            result = _chat_turn(question, history, args)
        except KeyboardInterrupt:
            print("\n（已停止）")
            continue
        except RagError as exc:  # one line naming the fix; the conversation goes on
            print(f"错误：{_one_line(exc)}", file=sys.stderr)
            continue
        if not noted:  # once per conversation, as the page does
            noted = _note_skipped_server(result, args.backend)
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": result.text}]


def _chat_turn(question: str, history: list[dict], args: argparse.Namespace):
    """Stream one answer to the terminal, then the verified answer (when checking changed it) and its sources."""
    from rag.answering.pipeline import stream_answer
    from rag.types import Answer

    _check_utf8(question)
    streamed, result = "", None
    for piece in stream_answer(question, history, backend=args.backend, top_k=args.top_k):
        if isinstance(piece, Answer):
            result = piece
            break
        streamed += piece
        print(piece, end="", flush=True)
    if result is None:
        raise RagError("没有得到回答，请再问一次。")
    if streamed:
        print()
    understood = result.standalone_question.strip()
    if understood and understood != question:  # a follow-up, rewritten with the turns before it
        print(f"（理解为：{understood}）")
    if streamed.strip() != result.text.strip():  # nothing streamed (extractive), or checking changed it
        print(("核对原文后的回答：\n" if streamed else "") + result.text)
    _print_citations(result)
    print(f"（{result.backend}；检索 {result.timings.get('retrieval', 0):.2f} 秒，"
          f"生成 {result.timings.get('generation', 0):.2f} 秒）\n")
    return result


def plugin_commands() -> dict:
    """Commands other packages add (the page's ``ui``, the eval's ``eval``), by name: ``rag.commands`` entry points."""
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group="rag.commands")}


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="rag", description="离线中文文档问答：导入文档、提问、带出处的回答。")
    parser.add_argument("--debug", action="store_true", help="出错时显示完整的调用栈（可放在命令行任意位置）")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="导入文件或目录（.txt .md .pdf .docx .html）到索引")
    p.add_argument("paths", nargs="+", help="文件或目录")
    p.add_argument("--rebuild", action="store_true", help="丢弃现有索引，全部重建")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("index", help="查看、校验、回退索引")
    isub = p.add_subparsers(dest="index_command", required=True)
    isub.add_parser("info", help="索引里有什么（先校验）").set_defaults(func=cmd_index_info)
    isub.add_parser("check", help="按写入时记录的大小和 sha256 校验当前索引的每个文件").set_defaults(func=cmd_index_check)
    isub.add_parser("rollback", help="校验上一代索引并把它换回为当前索引").set_defaults(func=cmd_index_rollback)

    from rag.llm import BACKEND_NAMES

    p = sub.add_parser("ask", help="提一个问题（连续对话、追问请用 rag chat）")
    p.add_argument("question")
    p.add_argument("--backend", choices=BACKEND_NAMES, default=None, help="回答后端（默认取设置，auto）")
    p.add_argument("--top-k", type=_positive_int, default=None, help="引用的段落数（正整数）")
    p.add_argument("--json", action="store_true", help="以 JSON 输出完整的 Answer")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("chat", help="在终端里连续对话：可以追问，和网页一样结合前面的问答理解问题")
    p.add_argument("--backend", choices=BACKEND_NAMES, default=None, help="回答后端（默认取设置，auto）")
    p.add_argument("--top-k", type=_positive_int, default=None, help="引用的段落数（正整数）")
    p.set_defaults(func=cmd_chat)

    for name, entry in plugin_commands().items():
        command = entry.load()
        # a raw command is listed for --help; its arguments go to it untouched (see main)
        p = sub.add_parser(name, help=command.HELP, add_help=not command.RAW)
        if not command.RAW:
            command.add_arguments(p)
            p.set_defaults(func=command.run)
    return parser


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one Chinese line naming the fix (subcommands inherit it)."""

    def error(self, message: str):
        print(f"错误：命令参数有误（{message}）；运行 `{self.prog} --help` 查看用法。", file=sys.stderr)
        sys.exit(2)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"--top-k 应为正整数（收到 {text!r}），例如 --top-k 5")
    return value


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    from rag.llm.redact import install_log_filter

    install_log_filter()  # no secret (RAG_OPENAI_API_KEY, RAG_MILVUS_TOKEN) in any log line
    try:
        plugin = plugin_commands().get(argv[0]) if argv else None
        if plugin is not None and plugin.load().RAW:
            return plugin.load().run(argv[1:])
        args = build_parser().parse_args(argv)
        code = args.func(args)
        sys.stdout.flush()  # here, not at exit, so a closed pipe is reported like any other error
        return code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return _broken_pipe()
    except Exception as exc:
        if debug:
            raise
        print(f"错误：{_one_line(exc)}", file=sys.stderr)
        return 2 if isinstance(exc, RagError) else 1


def _one_line(exc: Exception) -> str:
    from rag.settings import settings_error

    if isinstance(exc, RagError):
        return " ".join(str(exc).split())
    friendly = settings_error(exc)
    if friendly is not None:
        return friendly
    if isinstance(exc, PermissionError):
        return f"没有权限访问 {exc.filename or ''}；请检查该路径的权限或换一个位置（加 --debug 查看详情）。"
    if isinstance(exc, OSError) and (exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT) or
                                      "requested and" in str(exc)):
        # a full disk or a file-size limit (numpy reports a short write as "N requested and M written")
        return "磁盘空间不足或超过了文件大小限制，索引保持写入前的样子；请清理磁盘空间或放宽限制后重试。"
    if isinstance(exc, OSError):
        return f"文件操作失败：{exc.strerror or exc}（{exc.filename or ''}）；请检查路径（加 --debug 查看详情）。"
    return f"意外错误 {type(exc).__name__}: {' '.join(str(exc).split())[:200]}（加 --debug 查看详情）。"


def _broken_pipe() -> int:
    import os

    # The reader (e.g. `| head`) stopped reading: say so once, and keep Python's exit-time flush quiet.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    print("提示：输出管道已被关闭（例如接了 `| head`），其余输出未显示。", file=sys.stderr)
    return 141


if __name__ == "__main__":
    sys.exit(main())
