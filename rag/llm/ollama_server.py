"""A small Ollama-compatible HTTP server on 127.0.0.1 that answers from any rag LLM (tests, embedded model).

Like Ollama it also answers OpenAI clients under ``/v1`` (``/v1/models``, ``/v1/chat/completions``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from rag.errors import LLMUnavailable
from rag.llm import LLM, estimate_prompt_tokens, normalize_ollama_model

log = logging.getLogger(__name__)

API_VERSION = "0.9.0"  # the Ollama API this server imitates (chat, generate, tags, show)
LOOPBACK_NAMES = ("127.0.0.1", "localhost")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


class OllamaServer:
    """A running server: ``url`` to point a client at, ``last_request`` (the last chat/generate body), ``close()``."""

    def __init__(self, llm: LLM, host: str, port: int, model_name: str):
        if host not in LOOPBACK_NAMES:
            raise ValueError(f"只能监听本机地址（{', '.join(LOOPBACK_NAMES)}），收到 {host!r}：这个服务没有鉴权")
        self.llm = llm
        self.model_name = model_name
        self.last_request: dict | None = None
        handler = type("Handler", (_Handler,), {"app": self})
        self._httpd = _HTTPServer(("127.0.0.1", port), handler)
        # A short poll interval lets close() return in ~50 ms instead of the default 0.5 s.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="ollama-server", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:41234`` (use it as ``RAG_OLLAMA_HOST``)."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def serves(self, name: str | None) -> bool:
        """Whether ``name`` is the served model (``x`` and ``x:latest`` are the same model)."""
        return isinstance(name, str) and normalize_ollama_model(name) == normalize_ollama_model(self.model_name)

    def model_entry(self) -> dict:
        """The model as /api/tags lists it."""
        details = {
            "format": "gguf", "family": "rag", "families": ["rag"], "parameter_size": "", "quantization_level": "",
        }
        return {
            "name": self.model_name, "model": self.model_name, "modified_at": _now(),
            "size": 0, "digest": "", "details": details,
        }

    def close(self) -> None:
        """Stop serving and free the port."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> OllamaServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def serve_ollama(llm: LLM, host: str = "127.0.0.1", port: int = 0, model_name: str = "gemma3:270m") -> OllamaServer:
    """Serve ``llm`` behind the Ollama API in a background thread; ``port=0`` picks a free port."""
    return OllamaServer(llm, host, port, model_name)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        # The client sees a cut stream; the traceback goes to logging instead of bare stderr.
        log.exception("ollama_server: request from %s failed", client_address[0])


