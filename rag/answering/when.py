"""A "when" question's answer units: those that date the event asked about, and what counts as a date in them."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Callable, Sequence

from rag.answering.evidence_units import FIGURE_TOP, Evidence
from rag.question.analysis import QuestionInfo, date_predicate, is_mostly_cjk
from rag.text.tokens import WHEN
from rag.types import Passage

def dating_units(info: QuestionInfo, ranked: list[Evidence],
                 passages: Sequence[Passage]) -> tuple[list[Evidence], Callable[[str], bool]]:
    """The units that may date what ``info`` asks about, best first, and whether a text gives a date.

    "when" is answered by a date of the event asked about ("签署"): a unit without one only mentions the subject,
    or dates another event of it (a meeting about the agreement).
    """
    event = date_predicate(info.text) if info.is_chinese else ""
    # "从哪天算起": a day told by the event ("购置应税车辆的当日", "收到通知之日起") is a date too
    relative = bool(_WHICH_DAY.search(info.text))

    def dated(text: str) -> bool:
        return bool(WHEN.search(text) or (relative and _DAY_OF.search(text)))

    if event not in _LIGHT_VERBS and not any(event in p.chunk.context + p.text for p in passages):
        # the event in the asker's words ("什么时候跟着出新版", "从哪天开始算"), which no passage says: a unit
        # that shares two characters of it ("发布新版本") or is in another language may date it; "签署" is not
        # told by the meeting that discussed it
        tail = _ASKS_WHEN.split(info.text)[-1]
        asked = {tail[k:k + 2] for k in range(len(tail) - 1)}
        said = [ev for ev in ranked if any(pair in ev.text for pair in asked) or not is_mostly_cjk(ev.text)]
    else:
        said = [ev for ev in ranked if event in ev.text or event[-2:] in ev.text]  # "开始施行": "施行日期"
    if _BORN_OR_DIED.search(event or info.text):  # "竺可桢（1890年3月7日－1974年2月7日）": a life's span dates
        spans = [ev for ev in ranked if _LIFESPAN.search(ev.text)]  # both ends, before any other date of the person
        said = spans + [ev for ev in said if ev not in spans]
    if event in _LIGHT_VERBS and not any(dated(ev.text) for ev in said[:FIGURE_TOP]) and dated(ranked[0].text):
        said = ranked[:1]  # "什么时候开始的" names no event of its own: the selector's best unit, if dated
    return [_with_year_before(ev, passages[ev.passage].text, dated) for ev in said], dated


def _with_year_before(ev: Evidence, text: str, dated: Callable[[str], bool]) -> Evidence:
    """A unit dated only by the year before it ("第二年，他发现了木星的四颗卫星。" after "1609年，伽利略……。"), together
    with the sentence that gives that year; any other unit as it is."""
    if dated(ev.text) or not _YEAR_AFTER.search(ev.text):
        return ev
    before = text[:ev.start].rstrip()
    if not before or "\n\n" in text[len(before):ev.start]:
        return ev  # the unit opens its paragraph: the year before it is another story's
    start = max(before.rfind(mark, 0, len(before) - 1) for mark in "。！？\n") + 1
    if not dated(text[start:ev.start]):
        return ev
    start += len(text[start:ev.start]) - len(text[start:ev.start].lstrip())
    return replace(ev, start=start, text=text[start:ev.end], shown="")


_ASKS_WHEN = re.compile(r"什么时候|何时|哪一天|哪天|几月几日|几号|哪一?年|哪个月")
_WHICH_DAY = re.compile(r"哪一?天|什么时候|何时|算起|起算")
# (or by a deadline: "在7日内退还", "5个工作日内", "30天内", "每季度第一个月的5日前")
_DAY_OF = re.compile(r"[\u4e00-\u9fff](?:的当日|的当天|之日|次日|当日起)|(?<![\d.])\d{1,3}\s*(?:个)?(?:工作)?[日天]内"
                     r"|(?<![\d.])\d{1,2}\s*[日号]前")
_LIGHT_VERBS = ("开始", "结束", "出现", "发生", "进行", "算起", "起算")  # "什么时候开始的": the subject is the event
# a year told by the one before it: "第二年", "次年", "同年", "三年后", "the following year", "two years later"
_YEAR_AFTER = re.compile(r"第二年|次年|翌年|同年|当年|[一两二三四五六七八九十\d]{1,3}\s*年(?:后|以后|之后)"
                         r"|(?i:\b(?:the\s+(?:next|following|same)\s+year|(?:a|one|two|three|\d+)\s+years?\s+later)\b)")
_BORN_OR_DIED = re.compile(r"出生|生于|诞生|出世|去世|逝世|离世|过世|病逝|死|卒")
# a person's years in brackets after the name: "（1890年3月7日－1974年2月7日）", "(1564-1642)"
_LIFESPAN = re.compile(rf"[（(]\s*(?:{WHEN.pattern})\s*[－—–~～-]+\s*(?:{WHEN.pattern}|(?<![\d.])1\d{{3}}(?!\d))|"
                       r"[（(]\s*1\d{3}\s*[－—–~～-]+\s*1\d{3}\s*[)）]")
