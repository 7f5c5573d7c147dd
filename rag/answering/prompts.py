"""Prompt templates: files in ``prompts/`` with named ``${placeholders}``, rendered strictly."""

from __future__ import annotations

import re
import string
from pathlib import Path

from rag.errors import PromptError
from rag.settings import get_settings

# The prompts fence document text with <<<…>>> lines; a run of three angle brackets in the text could close the fence.
_FENCE = re.compile(r"<{3,}|>{3,}")


def load(name: str, prompts_dir: Path | None = None) -> string.Template:
    """The template ``prompts/<name>.txt``."""
    path = Path(prompts_dir or get_settings().prompts_dir) / f"{name}.txt"
    try:
        return string.Template(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PromptError(f"找不到提示词模板 {path.name}：{exc.strerror}") from None


def render(name: str, prompts_dir: Path | None = None, **variables: object) -> str:
    """Render a template; a placeholder without a value is an error, not an empty string."""
    template = load(name, prompts_dir)
    try:
        return template.substitute(**{k: str(v) for k, v in variables.items()})
    except KeyError as exc:
        raise PromptError(f"提示词模板 {name}.txt 缺少变量 {exc.args[0]}") from None
    except ValueError as exc:
        raise PromptError(f"提示词模板 {name}.txt 格式错误：{exc}") from None


def quote_data(text: str) -> str:
    """Document text that cannot forge the prompts' ``<<<…>>>`` fences (bracket runs become full-width)."""
    return _FENCE.sub(lambda m: m.group().replace("<", "＜").replace(">", "＞"), text)


# Line breaks of every kind, and other control characters: a source name must stay on its header line.
_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
MAX_NAME_CHARS = 200


def quote_name(name: str) -> str:
    """A file name for a passage header: one line, no fence, short (it is data, like the passage text)."""
    one_line = " ".join(_BREAKS.sub(" ", name).split())
    if len(one_line) > MAX_NAME_CHARS:
        one_line = one_line[:MAX_NAME_CHARS] + "…"
    return quote_data(one_line)

