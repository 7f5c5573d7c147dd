"""Who did what a "谁……" question asks: a person or body named by the best units, or the person a "他" stands for."""

from __future__ import annotations

import re
from typing import Callable, Sequence

from rag.answering.evidence_units import Evidence, Extract
from rag.answering.persons import names_a_person, pronoun_referent
from rag.question.analysis import QuestionInfo, glosses
from rag.text.tokens import trim
from rag.types import Passage


def who(info: QuestionInfo, ranked: list[Evidence], passages: Sequence[Passage],
        supported: Callable[[QuestionInfo, Evidence], bool]) -> Extract | None:
    """A person named in the same passage as the best evidence (or in the same document, saying the deed asked),
    which names what the question names.

    A name from another passage would pin one subject's fact on another document's person.
    """
    best = ranked[0]
    if not supported(info, best):
        return None
    text = passages[best.passage].text
    glossed = glosses(info.text)  # "自由文本授权（GFDL）": the passage may name the thing only
    if info.is_chinese and any(e not in text and not (e in glossed and glossed[e] in text) for e in info.entities):
        return None
    named = [ev for ev in ranked[:3] if ev.passage == best.passage and supported(info, ev) and names_a_person(ev.text)]
    # "谁翻译的": a unit of the same document saying who did that goes first ("由 Leo-Hong 翻译整理")
    did = _WHO_DID.search(info.text)
    deed = _deed(did.group(1)) if did else None
    source = passages[best.passage].source
    # (the best unit answers the question's subject; this one says who did the deed: it need not be as close)
    doing = [ev for ev in ranked[:_WHO_TOP] if deed and deed.search(ev.text) and passages[ev.passage].source == source
             and (names_a_person(ev.text) or _BODY.search(ev.text) or _referent(ev, passages))]
    doer = _DOER_ASKED.search(info.text)  # "……的作者是谁": the unit that gives it as a field ("作者: 佚名")
    if doer and not doing:
        field = re.compile(rf"^\W*{doer.group(1)}\W*[:：]\s*\S")
        doing = [ev for ev in ranked[:_WHO_TOP] if field.match(ev.text) and passages[ev.passage].source == source]
    # "1921年，他在东南大学创建了……": the person "他" stands for did it
    return next((Extract(_with_referent(ev, passages), ev) for ev in doing or named), None)


def _referent(ev: Evidence, passages: Sequence[Passage]) -> str | None:
    passage = passages[ev.passage]
    return pronoun_referent(ev.text, passage.text[:ev.start], passage.chunk.context)


def _with_referent(ev: Evidence, passages: Sequence[Passage]) -> str:
    """The unit, after the person its opening "他" stands for ("竺可桢：1921年，他在东南大学创建了……")."""
    name = _referent(ev, passages)
    return f"{name}：{trim(ev.answer_text)}" if name else trim(ev.answer_text)


_DOER_ASKED = re.compile(r"(作者|著者|译者|编者|主编|负责人|联系人|维护者|发布者|开发者|设计者)(?:是谁|是哪位|叫什么)")
_WHO_TOP = 5  # the units a name of the doer asked may come from: the best unit's neighbours in the ranking
# a body that does what is asked ("经……卫生行政部门批准"): "谁批准" is answered by an authority as well as a person
_BODY = re.compile(r"[\u4e00-\u9fff]{2,}(?:部门|机关|政府|委员会|协会|机构|法院|检察院|公司|中心|小组|团队|办公室|[甲乙丙丁]方|"
                   r"(?<![内外全上下东西南北中头背腹顶底干])[部局厅署处])(?![\u4e00-\u9fff]{0,1}(?:分|门|长|位))")
_WHO_DID = re.compile(r"(?:由|是)?谁\s*([\u4e00-\u9fff]{1,2})")
# who does a deed, by the noun for its doer: "谁写的" is answered by "作者：Steve Oualline" as well as "由……编写"
_DOERS = {"写": "作者|著者", "著": "作者|著者", "译": "译者", "编": "编者|主编", "设计": "设计者|设计师",
          "开发": "开发者|开发人员", "维护": "维护者", "创建": "创建者|创始人", "创办": "创办人|创始人", "发明": "发明者|发明人"}


def _deed(asked: str) -> re.Pattern:
    """What a unit says to tell who did what "谁……" asks: the verb ("写" of "写的", "翻译") or its doer's noun."""
    verb = asked.removesuffix("的")
    doers = [nouns for key, nouns in _DOERS.items() if key in verb]
    return re.compile("|".join([re.escape(verb), *doers]))
