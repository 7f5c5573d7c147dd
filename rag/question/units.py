"""What kind of figure a count question wants when it is not a count of things: a duration or a share.

"一共能领几年？" wants "连续补贴5年" (a number of years, not a calendar year); "占营收的比例是多少？" wants
"占营业收入的11.8%". Neither names the counted thing in the documents' words, so neither has a focus word
the evidence must hold: the wanted kind of number stands in for it.
"""

from __future__ import annotations

import re

from rag.question.answer_type import AREA_NOUN, ASKS_DIMENSION
from rag.text.numbers import Number

_ASKS_DURATION = re.compile(r"几年|多少年|(?i:how many years|how long)")
_ASKS_SHARE = re.compile(r"比例|占比|百分之几|百分比|比重|(?i:percentage|proportion|what share)")
# "连续补贴5年", "为期3年", "期限为10年": the words that make "N年" a length of time, not a year
_DURATION_LEAD = re.compile(r"(?:期限|为期|连续|共|领取|长达|满|持续|历时|累计)[\u4e00-\u9fff]{0,3}$")


_DAYS = re.compile(r"\s*(?:个)?(?:工作)?日(?:内|以内|之内|起|后|前|以上|以下|届满)|\s*个(?:工作)?日")


def asks_duration(question: str) -> bool:
    """Whether the question asks how many years something lasts."""
    return bool(_ASKS_DURATION.search(question))


def asks_share(question: str) -> bool:
    """Whether the question asks for a proportion (answered by a percentage)."""
    return bool(_ASKS_SHARE.search(question))


def is_duration(clause: str, number: Number, asked: bool = False) -> bool:
    """Whether ``number`` followed by 年 is a length of time: after a duration word, or asked as one; or whether
    it counts days ("自收到发票后30日内", "5个工作日").

    A calendar year (2024年) never is, nor a day of a month ("7月26日").
    """
    if _DAYS.match(clause, number.end) and number.value < 1000:
        return not re.search(r"[月/\-.]\s*$", clause[max(0, number.start - 2) : number.start])
    if clause[number.end : number.end + 1] != "年" or number.value >= 100:
        return False
    return asked or bool(_DURATION_LEAD.search(clause[max(0, number.start - 8) : number.start]))


def is_share(number: Number) -> bool:
    """Whether the number is written as a percentage."""
    return number.text.endswith("%") or number.text.startswith("百分之")


_SHARE_OF = re.compile(r"占(?:了)?([\u4e00-\u9fff]{1,10}?)的?(?:比例|占比|比重|百分比|百分之几|多少|\d)")


def same_whole(question: str, clause: str) -> bool:
    """Whether a share in ``clause`` is of the whole the question names ("占营收的比例" and "占营业收入的11.8%"),
    not of another one ("占员工总数的33.2%"); True when either names no whole."""
    asked, given = _SHARE_OF.search(question), _SHARE_OF.search(clause)
    if not asked or not given:
        return True
    return bool(set(asked.group(1)) & set(given.group(1)))


# the words that state a change, rising or falling ("增长7.3%", "比上年减少1.2千公顷")
RISES = ("增长", "增加", "提高", "上升", "上涨")
FALLS = ("下降", "减少", "降低", "下跌")


# the measures a figure may be asked in ("多少公里", "几个小时"): one in another measure answers something else
_MEASURES = {
    "length": r"公里|千米|米|厘米|毫米|海里|英里|光年|km|cm|mm",
    "weight": r"吨|公斤|千克|克|斤|kg",
    "money": r"元|万元|亿元|块钱|美元|钱|yuan|dollars?|USD|EUR|RMB",
    "area": r"平方米|平方公里|平方千米|平米|亩|公顷",
    "time": r"小时|分钟|秒|天|日|工作日|周|星期|个月|hours?|minutes?|seconds?|days?|weeks?|months?",
    "temperature": r"摄氏度|度|℃",
    "size": r"字节|[KMGT]i?B?(?![A-Za-z])|兆|bytes?",
    "times": r"倍",
}
TIME_MEASURE = _MEASURES["time"]
_ASKED_MEASURE = re.compile(r"(?:多少|几)个?\s*(" + "|".join(_MEASURES.values()) + r")")
# "文件的大小", "多大的磁盘空间", "maximum size of a package": a size in bytes
_ASKS_SIZE = re.compile(r"(?:文件|软件包|包|磁盘|分区|镜像|内存|上传)的?(?:大小|容量)|多大的?(?:文件|空间|内存|磁盘|分区|容量)|"
                        r"\bsize of (?:a |an |the )?(?:[\w-]+ )?(?:files?|packages?|uploads?|disks?|partitions?|images?|"
                        r"archives?|memory)\b", re.I)


