"""A unit that only says where to read on ("参见 默认值 一节") is not an answer: it goes after a unit that says
something, and when it is the best unit, what the section it points to says goes first."""

from __future__ import annotations

import re

from rag.answering.evidence_units import promoted
from rag.text.pointers import is_section, pointed_sections


# "……在《工程模板》一节中介绍", "请参阅第 6.1 节", "see section 3": a pointer to where the answer is, not the answer
_POINTER = re.compile(r"(?:参见|请参阅|请参考|参考|详见|请见|见)\s*(?:第\s*[\d.]+\s*[节章]|[《“「\[])|"
                      r"[》”」\]]\s*(?:一|这一|那一)?[节章](?:中|里)?(?:有|作了?|进行了?)?(?:介绍|说明|描述|讨论|详述)|"
                      r"\bsee (?:the )?(?:section|chapter)\b", re.I)
_POINTER_TOP = 3
_ASIDE = re.compile(r"[（(][^（()）]*[）)]")
_OWN_WORDS = 20  # characters a unit says besides a bracketed pointer for it to be an answer of its own


def only_points(text: str) -> bool:
    """A short unit whose point is where to read on; one that says something and adds "(见第 9.2 节)" is not."""
    if not _POINTER.search(text) or len(text) > 80:
        return False
    rest = _ASIDE.sub("", text).strip()
    return bool(_POINTER.search(rest)) or len(rest) < _OWN_WORDS


def pointers_later(ranked: list) -> list:
    """A unit that only points to another section goes after the first of the top units that says something."""
    if not ranked or not only_points(ranked[0].answer_text):
        return ranked
    found = next((k for k, ev in enumerate(ranked[1:_POINTER_TOP], 1)
                  if ev.supported and not only_points(ev.answer_text)), None)
    if found is None:
        return ranked
    return promoted(ranked, found)


def follow_pointer(ranked: list, headings) -> list:
    """"man 默认按什么顺序找章节" finds "默认将按预定的顺序查找所有可用的章节（参见 默认值 一节）": when the best unit
    sends the reader to a section, a unit under that section's heading (``headings(ev)``: the headings a unit
    stands under, "选项 › 常规选项") goes first, so the answer is what the section says, not where to read it: the
    sentence that leads into its list or value ("其默认行为如下所示：") if there is one, else its best unit."""
    targets = pointed_sections(ranked[0].answer_text) if ranked else []
    if not targets:
        return ranked
    under = [k for k, ev in enumerate(ranked)
             if not only_points(ev.answer_text) and any(is_section(headings(ev).split(" › ")[-1], number, title)
                                                        for number, title in targets)]
    if not under or under[0] == 0:
        return ranked
    leading = [k for k in under if ranked[k].answer_text.rstrip().endswith(("：", ":"))]
    return promoted(ranked, (leading or under)[0])
