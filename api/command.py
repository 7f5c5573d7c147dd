"""``rag serve``: the API and the page in one server (registered as a ``rag.commands`` entry point)."""

from __future__ import annotations

import argparse
import logging


HELP = "启动问答服务：OpenAI 兼容接口、文档接口和网页（同一个端口）"
RAW = False
DEFAULT_PORT = 8000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="监听地址（默认只在本机 127.0.0.1）")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"端口（默认 {DEFAULT_PORT}）")
    parser.add_argument("--no-page", action="store_true", help="只提供接口，不提供网页")


def run(args: argparse.Namespace) -> int:
    import uvicorn  # the server, gradio and the models are heavy: loaded only when asked for

    from api.app import build_app
    from rag.llm.redact import install_log_filter
    from rag.settings import get_settings
    from ui import actions, hosts

    install_log_filter()
    settings = get_settings()
    check_port_free(args.host, args.port)  # before the index is built: a taken port is known at once
    for line in exposure_notes(args.host, settings.allowed_hosts, settings.api_key):
        print(line, flush=True)
    actions.prepare_index(settings)
    app = build_app(settings, host=args.host, page=not args.no_page)
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning", server_header=False,
                            proxy_headers=False, timeout_graceful_shutdown=5)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # uvicorn's own handlers mask secrets too
        install_log_filter(logging.getLogger(name))
    shown = f"[{args.host}]" if ":" in args.host else args.host
    base = f"http://{'127.0.0.1' if hosts.host_name(args.host) in hosts.ANY_ADDRESS else shown}:{args.port}"
    page = "" if args.no_page else f"网页 {base}/ ，"
    print(f"问答服务已启动：{page}OpenAI 兼容接口 {base}/v1 ，文档接口 {base}/api/documents 。Ctrl+C 停止。", flush=True)
    uvicorn.Server(config).run()
    return 0


def exposure_notes(host: str, allowed: str, key) -> list[str]:
    """What to tell someone who opens the server to other machines."""
    from api.auth import configured_key
    from ui import hosts

    name = hosts.host_name(host)
    every = name in hosts.ANY_ADDRESS
    notes = []
    if every and not allowed.strip():
        notes.append(f"注意：服务监听 {host}，其他机器可以连接，但只有 localhost / 127.0.0.1 的访问会被接受。"
                     "要让别的机器通过某个名字或地址访问，请设置 RAG_ALLOWED_HOSTS（逗号分隔，例如 192.168.1.20,rag.lan）。")
    if (every or name not in hosts.LOOPBACK) and configured_key(key) is None:
        notes.append("注意：没有设置 RAG_API_KEY，能连上这台机器的人都可以调用接口、上传和删除文档；"
                     "请设置 RAG_API_KEY=<足够长的随机字符串> 后重新启动。")
    return notes


def check_port_free(host: str, port: int) -> None:
    """Refuse, in one line naming ``--port``, a port another program already listens on (as the page does)."""
    from ui import hosts

    hosts.check_port_free(host, port, "rag serve --port {port}")  # the page's check, naming this command