# the same asked in English: "how much did … spend", "how many kilometres", "how many hours"
_ASKED_IN_ENGLISH = (
    ("length", r"how (?:many|much|long) (?:kilomet(?:er|re)s|km|met(?:er|re)s|miles)\b"),
    ("weight", r"how (?:many|much) (?:tons|tonnes|kilograms|kg|grams)\b|how much does .* weigh\b"),
    ("money", r"how much (?:money|did .* (?:spend|cost|pay|invest|raise)|does .* cost|is .* worth)\b|"
              r"how many (?:yuan|dollars)\b|what (?:is|was) the (?:cost|price|budget) of\b"),
    ("area", r"how many (?:square )?(?:hectares|acres|mu)\b"),
    ("time", r"how many (?:hours|minutes|seconds|days|weeks|months)\b"),
    ("temperature", r"how many degrees\b|what temperature\b"),
    ("size", r"how many (?:bytes|kilobytes|megabytes|gigabytes|[kmg]b)\b"),
)


# a Chinese figure in a measure ("四百毫升", "三十公里"): a quantity, as "18份" is
MEASURE_WORD = re.compile(r"\s*(?:毫升|升|" + "|".join(_MEASURES[k] for k in ("length", "weight", "money", "area")) + r")")


# a dimension asked with "多" ("有多深", "海拔多高", "面积有多大"), the measure it is in and the words that say it
_DIMENSIONS = {"深": ("length", "深"), "高": ("length", "高|海拔"), "远": ("length", "远|距离|距|相距|相隔"),
               "宽": ("length", "宽"), "厚": ("length", "厚"), "长": ("length", "长|历时|持续"), "重": ("weight", "重")}


def asked_dimension(question: str) -> tuple[str, str] | None:
    """The measure a "有多深" question asks in, and the words a clause says that dimension with ("深")."""
    m = ASKS_DIMENSION.search(question)
    if not m:
        return None
    if m.group(2):
        return _MEASURES["area"], AREA_NOUN
    if not m.group(1):  # "多久", "多长时间"
        return _MEASURES["time"], "内|以内|期限|时限|历时|持续"
    name, words = _DIMENSIONS[m.group(1)]
    if m.group(1) == "长":  # "有多长": a length or a length of time ("冰期有多长")
        return f"{_MEASURES[name]}|{_MEASURES['time']}", words
    return _MEASURES[name], words


def asked_measure(question: str) -> str | None:
    """The measure a count question asks its figure in ("多少公里高速公路", "how much did … spend"), or None."""
    m = _ASKED_MEASURE.search(question)
    if m:
        return next(group for group in _MEASURES.values() if re.fullmatch(group, m.group(1)))
    if dimension := asked_dimension(question):
        return dimension[0]
    if _ASKS_SIZE.search(question):
        return _MEASURES["size"]
    return next((_MEASURES[name] for name, pattern in _ASKED_IN_ENGLISH if re.search(pattern, question, re.I)), None)


def in_measure(clause: str, number: Number, measure: str) -> bool:
    """Whether ``number`` in ``clause`` is given in ``measure`` ("300公里", "2 GB", "3,000元")."""
    return bool(re.match(rf"\s*[余多]?\s*(?:{measure})", clause[number.end:number.end + 8]))


def without_asking_words(terms: tuple[str, ...]) -> tuple[str, ...]:
    """The question's terms without the words that only ask for a share ("比例") or a duration ("几年")."""
    return tuple(t for t in terms if not _ASKS_SHARE.fullmatch(t) and not _ASKS_DURATION.fullmatch(t)
                 and not _TIME_ASKED.fullmatch(t)) or terms


_TIME_ASKED = re.compile(rf"(?:{TIME_MEASURE})(?:内|以内|之内|后|以后|前|以前|左右)?")  # "天内" of "多少天内付款"
