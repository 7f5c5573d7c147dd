"""The one ASGI app of ``rag serve``: the OpenAI-compatible chat API, the documents API, and the page at ``/``.

``/v1`` and ``/api`` answer JSON only (unknown routes too, as OpenAI-style errors); everything else is
the Gradio page, mounted with the same theme, limits and Host rules as ``rag ui``.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.routing import Match

from api import auth, chat, documents, errors
from api.errors import ApiError
from api.guard import ApiGuard
from api.runner import AnswerPool
from rag import __version__
from rag.settings import Settings, get_settings
from ui import hosts

TITLE = "rag 中文文档问答接口"
DESCRIPTION = (
    "OpenAI 兼容的问答接口（/v1/chat/completions、/v1/models）与文档管理接口（/api/documents）。"
    "回答保留 [n] 出处标记，另附 citations、abstained、backend 字段。设置了 RAG_API_KEY 时，"
    "每个接口都需要 Authorization: Bearer <密钥>。"
)
OPENAPI_PATH = "/api/openapi.json"
ANSWER_WORKERS = 4  # questions answered at once (as on the page); more wait their turn


def build_app(settings: Settings | None = None, *, host: str = "127.0.0.1", page: bool = True) -> FastAPI:
    """The app for a server bound to ``host``; ``page=False`` serves the API alone."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        app.state.answers.close()

    app = FastAPI(title=TITLE, description=DESCRIPTION, version=__version__, lifespan=lifespan,
                  openapi_url=None, docs_url=None, redoc_url=None)  # the schema is served under /api, behind the key
    app.state.settings = settings
    app.state.started = int(time.time())
    app.state.answers = AnswerPool(ANSWER_WORKERS)
    app.state.index_writes = asyncio.Lock()
    errors.install(app)
    app.include_router(chat.router)
    app.include_router(documents.router)
    _add_schema_route(app, auth.configured_key(settings.api_key) is not None)
    _add_catch_all(app, [r for router in (chat.router, documents.router) for r in router.routes])
    app.add_middleware(ApiGuard, allowed=hosts.allowed_hosts(host, settings.allowed_hosts),
                       key=auth.configured_key(settings.api_key), upload_mb=upload_limit_mb(settings))
    if page:
        mount_page(app, settings)
    return app


def upload_limit_mb(settings: Settings) -> float:
    """The most one upload request may carry: the page's limit."""
    from ui.app import UPLOAD_CAP_FACTOR

    return UPLOAD_CAP_FACTOR * settings.max_file_mb


def _add_schema_route(app: FastAPI, keyed: bool) -> None:
    @app.get(OPENAPI_PATH, include_in_schema=False)
    async def openapi_schema() -> JSONResponse:
        schema = app.openapi()
        return JSONResponse(auth.openapi_security(dict(schema)) if keyed else schema)


def _add_catch_all(app: FastAPI, routes: list) -> None:
    """Unknown routes under /v1 and /api get a JSON error (the page, mounted at /, would answer HTML)."""

    async def unknown(request: Request, rest: str = ""):
        path = request.url.path
        allowed = sorted({m for r in routes if isinstance(r, APIRoute)
                          and r.matches({"type": "http", "path": path, "method": "_"})[0] != Match.NONE
                          for m in r.methods or ()})
        if allowed:
            raise ApiError(405, f"{path[:100]} 不支持 {request.method} 请求；可用：{'、'.join(allowed)}。",
                           code="method_not_allowed", headers={"Allow": ", ".join(allowed)})
        raise ApiError(404, f"没有这个接口：{request.method} {path[:100]}。全部接口见 {OPENAPI_PATH}。",
                       code="not_found")

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    for prefix in ("/v1", "/api"):
        for path in (prefix, f"{prefix}/{{rest:path}}"):
            app.add_api_route(path, unknown, methods=methods, include_in_schema=False)


def mount_page(app: FastAPI, settings: Settings) -> None:
    """The chat page at ``/``, as ``rag ui`` serves it (theme, upload limit, its Chinese 413)."""
    import gradio as gr
    from starlette.middleware import Middleware

    from ui import limits, theme
    from ui.app import CHAT_CONCURRENCY, build_app as build_page

    cap = upload_limit_mb(settings)
    blocks = build_page(settings)
    blocks.queue(default_concurrency_limit=CHAT_CONCURRENCY)
    gr.mount_gradio_app(
        app, blocks, path="/", footer_links=[], show_error=False, ssr_mode=False,
        max_file_size=f"{cap:g}mb", theme=theme.make_theme(), css=theme.CSS, js=theme.JS,
        app_kwargs={"middleware": [Middleware(limits.TooLarge, limit_mb=cap)]},
    )
