"""The OpenAI-compatible backend: vLLM, llama-server, LM Studio, Ollama's /v1 or a hosted API, via ``openai``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rag.errors import LLMUnavailable
from rag.llm.base import PROBE_TIMEOUT, ModelServer, is_loopback
from rag.llm.bounds import OPENAI_STOPS
from rag.llm.redact import server_text

if TYPE_CHECKING:
    from rag.settings import Settings

OPENAI_PACKAGE = "openai>=3.50,<4"
# Local servers ignore the key, but the client refuses to start without one.
NO_KEY = "no-key"
CHAT_RETRIES = 1  # one retry rides out a dropped connection; more would hide a server that is down


class OpenAILLM(ModelServer):
    """A model behind an OpenAI-compatible API (``RAG_OPENAI_BASE_URL``), through the official ``openai`` client."""

    name = "openai"

    def __init__(self, settings: Settings, model: str | None = None):
        self.settings = settings
        self.base_url = (settings.openai_base_url or "").strip().rstrip("/")
        self.model = (model or settings.openai_model or "").strip()
        self._client = None

    def _make_client(self, timeout: float, retries: int):
        try:
            import openai
        except ImportError as e:
            raise LLMUnavailable(f"无法导入 openai（{e}）。请运行 `pip install \"{OPENAI_PACKAGE}\"`。") from e
        if not self.base_url:
            raise LLMUnavailable(self._unset())
        key = self.settings.openai_api_key
        return openai.OpenAI(
            base_url=self.base_url,
            api_key=key.get_secret_value() if key and key.get_secret_value() else NO_KEY,
            timeout=timeout,
            max_retries=retries,
            # A system HTTP proxy must not intercept requests to a server on this machine.
            http_client=openai.DefaultHttpxClient(trust_env=not is_loopback(self.base_url)),
        )

    def _chat_client(self):
        if self._client is None:
            self._client = self._make_client(self.settings.openai_timeout, CHAT_RETRIES)
        return self._client

    # --- messages that name the fix (never the key itself) ---

    def _unset(self) -> str:
        return (
            "没有设置 OpenAI 兼容服务的地址。请把 RAG_OPENAI_BASE_URL 设为服务地址（例如 http://127.0.0.1:8080/v1），"
            "需要密钥时再设 RAG_OPENAI_API_KEY；也可以改用 ollama、llamacpp 或 extractive 后端。"
        )

    def _down(self) -> str:
        return (
            f"无法连接 OpenAI 兼容服务 ({self.base_url})。请先启动它（例如 `llama-server -m 模型.gguf --port 8080` "
            "或 `vllm serve 模型名`），或用 RAG_OPENAI_BASE_URL 指向正在运行的服务；也可以改用 ollama、llamacpp 或 extractive 后端。"
        )

    def _unknown_model(self, known: list[str] | None = None) -> str:
        choices = f"（该服务提供：{', '.join(known[:8])}）" if known else "（`GET /v1/models` 可查看）"
        return (
            f"OpenAI 兼容服务 ({self.base_url}) 上没有模型 {self.model}。"
            f"请用 RAG_OPENAI_MODEL 选一个该服务提供的模型{choices}，并确认 RAG_OPENAI_BASE_URL 以 /v1 结尾。"
        )

    @contextmanager
    def _errors(self, timeout: float):
        """Turn client errors into LLMUnavailable messages that name the fix."""
        import json

        import httpx2  # the openai client's HTTP library
        import openai

        try:
            yield
        except openai.APITimeoutError as e:  # before APIConnectionError: it is a subclass
            raise LLMUnavailable(
                f"OpenAI 兼容服务 ({self.base_url}) 在 {timeout:g} 秒内没有响应。"
                "请确认服务没有过载，或调大 RAG_OPENAI_TIMEOUT。"
            ) from e
        except openai.APIConnectionError as e:
            raise LLMUnavailable(self._down()) from e
        except (openai.AuthenticationError, openai.PermissionDeniedError) as e:
            raise LLMUnavailable(
                f"OpenAI 兼容服务 ({self.base_url}) 拒绝了 API 密钥（{e.status_code}）。"
                "请把 RAG_OPENAI_API_KEY 设为该服务的有效密钥（不需要密钥的服务可不设）。"
            ) from None  # the client's error may echo part of the key
        except openai.NotFoundError as e:
            raise LLMUnavailable(self._unknown_model()) from None  # the body may echo the request
        except openai.RateLimitError as e:
            raise LLMUnavailable(
                f"OpenAI 兼容服务 ({self.base_url}) 拒绝了请求：请求过于频繁或额度已用完（429）。"
                "请稍后重试，或检查该账号的速率限制与余额；也可以暂时改用 extractive 后端。"
            ) from None
        # A server's error body may echo the request (its Authorization header too): only a short, redacted
        # excerpt is shown, and the client's exception (which holds the raw body) is not chained.
        except openai.APIStatusError as e:
            raise LLMUnavailable(
                f"OpenAI 兼容服务 ({self.base_url}) 返回错误 {e.status_code}：{server_text(e.message)}。"
                "请查看该服务的日志，确认 RAG_OPENAI_MODEL 与请求参数它都支持；也可以改用 extractive 后端。"
            ) from None
        except openai.APIError as e:  # an error event inside the stream
            raise LLMUnavailable(
                f"OpenAI 兼容服务 ({self.base_url}) 在回答中途报错：{server_text(e.message)}。请查看该服务的日志后重试。"
            ) from None
        except (json.JSONDecodeError, UnicodeDecodeError) as e:  # a stream event that is not JSON
            raise LLMUnavailable(
                f"OpenAI 兼容服务 ({self.base_url}) 返回了无法解析的数据（{type(e).__name__}）。"
                "请确认 RAG_OPENAI_BASE_URL 指向 OpenAI 兼容接口（通常以 /v1 结尾），或改用 extractive 后端。"
            ) from None
        except httpx2.TransportError as e:  # the client does not wrap errors that happen while streaming
            raise LLMUnavailable(
                f"与 OpenAI 兼容服务 ({self.base_url}) 的连接在回答中途断开（{type(e).__name__}）。请确认服务仍在运行后重试。"
            ) from e

    # --- the protocol ---

    def _model_names(self, timeout: float = PROBE_TIMEOUT) -> list[str]:
        with self._make_client(timeout, 0) as client, self._errors(timeout):
            return [m.id for m in client.models.list()]

    def check(self) -> None:
        """Raise LLMUnavailable unless the server answers and offers the model; no model set = its first one."""
        known = self._model_names()
        if not self.model and known:
            self.model = known[0]  # llama-server and LM Studio serve one model: use it
        if self.model not in known:
            raise LLMUnavailable(self._unknown_model(known))

    def chat(
        self, messages: list[dict], *, max_tokens: int | None = None, temperature: float | None = None
    ) -> Iterator[str]:
        """Stream the reply; the server's limits and errors arrive as LLMUnavailable."""
        request = {
            "model": self.model or "default",
            "messages": messages,
            "max_tokens": self.settings.llm_max_tokens if max_tokens is None else max_tokens,
            "temperature": self.settings.llm_temperature if temperature is None else temperature,
            "stream": True,
            "stop": list(OPENAI_STOPS),  # chat-template tokens end the answer (the rest are cut client-side)
        }
        return self._stream(request)

    def _stream(self, request: dict) -> Iterator[str]:
        timeout = self.settings.openai_timeout
        with self._errors(timeout):
            stream = self._chat_client().chat.completions.create(**request)
        finished = False
        try:
            with self._errors(timeout):
                for chunk in stream:
                    choice = chunk.choices[0] if chunk.choices else None
                    finished = finished or bool(choice and choice.finish_reason)
                    if choice and choice.delta and choice.delta.content:
                        yield choice.delta.content
        finally:
            stream.close()  # hanging up stops the generation on the server
        if not finished:  # the stream ended without a finish reason: the answer is cut short
            raise LLMUnavailable(f"与 OpenAI 兼容服务 ({self.base_url}) 的连接在回答中途断开。请确认服务仍在运行后重试。")


