"""An upload over the page's size cap is refused in Chinese, saying the limit and how to raise it (not Gradio's English 413)."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def too_large(limit_mb: float) -> str:
    """What a refused upload says."""
    return (f"文件太大：网页一次上传的文件不能超过 {limit_mb:g} MB（单个文件导入上限的 4 倍以内）。"
            "请拆分文件，或在启动前把 RAG_MAX_FILE_MB 设大一些。")


class TooLarge:
    """ASGI middleware: a 413 from the app is answered with a Chinese JSON error naming the limit and the fix."""

    def __init__(self, app: ASGIApp, limit_mb: float) -> None:
        self.app = app
        self.body = json.dumps({"error": too_large(limit_mb), "detail": too_large(limit_mb)},
                               ensure_ascii=False).encode("utf-8")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        replaced = False

        async def rewrite(message: Message) -> None:
            nonlocal replaced
            if message["type"] == "http.response.start" and message["status"] == 413:
                replaced = True
                headers = [(b"content-type", b"application/json; charset=utf-8"),
                           (b"content-length", str(len(self.body)).encode())]
                await send({"type": "http.response.start", "status": 413, "headers": headers})
                await send({"type": "http.response.body", "body": self.body, "more_body": False})
                return
            if replaced:
                return  # the app's own (English) body is dropped
            await send(message)

        await self.app(scope, receive, rewrite)
