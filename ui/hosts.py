"""Refuse requests whose ``Host`` names another site, so a web page cannot reach the chat page by DNS rebinding.

A page on evil.example can make its own name resolve to 127.0.0.1 and then read this
server's answers as "same-origin"; its requests still carry ``Host: evil.example``. Only
loopback names, the address the server is bound to and hosts the user configured pass.
A browser also names the page a request comes from (``Origin``): a request sent by another
site's page straight to 127.0.0.1 (an upload, say) is refused the same way.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from rag.errors import RagError

LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
ANY_ADDRESS = frozenset({"", "0.0.0.0", "::"})  # binding these is not a name anyone types
ANY_HOST = "*"
MAX_SHOWN = 100  # the refusal repeats the host it got; keep a hostile header short


def allowed_hosts(bind: str, configured: str = "") -> frozenset[str] | None:
    """Host names the server answers to; ``None`` when the user allowed any (``*``).

    ``configured`` is a comma-separated list (``RAG_ALLOWED_HOSTS``) of names or addresses.
    """
    names = {host_name(part) for part in configured.split(",") if part.strip()}
    if ANY_HOST in names:
        return None
    bound = host_name(bind)
    if bound not in ANY_ADDRESS:
        names.add(bound)
    return frozenset(LOOPBACK | names)


def host_name(header: str) -> str:
    """The name in a ``Host`` header, without port, brackets, case or a trailing dot."""
    host = header.strip().lower()
    if host.startswith("["):  # [::1]:7860
        host = host[1:].partition("]")[0]
    elif host.count(":") == 1:  # name:port; a bare IPv6 address has several colons
        host = host.partition(":")[0]
    return host.rstrip(".")


def origin_host(origin: str) -> str:
    """The host name of an ``Origin`` header ("" for ``null`` or anything unreadable)."""
    try:
        return (urlsplit(origin).hostname or "").rstrip(".")
    except ValueError:
        return ""


def refusal(host: str) -> str:
    """The text a refused request gets: which host, and how to allow it."""
    shown = host[:MAX_SHOWN] or "（空）"
    return (
        f"拒绝访问：本服务不接受主机名 {shown}（防止 DNS 重绑定）。"
        "请用 http://127.0.0.1 或 http://localhost 访问；如需用这个名字或地址访问，"
        f"请在启动前设置 RAG_ALLOWED_HOSTS={host_name(shown)}\n"
    )


def verdict(host: str, origin: str | None, allowed: frozenset[str] | None) -> tuple[int, str] | None:
    """None when a request for ``host`` (sent by a page of ``origin``, if any) may pass; else its status and text."""
    if allowed is None:
        return None
    if host_name(host) not in allowed:
        return 400, refusal(host)
    if origin is not None and origin_host(origin) not in allowed:
        return 403, f"拒绝访问：来自其他网站（{origin[:MAX_SHOWN]}）的请求。请直接在本页面操作。\n"
    return None


class HostCheck:
    """ASGI middleware: answer 400 (403 for another site's page) to any HTTP request for a host not allowed.

    A websocket for a host not allowed is closed before it is accepted.
    """

    def __init__(self, app: ASGIApp, allowed: frozenset[str] | None) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.allowed is None or scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refused = verdict(headers.get("host", ""), headers.get("origin"), self.allowed)
        if refused is None:
            await self.app(scope, receive, send)
            return
        status, text = refused
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})  # policy violation, before accepting
        else:
            await PlainTextResponse(text, status_code=status)(scope, receive, send)


def check_port_free(host: str, port: int, command: str | None = None) -> None:
    """Refuse, in one line naming the fix, a port another program already listens on.

    ``command`` is how to start on another port (``{port}`` is filled in); the page's by default.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does: TIME_WAIT is no owner
        try:
            probe.bind((host, port))
        except OSError:
            how = (command or "./run.sh chat --port {port}` 或 `rag ui --port {port}").format(port=port + 1)
            raise RagError(f"端口 {port} 已被占用（可能是另一个服务还开着）：请换一个端口启动，例如 `{how}`。") from None