def openai_configured(settings: Settings) -> bool:
    """Whether an OpenAI-compatible server is set up (``RAG_OPENAI_BASE_URL``)."""
    return bool((settings.openai_base_url or "").strip())


def openai_ready(settings: Settings) -> tuple[bool, str]:
    """Whether the configured server answers within ~1.5 s and offers the model, with the reason."""
    llm = OpenAILLM(settings)
    try:
        llm.check()
    except LLMUnavailable as e:
        return False, str(e)
    return True, f"OpenAI 兼容服务 ({llm.base_url}) 已就绪，模型 {llm.model}"


def skipped_server_note(settings: Settings, requested: str | None, answered_by: str, flags=()) -> str | None:
    """When ``auto`` passed over the configured OpenAI-compatible server: one line saying so and what answered.

    None when no server is configured, another backend was asked for, or the server itself answered
    (its answer replaced by an extract after checking counts as answered: ``fallback-extractive``).
    """
    if (requested or settings.backend or "auto") != "auto" or not openai_configured(settings):
        return None
    if answered_by == "openai" or "fallback-extractive" in flags:
        return None
    instead = "Ollama" if answered_by == "ollama" else "直接从原文摘录"
    url = settings.openai_base_url.strip().rstrip("/")
    return f"已配置的 OpenAI 兼容服务（{url}）没有应答或没有所选模型，本次改用{instead}作答。"
