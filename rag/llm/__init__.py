"""LLM backends: chat messages → streamed text, behind one small protocol, chosen by name.

Ollama, any OpenAI-compatible server, or llama.cpp in-process (``base`` is what they share).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.errors import LLMUnavailable
from rag.llm.base import (
    BACKEND_NAMES,
    LLM,
    NUM_CTX_MAX,
    NUM_CTX_MIN,
    PROBE_TIMEOUT,
    PromptTooLong,
    estimate_prompt_tokens,
    estimate_tokens,
    num_ctx_for,
)
from rag.llm.llamacpp import (
    GEMMA_FILE,
    GEMMA_PACKAGE,
    LlamaCppLLM,
    default_model_path,
    first_line,
    gguf_metadata,
    render_plain_prompt,
)
from rag.llm.ollama import OllamaLLM, normalize_ollama_model, ollama_ready
from rag.llm.openai import OpenAILLM, openai_configured, openai_ready

if TYPE_CHECKING:
    from rag.settings import Settings


LLM_BACKENDS: dict[str, type] = {"ollama": OllamaLLM, "openai": OpenAILLM, "llamacpp": LlamaCppLLM}


def get_llm(name: str, settings: Settings) -> LLM:
    """The LLM backend called ``name``; ValueError (listing every backend name) if there is none."""
    key = (name or "").strip().lower()
    if key not in LLM_BACKENDS:
        extra = "（auto 和 extractive 由回答层处理，不是 LLM）" if key in BACKEND_NAMES else ""
        raise ValueError(f"未知的 LLM 后端 {name!r}{extra}；可选：{', '.join(BACKEND_NAMES)}")
    return LLM_BACKENDS[key](settings)


def auto_candidates(settings: Settings) -> tuple[str, ...]:
    """What ``auto`` tries, in order: the OpenAI-compatible server when one is configured, then Ollama."""
    return ("openai", "ollama") if openai_configured(settings) else ("ollama",)


def auto_llm(settings: Settings) -> tuple[LLM | None, str]:
    """The first ready LLM of :func:`auto_candidates` (each probed within ~1.5 s), or None with the reasons."""
    reasons = []
    for name in auto_candidates(settings):
        llm = get_llm(name, settings)
        try:
            llm.check()
        except LLMUnavailable as e:
            reasons.append(str(e))
            continue
        return llm, ""
    return None, "；".join(reasons)


__all__ = [
    "BACKEND_NAMES", "GEMMA_FILE", "GEMMA_PACKAGE", "LLM", "LLM_BACKENDS", "NUM_CTX_MAX", "NUM_CTX_MIN",
    "PROBE_TIMEOUT", "LlamaCppLLM", "OllamaLLM", "OpenAILLM", "PromptTooLong", "auto_candidates", "auto_llm",
    "default_model_path", "estimate_prompt_tokens", "estimate_tokens", "first_line", "get_llm", "gguf_metadata",
    "normalize_ollama_model", "num_ctx_for", "ollama_ready", "openai_configured", "openai_ready",
    "render_plain_prompt",
]
