"""The door of the API (``/v1``, ``/api``): host and origin, the key, and the size of the request body.

Checked in this order, before any route reads the body: a request for a host name not allowed (DNS
rebinding) or sent by another site's page is refused as the page refuses it (``ui.hosts``), then a
missing or wrong key, then a body over the limit: ``Content-Length`` at once, a chunked body as soon
as it passes the limit. Every refusal is an OpenAI-style JSON error. Requests for the page go to
``ui.hosts.HostCheck`` unchanged.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import auth
from api.errors import ApiError
from ui import hosts, limits

API_PREFIXES = ("/v1", "/api")
UPLOAD_PATH = "/api/documents"
MIB = 1024 * 1024
# A chat request carries the question (at most RAG_MAX_QUESTION_CHARS) and the conversation so far.
CHAT_BODY_MB = 1.0


def is_api(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in API_PREFIXES)


def body_too_large(path: str, limit_mb: float) -> ApiError:
    if path == UPLOAD_PATH:  # the page's words for the page's limit
        return ApiError(413, limits.too_large(limit_mb), code="request_too_large")
    return ApiError(413, f"请求太大：接口一次最多接收 {limit_mb:g} MB。请缩短对话历史或问题后重试。",
                    code="request_too_large")


class ApiGuard:
    """ASGI middleware in front of the whole app (API and page)."""

    def __init__(self, app: ASGIApp, allowed: frozenset[str] | None, key: bytes | None, upload_mb: float) -> None:
        self.app = app
        self.allowed = allowed
        self.key = key
        self.upload_mb = upload_mb
        self.page = hosts.HostCheck(app, allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_api(scope["path"]):
            await self.page(scope, receive, send)
            return
        headers = Headers(scope=scope)
        try:
            self._check_door(headers)
            limit_mb = self.upload_mb if scope["path"] == UPLOAD_PATH else CHAT_BODY_MB
            declared = headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit_mb * MIB:
                raise body_too_large(scope["path"], limit_mb)
        except ApiError as refused:
            await refused.response()(scope, receive, send)
            return
        await _Bounded(self.app, limit_mb, body_too_large(scope["path"], limit_mb))(scope, receive, send)

    def _check_door(self, headers: Headers) -> None:
        refused = hosts.verdict(headers.get("host", ""), headers.get("origin"), self.allowed)
        if refused is not None:
            status, text = refused
            if status == 403:  # a browser on another site's page: no chat front-end calls from there
                text = (f"拒绝访问：来自其他网站（{headers.get('origin', '')[:hosts.MAX_SHOWN]}）的浏览器请求。"
                        "请从服务器端或命令行调用接口（聊天前端请关闭“浏览器直连 / 客户端请求模式”）。")
            raise ApiError(status, text.strip(), code="host_not_allowed" if status == 400 else "origin_not_allowed")
        auth.check(headers.get("authorization"), self.key)


class _Bounded:
    """One request whose body may not pass ``limit_mb``: past it, the route's answer is replaced by a 413."""

    def __init__(self, app: ASGIApp, limit_mb: float, refusal: ApiError) -> None:
        self.app, self.limit, self.refusal = app, int(limit_mb * MIB), refusal
        self.received = 0
        self.over = False
        self.started = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counted() -> Message:
            if self.over:  # the app keeps reading: the body ends here
                return {"type": "http.request", "body": b"", "more_body": False}
            message = await receive()
            if message["type"] == "http.request":
                self.received += len(message.get("body", b""))
                if self.received > self.limit:
                    self.over = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            return message

        async def replaced(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.started = True
                if self.over:
                    await self._refuse(send)
                    return
            if self.over:
                return  # the app's answer to a cut body is dropped
            await send(message)

        await self.app(scope, counted, replaced)

    async def _refuse(self, send: Send) -> None:
        response = self.refusal.response()
        await send({"type": "http.response.start", "status": response.status_code, "headers": response.raw_headers})
        await send({"type": "http.response.body", "body": response.body, "more_body": False})
