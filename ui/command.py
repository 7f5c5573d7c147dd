"""``rag ui``: the chat page as a command of ``rag`` (registered as a ``rag.commands`` entry point)."""

from __future__ import annotations

import argparse

HELP = "启动网页聊天界面"
RAW = False


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="监听地址（默认只在本机 127.0.0.1）")
    parser.add_argument("--port", type=int, default=7860)


STARTING = "正在启动聊天页面…"


def run(args: argparse.Namespace) -> int:
    print(STARTING, flush=True)  # said before the heavy imports: the first start never sits silent
    from ui.app import launch  # gradio is heavy: imported only when the page is asked for

    launch(host=args.host, port=args.port)
    return 0
