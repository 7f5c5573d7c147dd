"""Questions that compare years or ask two things: one question per year (or per asked part), each retrieved,
answered and cited on its own.

"2023年和2024年各增开了几次会议？" → ("2023年", "2023年增开了几次会议？"), ("2024年", "2024年增开了几次会议？");
"X是哪一年首次建立的？2024年又围绕它做了什么？" → the two questions as written.
"""

from __future__ import annotations

import re

from rag.question.followup import referent
from rag.question.multifact import split_items, split_question

_YEAR = r"(?:19|20)\d{2}"
# "2023年和2024年", "2023、2024年", "2023年与2024年" – the years the question sets side by side
_YEAR_GROUP = re.compile(rf"(?<!\d)({_YEAR})\s*年?\s*(?:和|与|及|、|以及|跟|同)\s*({_YEAR})\s*年")
# words that only say "for each of them", meaningless once a single year is asked ("各类", "各族" stay)
_EACH = re.compile(r"(?:分别|各自|各(?![类种族级界地项个位部门方]))(?=[\u4e00-\u9fff])")
# which year has more, or by how much a figure changed: one answer about both years, so not split
_WHICH_MORE = re.compile(r"哪一?年|(?:增加|减少|增长|下降|多|少)了多少|相比|相差|差了?多少")


def sub_questions(question: str) -> tuple[list[str], list[str]]:
    """The single questions inside ``question`` and the label each part's answer gets ([] for no labels).

    Two years side by side are retrieved year by year, so one year's passages cannot crowd out the other's.
    """
    years = split_years(question)
    if years:
        return [q for _, q in years], [label for label, _ in years]
    single = split_asks(question) or split_question(question)
    items = split_items(question) if len(single) < 2 else []
    if items:  # "1、2、3 分别表示什么": one question per item, each answer labelled with its item
        return [q for _, q in items], [label for label, _ in items]
    return single, []


def split_years(question: str) -> list[tuple[str, str]]:
    """(label, single-year question) per year set side by side in ``question``; [] when it names no such pair."""
    q = question.strip()
    group = _YEAR_GROUP.search(q)
    if not group or group.group(1) == group.group(2) or _WHICH_MORE.search(q):
        return []
    parts = []
    for year in (group.group(1), group.group(2)):
        single = q[: group.start()] + f"{year}年" + q[group.end():]
        parts.append((f"{year}年", _EACH.sub("", single)))
    return parts


def split_asks(question: str) -> list[str]:
    """The questions in ``question`` when it holds two, each ending in its own question mark; else []."""
    pieces = _asked_in_turn(question)
    if len(pieces) != 2 or not all(p.endswith(("？", "?")) and len(p) > 4 for p in pieces):
        return []
    first, second = pieces
    subject = _subject(first)
    this = _THIS.search(second)
    if subject and _PRONOUN.search(second):  # "又围绕它做了什么": "它" is the first question's subject
        second = _PRONOUN.sub(subject, second, count=1)
    elif this:  # "这个数据库又是和谁共用的": the database of what the first question names ("GIMP 的数据库")
        named = referent(first)
        if named and named.endswith(this.group(1)):  # "交这个税" after a question about 车辆购置税
            second = second[:this.start()] + named + second[this.end():]
        elif named:
            second = second[:this.start()] + f"{named} 的" + second[this.start() + 2:]
    elif _INSIDE.match(second) and (topic := _TOPIC.match(first)):  # "里面评审专家至少占多大比例": inside what
        second = topic.group(1) + second  # the first asks about
    elif narrowed(question):
        return []  # "ls 能不能让目录排在前面？用哪个开关？": the second asks which way the first can: one question
    elif len(second) <= _ELLIPTIC:  # "……本地会留一份吗？放在哪个目录？": the second asks on about the first's subject
        second = f"{_YES_NO_END.sub('', first)}，{second}"
    return [first, second]


_ELLIPTIC = 8  # characters of a second question too short to name its own subject ("放在哪个目录？")


def narrowed(question: str) -> str | None:
    """The first of two questions when the second only asks which way it can be done ("cnchar 能不能把简化字换成
    繁体？调哪个方法？" → "cnchar 能不能把简化字换成繁体？"): what to search for, the second's words ("方法") being
    everywhere; None for any other question."""
    pieces = _asked_in_turn(question)
    if len(pieces) != 2 or len(pieces[1]) > _ELLIPTIC or not _WHETHER.search(pieces[0]):
        return None
    return pieces[0]


def _asked_in_turn(question: str) -> list[str]:
    """The questions of ``question``, each up to its question mark (a question mark inside quotes ends the quoted
    question, not the asker's: "询问“允许……登录吗？”的是哪个模板？")."""
    return [p.strip() for p in re.split(r"(?<=[？?])(?![”」』》\"'])", question.strip()) if p.strip()]


_WHETHER = re.compile(r"能不能|能否|可不可以|可否|有没有办法|有没有.{0,4}(?:办法|方法|选项|开关|参数)")
_YES_NO_END = re.compile(r"(?:吗|呢|嘛)?\s*[？?]$")


_PRONOUN = re.compile(r"它们|它|该项|这项|此项")
_INSIDE = re.compile(r"(?:这|那)?(?:里面|里头|其中|当中)")
# the thing a question opens with, before what it asks of it: "评标委员会" of "评标委员会最少要几个人？"
_TOPIC = re.compile(r"^([\u4e00-\u9fffA-Za-z0-9]{2,12}?)(?:最少|最多|至少|至多|一共|总共|通常|一般|需要|要|应当|应该|必须|"
                    r"有|是|由|能|可以)")
_THIS = re.compile(r"这个([\u4e00-\u9fff])")
_QUOTED = re.compile(r"[“\"《]([^”\"》]{2,30})[”\"》]([\u4e00-\u9fff]{0,12}?)(?=是|在|于|由|的|[？?])")


def _subject(question: str) -> str:
    """What a question is about when it names it in quotes: "“A+B”纠纷化解机制" in "“A+B”纠纷化解机制是哪一年建立的？"."""
    m = _QUOTED.search(question)
    if not m:
        return ""
    if _ASKING.search(m.group(2)):  # "《……办法》从什么时候开始施行": the words after the name ask, they name nothing
        return question[m.start(): m.end(1) + 1]
    return question[m.start(): m.end()]


_ASKING = re.compile(r"什么|哪|谁|几|多少|怎|如何|为何|是否|吗")
