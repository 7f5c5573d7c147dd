"""Secrets never leave the process: the configured keys (and anything shaped like a key) are masked in text.

A server's error body may echo the request's ``Authorization`` header; every message, log line and page
that could carry server text goes through :func:`redact` first, and :class:`RedactingFilter` masks log records.
"""

from __future__ import annotations

import logging
import os
import re

MASK = "***"
# Names of the settings that hold secrets (as environment variables).
SECRET_VARIABLES = ("RAG_OPENAI_API_KEY", "RAG_MILVUS_TOKEN", "RAG_API_KEY")
_SHAPES = re.compile(
    r"(?i)(?:\b(?:bearer|basic|token)\s+|\b(?:authorization|api[-_]?key|x-api-key|token)[\"']?\s*[:=]\s*[\"']?(?:bearer\s+)?)"
    r"[A-Za-z0-9._~+/=:-]{6,}"
    r"|\bsk-[A-Za-z0-9_-]{8,}"
)


def _configured_secrets(extra=()) -> list[str]:
    values = [os.environ.get(name, "") for name in SECRET_VARIABLES]
    try:
        from rag.settings import get_settings

        s = get_settings()
        for secret in (s.openai_api_key, s.milvus_token, s.api_key):
            if secret is not None:
                values.append(secret.get_secret_value())
    except Exception:  # an invalid setting must not stop an error message from being shown
        pass
    for secret in extra:
        values.append(secret.get_secret_value() if hasattr(secret, "get_secret_value") else str(secret or ""))
    # very short values (e.g. "x") would mask ordinary text; they protect nothing anyway
    return sorted({v for v in values if len(v) >= 4}, key=len, reverse=True)


def redact(text: object, extra=()) -> str:
    """``text`` with every configured secret (plus ``extra``) and anything shaped like a key masked."""
    text = str(text)
    for secret in _configured_secrets(extra):
        text = text.replace(secret, MASK)
    return _SHAPES.sub(lambda m: _keep_label(m.group(0)), text)


def _keep_label(found: str) -> str:
    """``Authorization: Bearer sk-…`` → ``Authorization: Bearer ***`` (the label says what was hidden)."""
    label = re.match(r"(?i)(?:.*?(?:bearer|basic|token)\s+|[^:=]*[:=]\s*[\"']?)", found)
    return (label.group(0) if label and not found.lower().startswith("sk-") else "") + MASK


def server_text(text: object, limit: int = 200) -> str:
    """A short, one-line, redacted excerpt of what a server said (never its raw body)."""
    line = " ".join(redact(text).split())
    return line if len(line) <= limit else line[:limit] + "…"


class RedactingFilter(logging.Filter):
    """Masks secrets in log records (message and arguments) before any handler writes them."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            if redact(text) != text:
                record.exc_info, record.exc_text = None, None
                record.msg = f"{record.msg}\n{redact(text)}"
        return True


def install_log_filter(logger: logging.Logger | None = None) -> None:
    """Mask secrets in everything ``logger`` (default: the root logger's handlers) writes; safe to call twice."""
    target = logger if logger is not None else logging.getLogger()
    # the logger itself, its handlers, and the handler Python falls back to when none is configured
    for holder in (target, *target.handlers, logging.lastResort):
        if holder is not None and not any(isinstance(f, RedactingFilter) for f in holder.filters):
            holder.addFilter(RedactingFilter())
