"""Where a text sends its reader: "（参见 默认值 一节）", "参见第 6.2.4 节 “配置选项”", "在《工程模板》一节中介绍"; and
whether a heading is that section. Manuals answer "where is X" with such a pointer, and the answer is what the
section pointed to says."""

from __future__ import annotations

import re

_POINTED = re.compile(r"(?:参见|请参阅|请参考|详见|请见|见)\s*(?:第\s*(?P<number>[\d.]*\d)\s*[节章]"
                      r"(?:\s*[“《「]\s*(?P<titled>[^”》」]{2,30}?)\s*[”》」])?|[“《「]\s*(?P<quoted>[^”》」]{2,30}?)\s*[”》」]|"
                      r"(?P<bare>[^\s“《「”》」（）()，。,;；][^“《「”》」（）()，。,;；]{0,19}?)\s*(?:一节|这一节|一章))|"
                      r"[《“「](?P<named>[^》”」]{2,30})[》”」]\s*(?:一|这一|那一)?[节章]")
_NUMBERING = re.compile(r"^[\d.]+\s*")
_PUNCTUATION = re.compile(r"[\s\-–—_，,、：:·“”\"《》「」*`]+")


def pointed_sections(text: str) -> list[tuple[str, str]]:
    """The sections ``text`` points to, as (number, title) with the title normalised; either may be ""."""
    found = []
    for m in _POINTED.finditer(text):
        number = m["number"] or ""
        title = normalised_title(m["titled"] or m["quoted"] or m["bare"] or m["named"] or "")
        if number or title:
            found.append((number, title))
    return found


def normalised_title(text: str) -> str:
    """A section title without its numbering, spaces, punctuation and case: "9.3.1. 端口 转发" → "端口转发"."""
    return _PUNCTUATION.sub("", _NUMBERING.sub("", text.strip())).lower()


def is_section(heading: str, number: str, title: str) -> bool:
    """Whether ``heading`` is the section a pointer names by its number ("6.2.4") or its title ("默认值"); a link's
    longer text ("工程 - 模板，工程模板") names a section whose title it holds."""
    if number and re.match(rf"{re.escape(number)}(?![\d])", heading.strip()):
        return True
    name = normalised_title(heading)
    return len(name) >= 2 and bool(title) and (name == title or (len(title) >= 4 and name in title))
