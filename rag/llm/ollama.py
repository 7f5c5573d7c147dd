"""The Ollama backend: a model served by ``ollama serve``, through the official ``ollama`` client."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rag.errors import LLMUnavailable
from rag.llm.base import PROBE_TIMEOUT, ModelServer, is_loopback, num_ctx_for
from rag.llm.bounds import TEMPLATE_STOPS
from rag.llm.redact import server_text

if TYPE_CHECKING:
    from rag.settings import Settings


def normalize_ollama_model(name: str) -> str:
    """Ollama's canonical model name: ``llama3`` means ``llama3:latest``."""
    name = name.strip()
    return name if ":" in name.rsplit("/", 1)[-1] else f"{name}:latest"


class OllamaLLM(ModelServer):
    """A model served by Ollama (``ollama serve``), through the official ``ollama`` client."""

    name = "ollama"

    def __init__(self, settings: Settings, model: str | None = None):
        self.settings = settings
        self.host = settings.ollama_host
        self.model = model or settings.ollama_model
        self._client = None

    def _make_client(self, timeout: float):
        import httpx
        import ollama

        # A system HTTP proxy must not intercept requests to a local Ollama.
        return ollama.Client(
            host=self.host,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            trust_env=not is_loopback(self.host),
        )

    def _chat_client(self):
        if self._client is None:
            self._client = self._make_client(self.settings.ollama_timeout)
        return self._client

    def _down(self) -> str:
        return (
            f"无法连接 Ollama 服务 ({self.host})。请先运行 `ollama serve` 启动服务，"
            "或用 RAG_OLLAMA_HOST 指向正在运行的服务；也可以改用 llamacpp 或 extractive 后端。"
        )

    def _not_pulled(self) -> str:
        return (
            f"Ollama 服务 ({self.host}) 上没有模型 {self.model}。请先运行 `ollama pull {self.model}`，"
            "或用 RAG_OLLAMA_MODEL 选一个已下载的模型（`ollama list` 可查看）。"
        )

    @contextmanager
    def _errors(self, timeout: float):
        """Turn client and transport errors into LLMUnavailable messages that name the fix."""
        import json

        import httpx
        import ollama
        from pydantic import ValidationError

        try:
            yield
        except ollama.ResponseError as e:  # its text is the server's: shown short and redacted, never chained
            if e.status_code == 404 or "not found" in str(e.error).lower():
                raise LLMUnavailable(self._not_pulled()) from None
            raise LLMUnavailable(
                f"Ollama 服务 ({self.host}) 返回错误：{server_text(e.error)}。请查看 Ollama 的日志后重试，或改用 extractive 后端。"
            ) from None
        except (json.JSONDecodeError, UnicodeDecodeError, ValidationError) as e:  # a line that is not Ollama's JSON
            raise LLMUnavailable(
                f"Ollama 服务 ({self.host}) 返回了无法解析的数据（{type(e).__name__}）。"
                "请确认 RAG_OLLAMA_HOST 指向 Ollama 服务（例如 http://127.0.0.1:11434），或改用 extractive 后端。"
            ) from None
        except httpx.TimeoutException as e:
            raise LLMUnavailable(
                f"Ollama 服务 ({self.host}) 在 {timeout:g} 秒内没有响应。"
                "请确认 `ollama serve` 正在运行且没有过载，或调大 RAG_OLLAMA_TIMEOUT。"
            ) from e
        except (ConnectionError, httpx.TransportError) as e:
            raise LLMUnavailable(self._down()) from e

    def _model_names(self, timeout: float = PROBE_TIMEOUT) -> list[str]:
        with self._make_client(timeout) as client, self._errors(timeout):
            return [m.model for m in client.list().models if m.model]

    def check(self) -> None:
        """Raise LLMUnavailable unless the server answers and has the model (a quick /api/tags call)."""
        wanted = normalize_ollama_model(self.model)
        if wanted not in {normalize_ollama_model(n) for n in self._model_names()}:
            raise LLMUnavailable(self._not_pulled())

    def chat(
        self, messages: list[dict], *, max_tokens: int | None = None, temperature: float | None = None
    ) -> Iterator[str]:
        """Stream the reply; ``num_ctx`` is sized to the prompt so Ollama never truncates it."""
        max_tokens = self.settings.llm_max_tokens if max_tokens is None else max_tokens
        options = {
            "num_ctx": num_ctx_for(messages, max_tokens),
            "temperature": self.settings.llm_temperature if temperature is None else temperature,
            "num_predict": max_tokens,
            "stop": list(TEMPLATE_STOPS),  # chat-template tokens end the answer
        }
        return self._stream(messages, options)

    def _stream(self, messages: list[dict], options: dict) -> Iterator[str]:
        stream = self._chat_client().chat(model=self.model, messages=messages, stream=True, options=options)
        done = False
        try:
            with self._errors(self.settings.ollama_timeout):
                for part in stream:
                    done = done or bool(part.done)
                    if part.message.content:
                        yield part.message.content
        finally:
            stream.close()  # hanging up is how Ollama learns to stop generating
        if not done:  # the stream ended without Ollama's final message: the answer is cut short
            raise LLMUnavailable(
                f"与 Ollama 服务 ({self.host}) 的连接在回答中途断开。请确认 `ollama serve` 仍在运行后重试。"
            )


def ollama_ready(settings: Settings) -> tuple[bool, str]:
    """Whether Ollama answers within ~1.5 s and has ``settings.ollama_model``, with the reason."""
    llm = OllamaLLM(settings)
    try:
        llm.check()
    except LLMUnavailable as e:
        return False, str(e)
    return True, f"Ollama ({llm.host}) 已就绪，模型 {llm.model}"

