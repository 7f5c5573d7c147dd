"""Limits on the arguments of ``answer()``: checked at the door, each with one clear line naming the fix."""

from __future__ import annotations

from rag.errors import QuestionError

MAX_TOP_K = 50  # more passages than this do not fit a prompt, and no answer cites them


def check_top_k(top_k: object) -> int | None:
    """``top_k`` as given (None: the setting), at most ``MAX_TOP_K``; below 1 or not a whole number is an error."""
    if top_k is None:
        return None
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise QuestionError(f"top_k 应为正整数（收到 {top_k!r}），例如 top_k=5；不设则用 RAG_TOP_K。")
    return min(top_k, MAX_TOP_K)
