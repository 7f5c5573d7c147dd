"""Where a place is: for "在哪里", the unit that tells a location ("青海湖位于青海省东北部") before one that only
describes the thing asked about; for "哪里人", the one that gives a person's home ("浙江上虞人")."""

from __future__ import annotations

import re

from rag.answering.evidence_units import promoted
from rag.question.analysis import QuestionInfo

# a question about the location of a thing or the home of a person, not a file, a menu or a setting (those have their
# own answers: a path, a menu's path)
_ASKS_WHERE = re.compile(r"在哪里|在哪儿|在哪(?![个些一])|位于哪|地处哪|什么地方|何地|(?i:\bwhere (?:is|are|was|were)\b)")
_ASKS_HOME = re.compile(r"哪里人|哪儿人|何地人|什么地方人|籍贯|(?i:\bwhere was .* born\b)")
_NOT_A_PLACE = re.compile(r"文件|目录|文件夹|菜单|路径|设置|选项|按钮|窗口|日志|配置|命令|(?i:file|director|folder|menu|path)")
_SAYS_WHERE = re.compile(r"位于|地处|坐落|座落|发源于|分布于|分布在|(?i:\blocated\b|\bsituated\b|\blies (?:in|on)\b)")
_SAYS_HOME = re.compile(r"[\u4e00-\u9fff]{2,6}人(?=[，,。；;）)])|籍贯|出生于|生于|(?i:\bborn in\b)")
_TOP = 3  # the units a location may come from: the selector's best three


def place_first(info: QuestionInfo, ranked: list) -> list:
    """The best of the selector's top units that tells where, first, when the question asks where and the best
    does not tell it."""
    if _NOT_A_PLACE.search(info.text):
        return ranked
    says = _SAYS_HOME if _ASKS_HOME.search(info.text) else _SAYS_WHERE if _ASKS_WHERE.search(info.text) else None
    if says is None or not ranked or says.search(ranked[0].answer_text):
        return ranked
    found = next((k for k, ev in enumerate(ranked[1:_TOP], 1)
                  if ev.supported is not False and says.search(ev.answer_text)), None)
    return promoted(ranked, found) if found else ranked
