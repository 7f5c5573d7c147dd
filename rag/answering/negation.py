"""A question asking how not to do something ("建用户时不想顺带生成同名的组，用哪个开关？") is answered by the entry that
says not to do it ("-N, --no-user-group：不创建同名的组", "Do not create a group with the same name as the user"),
not by the one that does it ("-U, --user-group：创建一个和用户同名的组"), however alike the two read."""

from __future__ import annotations

import re

from rag.answering.evidence_units import promoted
from rag.documents.units import ENTRY_KINDS
from rag.question.analysis import QuestionInfo

# a wish not to do something: "不想顺带生成", "不要自动创建", "禁止……", "关掉……"
_NOT_WANTED = re.compile(r"不想|不要|不让|不用|不需要|不必|(?<![\u4e00-\u9fff])别|禁止|禁用|避免|关掉|关闭|取消|跳过|"
                         r"\b(?:do not|don't|not to|without|disable|avoid|skip|prevent)\b", re.I)
# an entry saying not to: "不创建", "禁用", "Do not create", "--no-user-group", "without …"
_SAYS_NOT = re.compile(r"不(?!同)|没有|禁止|禁用|跳过|忽略|--no-|\b(?:do not|don't|does not|never|not|without|disable|"
                       r"skip|ignore|suppress|inhibit)\b", re.I)
_TOP = 5  # the entries looked at: the selector's best five units


def negated_first(info: QuestionInfo, qtype: str, ranked: list) -> list:
    """For a question asking which option or command keeps something from happening: when the best unit does not
    say not to, the first of the top entries that does goes first."""
    if qtype != "command" or not ranked or not _NOT_WANTED.search(info.text) or _SAYS_NOT.search(ranked[0].answer_text):
        return ranked
    found = next((k for k, ev in enumerate(ranked[1:_TOP], 1)
                  if ev.kind in ENTRY_KINDS and ev.supported is not False and _SAYS_NOT.search(ev.answer_text)), None)
    return ranked if found is None else promoted(ranked, found)