class _Handler(BaseHTTPRequestHandler):
    """Routes of the Ollama API; each request runs in its own thread."""

    app: OllamaServer
    server_version = "rag-ollama"
    wfile_started = False  # an OpenAI stream has begun: errors can no longer be an HTTP status

    def log_message(self, format: str, *args) -> None:  # keep test and CLI output clean
        pass

    # --- plumbing ---

    def _send_json(self, status: int, payload: dict) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _read_json(self) -> dict | None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except (ValueError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            self._send_json(400, {"error": "invalid JSON body"})
            return None
        return body

    def _not_found(self, name: str | None) -> None:
        self._send_json(404, {"error": f"model '{name}' not found"})

    # --- routes ---

    def do_HEAD(self) -> None:
        self.send_response(200)
        self.end_headers()

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/":
            body = b"Ollama is running"
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif path == "/api/version":
            self._send_json(200, {"version": API_VERSION})
        elif path == "/api/tags":
            self._send_json(200, {"models": [self.app.model_entry()]})
        elif path == "/v1/models":
            self._send_json(200, {"object": "list", "data": [{
                "id": self.app.model_name, "object": "model", "created": 0, "owned_by": "rag"}]})
        elif path == "/api/ps":
            self._send_json(200, {"models": [{**self.app.model_entry(), "expires_at": _now(), "size_vram": 0}]})
        else:
            self._send_json(404, {"error": "not found"})

    def do_POST(self) -> None:
        routes = {"/api/chat": self._chat, "/api/generate": self._generate, "/api/show": self._show,
                  "/v1/chat/completions": self._openai_chat}
        route = routes.get(self.path.split("?", 1)[0])
        if route is None:
            self._send_json(404, {"error": "not found"})
            return
        body = self._read_json()
        if body is not None:
            route(body)

    def _show(self, body: dict) -> None:
        name = body.get("model") or body.get("name")
        if not self.app.serves(name):
            self._not_found(name)
            return
        entry = self.app.model_entry()
        self._send_json(200, {
            "modelfile": "", "parameters": "", "template": "{{ .Prompt }}", "details": entry["details"],
            "model_info": {"general.architecture": "rag"}, "capabilities": ["completion"],
            "modified_at": entry["modified_at"],
        })

    def _chat(self, body: dict) -> None:
        messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
        self._answer(body, messages, lambda text: {"message": {"role": "assistant", "content": text}})

    def _generate(self, body: dict) -> None:
        messages = [{"role": "user", "content": body.get("prompt") or ""}]
        if body.get("system"):
            messages.insert(0, {"role": "system", "content": body["system"]})
        self._answer(body, messages, lambda text: {"response": text})

    def _openai_chat(self, body: dict) -> None:
        """OpenAI chat completions, streamed as server-sent events or returned whole."""
        if not self.app.serves(body.get("model")):
            self._send_json(404, {"error": {"message": f"model '{body.get('model')}' not found",
                                            "type": "not_found_error", "code": "model_not_found"}})
            return
        self.app.last_request = body
        messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
        max_tokens = body.get("max_tokens") if isinstance(body.get("max_tokens"), int) else None
        head = {"id": "chatcmpl-rag", "created": int(time.time()), "model": body["model"]}
        pieces = None
        try:
            pieces = self.app.llm.chat(messages, max_tokens=max_tokens, temperature=body.get("temperature"))
            if not body.get("stream"):
                message = {"role": "assistant", "content": "".join(pieces)}
                self._send_json(200, {**head, "object": "chat.completion",
                                      "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]})
            else:
                self._sse(head, pieces)
        except LLMUnavailable as e:  # before the first byte: a proper HTTP error; later: the stream just ends
            if not self.wfile_started:
                self._send_json(500, {"error": {"message": str(e), "type": "server_error"}})
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            close = getattr(pieces, "close", None)
            if close:
                close()

    def _sse(self, head: dict, pieces: Iterator[str]) -> None:
        first = next(pieces, None)
        self.wfile_started = True
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()  # HTTP/1.0: the stream ends when the connection closes
        for text in itertools.chain([] if first is None else [first], pieces):
            self._event(head, {"content": text}, None)
        self._event(head, {}, "stop")
        self.wfile.write(b"data: [DONE]\n\n")

    def _event(self, head: dict, delta: dict, finish: str | None) -> None:
        chunk = {**head, "object": "chat.completion.chunk",
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode("utf-8"))
        self.wfile.flush()

    # --- generation ---

    def _answer(self, body: dict, messages: list[dict], shape) -> None:
        """Run the LLM and reply as NDJSON (``stream`` true or absent) or as one JSON object."""
        if not self.app.serves(body.get("model")):
            self._not_found(body.get("model"))
            return
        self.app.last_request = body
        options = body.get("options") or {}
        num_predict = options.get("num_predict")
        max_tokens = num_predict if isinstance(num_predict, int) and num_predict > 0 else None
        started = time.perf_counter_ns()
        try:
            pieces = self.app.llm.chat(messages, max_tokens=max_tokens, temperature=options.get("temperature"))
        except LLMUnavailable as e:
            self._send_json(500, {"error": str(e)})
            return
        stats = _Stats(started, estimate_prompt_tokens(messages), max_tokens)
        try:
            if body.get("stream", True):
                self._stream(body["model"], pieces, shape, stats)
            else:
                self._whole(body["model"], pieces, shape, stats)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away; closing the pieces below stops the generation
        finally:
            close = getattr(pieces, "close", None)
            if close:
                close()

    def _whole(self, model: str, pieces: Iterator[str], shape, stats: _Stats) -> None:
        try:
            text = "".join(stats.count(pieces))
        except LLMUnavailable as e:
            self._send_json(500, {"error": str(e)})
            return
        self._send_json(200, {"model": model, "created_at": _now(), **shape(text), **self._final(stats)})

    def _stream(self, model: str, pieces: Iterator[str], shape, stats: _Stats) -> None:
        counted = stats.count(pieces)
        try:
            first = next(counted, None)
        except LLMUnavailable as e:  # nothing sent yet: a proper HTTP error, as Ollama does
            self._send_json(500, {"error": str(e)})
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()  # HTTP/1.0: the body ends when the connection closes
        try:
            if first is not None:
                self._line({"model": model, "created_at": _now(), **shape(first), "done": False})
                for text in counted:
                    self._line({"model": model, "created_at": _now(), **shape(text), "done": False})
        except LLMUnavailable as e:  # mid-stream: Ollama sends an error line, the client raises it
            self._line({"error": str(e)})
            return
        self._line({"model": model, "created_at": _now(), **shape(""), **self._final(stats)})

    def _final(self, stats: _Stats) -> dict:
        return stats.final(getattr(self.app.llm, "last_usage", None))  # LlamaCppLLM reports real token counts

    def _line(self, payload: dict) -> None:
        self.wfile.write(json.dumps(payload, ensure_ascii=False).encode("utf-8") + b"\n")
        self.wfile.flush()


class _Stats:
    """Counts and durations for the final message: the LLM's token counts when it reports them, else pieces."""

    def __init__(self, started_ns: int, prompt_tokens: int, max_tokens: int | None):
        self.started_ns = started_ns
        self.prompt_tokens = prompt_tokens
        self.max_tokens = max_tokens
        self.first_ns = 0
        self.pieces = 0

    def count(self, pieces: Iterator[str]) -> Iterator[str]:
        for piece in pieces:
            if not self.pieces:
                self.first_ns = time.perf_counter_ns()
            self.pieces += 1
            yield piece

    def final(self, usage: dict | None = None) -> dict:
        end = time.perf_counter_ns()
        first = self.first_ns or end
        usage = usage or {}
        evals = usage.get("completion_tokens") or self.pieces
        hit_limit = self.max_tokens is not None and evals >= self.max_tokens
        return {
            "done": True, "done_reason": "length" if hit_limit else "stop",
            "total_duration": end - self.started_ns, "load_duration": 0,
            "prompt_eval_count": usage.get("prompt_tokens") or self.prompt_tokens,
            "prompt_eval_duration": first - self.started_ns,
            "eval_count": evals, "eval_duration": end - first,
        }


def main(argv: list[str] | None = None) -> None:
    """``python -m rag.llm.ollama_server``: the embedded llama.cpp model behind the Ollama API."""
    from rag.llm import LlamaCppLLM
    from rag.settings import get_settings

    parser = argparse.ArgumentParser(description="在本机提供 Ollama 兼容接口，由内置 llama.cpp 模型回答")
    parser.add_argument("--port", type=int, default=11434)
    parser.add_argument("--model-name", default="gemma3:270m", help="接口里显示的模型名")
    parser.add_argument("--model-path", default=None, help="GGUF 文件（默认内置 Gemma 3 270M）")
    args = parser.parse_args(argv)
    llm = LlamaCppLLM(get_settings(), model_path=args.model_path)
    llm.check()
    server = serve_ollama(llm, port=args.port, model_name=args.model_name)
    print(f"Ollama 兼容接口：{server.url}（模型 {args.model_name}）。设置 RAG_OLLAMA_HOST={server.url} "
          f"RAG_OLLAMA_MODEL={args.model_name} 即可使用；Ctrl+C 停止。")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.close()


if __name__ == "__main__":
    main()
