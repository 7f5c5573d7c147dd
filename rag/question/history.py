"""The chat history a follow-up is read against: messages or (user, assistant) pairs, the latest of each."""

from __future__ import annotations


def last_answer(history: list[dict]) -> str:
    """The assistant's latest answer in a messages-style history ("" when there is none)."""
    return next((str(m.get("content", "")) for m in reversed(history) if m.get("role") == "assistant"), "")


def last_user_question(history: list[dict]) -> str | None:
    """The user's latest earlier question in a messages-style history."""
    for message in reversed(history):
        if message.get("role") == "user" and str(message.get("content", "")).strip():
            return str(message["content"]).strip()
    return None


def normalise_history(history) -> list[dict]:
    """Accept messages (``{"role", "content"}``) or (user, assistant) pairs; return messages."""
    messages: list[dict] = []
    for item in history or []:
        if isinstance(item, dict):
            content = item.get("content")
            if isinstance(content, str) and item.get("role") in ("user", "assistant"):
                messages.append({"role": item["role"], "content": content})
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            user, bot = item
            if user:
                messages.append({"role": "user", "content": str(user)})
            if bot:
                messages.append({"role": "assistant", "content": str(bot)})
    return messages
