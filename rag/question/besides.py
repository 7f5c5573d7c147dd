"""What a "what else" question sets aside: "除了 dists 和 pool，还有哪些目录？" asks about the other directories.

The items named after 除了/Besides are the ones the answer must not be about, so they are left out of what is
searched for and matched, and a unit about them yields to one that is not (``answering.preferences``).
"""

from __future__ import annotations

import re

_CHINESE = re.compile(r"除(?!非)了?\s*([^，,。？?]{1,40}?)\s*(?:以外|之外|外)?[，,]\s*(?=[^，,]*(?:还|也|另外|其他|其它|别的))")
_ENGLISH = re.compile(r"^(?:besides|apart from|other than|except for|aside from)\s+([^,?]{1,80}),\s*", re.I)
_AND = re.compile(r"\s*(?:和|与|及|以及|或|、|,|，|/|\band\b|\bor\b)\s*", re.I)


def set_aside(question: str) -> tuple[str, tuple[str, ...]]:
    """The question without its "除了 A 和 B，" / "Besides A and B," clause, and the items it names (A, B);
    the question unchanged and () when it has none."""
    found = _CHINESE.search(question)
    rest = question[:found.start()] + question[found.end():] if found else question
    english = None if found else _ENGLISH.match(question)
    if english:
        found, rest = english, question[english.end():]
        rest = rest[:1].upper() + rest[1:]
    if found is None or len(rest.strip(" ？?。")) < 4:
        return question, ()  # none, or nothing would be left to ask
    items = tuple(i.strip(" “”\"'《》") for i in _AND.split(found.group(1)) if i.strip(" “”\"'《》"))
    return rest, items
