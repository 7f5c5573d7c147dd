"""A model server on 127.0.0.1 for tests: any test LLM behind Ollama's routes and OpenAI's.

Ollama: ``GET /api/tags``, ``POST /api/chat`` (NDJSON, or one object with ``"stream": false``).
OpenAI: ``GET /v1/models``, ``POST /v1/chat/completions`` (SSE, or one object). Only what the
project's backends call, answered as those servers answer: an unknown model is a 404, an
``LLMUnavailable`` before the first piece a 500, one after it an error line (Ollama) or a cut
stream (OpenAI), and any other exception a dropped connection. ``last_request`` keeps the last
chat body.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from rag.errors import LLMUnavailable
from rag.llm import normalize_ollama_model

log = logging.getLogger(__name__)
CREATED_AT = "2025-01-01T00:00:00Z"


class FakeModelServer:
    """``with serve_llm(llm, "name:tag") as s:`` → ``s.url`` (Ollama host), ``s.url + "/v1"`` (OpenAI base)."""

    def __init__(self, llm, model_name: str):
        self.llm = llm
        self.model_name = model_name
        self.last_request: dict | None = None
        handler = type("Handler", (_Handler,), {"app": self})
        self._httpd = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def serves(self, name) -> bool:
        return isinstance(name, str) and normalize_ollama_model(name) == normalize_ollama_model(self.model_name)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeModelServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def serve_llm(llm, model_name: str = "fake:1b") -> FakeModelServer:
    """Serve ``llm`` (anything with ``chat(messages, max_tokens=, temperature=)``) on a free loopback port."""
    return FakeModelServer(llm, model_name)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:  # a crashing model: the client sees a cut stream
        log.info("fake model server: a request failed", exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    app: FakeModelServer

    def log_message(self, format, *args) -> None:
        pass

    def _json(self, status: int, payload: dict) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _write(self, text: str) -> None:
        self.wfile.write(text.encode("utf-8"))
        self.wfile.flush()

    def do_GET(self) -> None:
        name = self.app.model_name
        if self.path.startswith("/api/tags"):
            self._json(200, {"models": [{"name": name, "model": name, "modified_at": CREATED_AT, "size": 0,
                                         "digest": "", "details": {}}]})
        elif self.path.startswith("/v1/models"):
            self._json(200, {"object": "list", "data": [{"id": name, "object": "model", "created": 0, "owned_by": "test"}]})
        else:
            self._json(404, {"error": "not found"})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        openai = self.path.startswith("/v1/chat/completions")
        if not openai and not self.path.startswith("/api/chat"):
            self._json(404, {"error": "not found"})
            return
        if not self.app.serves(body.get("model")):
            message = f"model '{body.get('model')}' not found"
            self._json(404, {"error": {"message": message, "type": "not_found_error", "code": "model_not_found"}}
                       if openai else {"error": message})
            return
        self.app.last_request = body
        options = body.get("options") or {}
        max_tokens = body.get("max_tokens") if openai else options.get("num_predict")
        temperature = body.get("temperature") if openai else options.get("temperature")
        pieces = self.app.llm.chat(body.get("messages") or [], max_tokens=max_tokens, temperature=temperature)
        try:
            first = next(pieces, None)
        except LLMUnavailable as e:  # before the first byte: a proper HTTP error
            self._json(500, {"error": {"message": str(e), "type": "server_error"}} if openai else {"error": str(e)})
            return
        rest = pieces if first is None else _chain(first, pieces)
        if not body.get("stream", not openai):
            text = "".join(rest)
            self._json(200, _whole(openai, self.app.model_name, text))
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream" if openai else "application/x-ndjson")
        self.end_headers()  # HTTP/1.0: the stream ends when the connection closes
        try:
            (self._sse if openai else self._ndjson)(rest)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            close = getattr(pieces, "close", None)
            if close:  # hanging up stops the model
                close()

    def _sse(self, pieces: Iterator[str]) -> None:
        for text in pieces:
            self._write(f"data: {json.dumps(_chunk(self.app.model_name, {'content': text}, None), ensure_ascii=False)}\n\n")
        self._write(f"data: {json.dumps(_chunk(self.app.model_name, {}, 'stop'))}\n\ndata: [DONE]\n\n")

    def _ndjson(self, pieces: Iterator[str]) -> None:
        count = 0
        try:
            for text in pieces:
                count += 1
                self._write(json.dumps(_line(self.app.model_name, text, done=False), ensure_ascii=False) + "\n")
        except LLMUnavailable as e:  # mid-stream: Ollama sends an error line, its client raises it
            self._write(json.dumps({"error": str(e)}, ensure_ascii=False) + "\n")
            return
        final = {**_line(self.app.model_name, "", done=True), "done_reason": "stop", "eval_count": count}
        self._write(json.dumps(final) + "\n")


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


def _chunk(model: str, delta: dict, finish: str | None) -> dict:
    return {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def _line(model: str, text: str, *, done: bool) -> dict:
    return {"model": model, "created_at": CREATED_AT, "message": {"role": "assistant", "content": text}, "done": done}


def _whole(openai: bool, model: str, text: str) -> dict:
    if openai:
        return {"id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]}
    return {**_line(model, text, done=True), "done_reason": "stop"}
