"""What every LLM backend shares: the protocol, the backend names, prompt-size estimates and errors."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from typing import Protocol
from urllib.parse import urlsplit

from rag.errors import LLMUnavailable

# The answering layer adds "auto" and "extractive"; the others are LLMs.
BACKEND_NAMES = ("auto", "ollama", "openai", "llamacpp", "extractive")

NUM_CTX_MIN = 2048
NUM_CTX_MAX = 32768
NUM_CTX_STEP = 1024
NUM_CTX_MARGIN = 256  # chat-template tokens and estimation error
PROBE_TIMEOUT = 1.5  # seconds: the "auto" backend must decide fast


class LLM(Protocol):
    """A chat model that streams its reply as text pieces."""

    name: str
    model: str

    def check(self) -> None:
        """Raise :class:`LLMUnavailable` (naming the command that fixes it) unless ``chat`` can work."""

    def chat(
        self, messages: list[dict], *, max_tokens: int | None = None, temperature: float | None = None
    ) -> Iterator[str]:
        """Stream the reply to OpenAI/Ollama-style ``{"role", "content"}`` messages."""


class ModelServer:
    """Shared by the backends that reach a model server: its model list, empty when it is unset or down."""

    def _model_names(self, timeout: float = PROBE_TIMEOUT) -> list[str]:
        raise NotImplementedError

    def list_models(self) -> list[str]:
        """The models the server offers; empty when the server is unset or down."""
        try:
            return self._model_names()
        except LLMUnavailable:
            return []


class PromptTooLong(LLMUnavailable):
    """The prompt does not fit the largest context the backend allows (it is never silently truncated)."""


# --- token estimates and Ollama's context size ------------------------------------------------

_CHEAP_CHARS = re.compile(r"[^\d\u0080-\U0010ffff]")  # ASCII except digits


def estimate_tokens(text: str) -> int:
    """A deliberately high token count: 1 per CJK/non-ASCII character or digit, 1 per 3 other characters."""
    cheap = len(_CHEAP_CHARS.findall(text))
    return (len(text) - cheap) + math.ceil(cheap / 3)


def estimate_prompt_tokens(messages: Iterable[dict]) -> int:
    """Estimated prompt tokens of a chat, counting a few template tokens per message."""
    return sum(estimate_tokens(str(m.get("content") or "")) + 8 for m in messages)


def num_ctx_for(messages: list[dict], max_tokens: int) -> int:
    """The Ollama ``num_ctx`` that fits prompt + reply, in steps of 1024; too long raises PromptTooLong."""
    prompt = estimate_prompt_tokens(messages)
    need = prompt + max_tokens + NUM_CTX_MARGIN
    if need > NUM_CTX_MAX:
        raise PromptTooLong(
            f"提示词约 {prompt} tokens，加上回答的 {max_tokens} tokens 超过上下文上限 {NUM_CTX_MAX}。"
            "请减少检索片段（RAG_TOP_K、RAG_CHUNK_SIZE）或缩短问题。"
        )
    return max(NUM_CTX_MIN, math.ceil(need / NUM_CTX_STEP) * NUM_CTX_STEP)


def is_loopback(url: str) -> bool:
    """Whether a server URL points at this machine (a system HTTP proxy must not intercept it)."""
    hostname = urlsplit(url if "://" in url else f"http://{url}").hostname or "127.0.0.1"
    return hostname in ("127.0.0.1", "localhost", "::1")
