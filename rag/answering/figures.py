"""The figure a clause gives: which numbers count something, in what measure, and which clause answers best.

"2024年形成了多少份协商报告？" is answered by the clause "形成了18份协商报告", not by "三级政协" (a numeral
naming nothing counted), "第九批" (an ordinal) or "debuild(1)" (part of a name); "有多少人听课" by "2万多人参训"
rather than "8位…成员作专题辅导" in the same sentence.
"""

from __future__ import annotations

import difflib
import re
from typing import Callable

from rag.question import units
from rag.question.analysis import COUNT_CLASSIFIERS, QuestionInfo
from rag.text.numbers import Number, extract_numbers
from rag.text.tokens import bigrams, trim


def _overlap(tokens: set[str], text: str) -> float:
    if not tokens:
        return 0.0
    found = set(bigrams(text))
    return len(tokens & found) / len(tokens)


def score_text(info: QuestionInfo, text: str) -> float:
    """How well ``text`` covers the question: its focus weighs three times its other words."""
    # "方面的成果": the phrases either side of 的 are matched, not the bigrams across it
    focus = {g for part in info.focus.split("的") for g in bigrams(part)} if info.focus else set()
    years = {y for y in info.years}
    question = set(bigrams(" ".join(info.terms))) | years
    return 3 * _overlap(focus, text) + _overlap(question, text)


CLASSIFIERS = "个份篇件人名位次场期批项家条种支所座万亿千百元倍余多盟市县旗区户"  # not 届: "十三届" names a term


def quantities(clause: str, years: tuple[str, ...]) -> list:
    """Numbers in a clause that count something: not years or dates, not ordinals (第九批), not names (三北).

    "连续补贴5年" counts years: a duration is a quantity.
    """
    nums = []
    for n in extract_numbers(clause):
        tail = clause[n.end : n.end + 1]
        if units.is_duration(clause, n):
            nums.append(n)
            continue
        if tail in ("年", "月", "日") or n.text in years or clause[: n.start].rstrip().endswith("第"):
            continue
        if not n.text[0].isdigit() and (not tail or tail not in CLASSIFIERS) and not units.MEASURE_WORD.match(
                clause, n.end):
            continue
        if _NAMES_NUMBER.search(clause[: n.start]):
            continue  # "debuild(1)", "v2.1", "gcc-12": part of a name, not a count
        nums.append(n)
    return nums or _only_one(clause)


# "只有一次机会", "最多一个": one, bounded by the words around it (a lone 一 is usually a word: 一次次, 一个新的)
_ONLY_ONE = re.compile(rf"(?:只|仅|最多|至多|至少|一共|总共)(?:有|能|可以|可|需要?){{0,2}}(一)(?=([{CLASSIFIERS}]))(?!.\2)")


def _only_one(clause: str) -> list:
    found = _ONLY_ONE.search(clause)
    return [Number(value=1.0, text="一", start=found.start(1), end=found.end(1))] if found else []


_NAMES_NUMBER = re.compile(r"[A-Za-z_][A-Za-z0-9_.+-]*[(（]?$")


def best_clause(info: QuestionInfo, sentence: str, wanted: Callable[[str], bool], span: int = 1) -> str | None:
    """The clause of ``sentence`` that answers: it holds what ``wanted`` asks for and covers the question best.

    ``span`` > 1 (a question asking for several numbers at once) extends it over the clauses that follow.
    """
    clauses = [trim(c) for c in _clauses(sentence)]  # (a bracket closed in the clause keeps its close: "（早晚各一次）")
    unit = asked_unit(info.text) if info.kind == "count" else None
    best, best_score = None, (-1, -1, -1.0, 0)
    # a rate stated once holds for the clauses after it: "一类城市每人每天不超过500元，二类城市不超过400元"
    rated = [any(_same_rate(info.text, c) for c in clauses[:i + 1]) for i in range(len(clauses))]
    for i, clause in enumerate(clauses):
        if not clause or not wanted(clause):
            continue
        # "有多少人听课": "2万多人参训" before "8位…成员作专题辅导", whatever words each shares with the question
        # (a figure the question states itself, the 六 of "“六个倍增”计划推动几个盟市…", is not the one asked)
        score = (bool(unit) and _in_unit(clause, unit, info.text),
                 _same_bound(info.text, clause) + rated[i] + _same_dimension(info.text, clause),
                 score_text(info, clause), _longest_shared(info.text, clause))
        if score > best_score:
            best, best_score = i, score
    if best is None:
        return None
    following = [c for c in clauses[best + 1 :] if c and wanted(c)][: span - 1]
    return "，".join([clauses[best], *following])


_LABEL = re.compile(r"^\s*[^：:]{1,12}[：:](?=\s*\S)")  # "工号：1002", a table cell under its header


def _clauses(sentence: str) -> list[str]:
    """The clauses of ``sentence``, split at commas, semicolons and colons; a label of up to 12 characters keeps
    its value ("工号：1002" of a table row: the header is what says which figure it is)."""
    found = []
    for part in _outside_brackets(_PART_SPLIT, sentence):
        found += [part] if _LABEL.match(part) and len(_COLON.split(part)) == 2 else _COLON.split(part)
    return found


def _longest_shared(question: str, clause: str) -> int:
    """The length of the longest run of three or more characters the clause shares with the question: on a tie of
    words, "二类城市（省会城市）不超过400元" answers "在省会城市……最多报多少" before "一类城市……每人每天不超过500元"."""
    size = difflib.SequenceMatcher(None, question, clause, autojunk=False).find_longest_match().size
    return size if size >= 3 else 0  # a word of two is the bigrams' to weigh; one character is chance


def _outside_brackets(pattern: re.Pattern, text: str) -> list[str]:
    """``text`` split where ``pattern`` matches outside a closed pair of brackets: "一类城市（北京、上海、广州、深圳）
    每人每天不超过500元" is one clause."""
    inside = [m.span() for m in _BRACKETED.finditer(text)]
    parts, start = [], 0
    for m in pattern.finditer(text):
        if not any(a < m.start() < b for a, b in inside):
            parts.append(text[start:m.start()])
            start = m.end()
    return [*parts, text[start:]]


_BRACKETED = re.compile(r"[（(【\[][^（）()【】\[\]\n]{1,60}[）)】\]]")
# (not at a Latin "," or ";" inside a figure or a formula: "2,000", "NETWORKDAYS.INTL(C3;D3;「0000001」;F3:J3)")
_PART_SPLIT = re.compile(r"[、，；]|[,;](?![A-Za-z0-9_=;\"'(\[$「“])")
_COLON = re.compile(r"：|:(?![A-Za-z0-9/\\])")  # not a range's, a time's or an address's ("F3:J3", "12:30", "C:\\")


# the bound a figure is asked at, and the ways a clause states it: "最多采多少血" is "最多不得超过四百毫升"
_BOUNDS = (
    (re.compile(r"最多|至多|最高|最大|最长|上限"), re.compile(r"最多|至多|最高|最大|最长|上限|不得?超过|不超过|以内")),
    (re.compile(r"最少|至少|最低|最小|最短|下限"), re.compile(r"最少|至少|最低|最小|最短|下限|不得?少于|不少于|不得?低于|以上")),
    (re.compile(r"一般|通常|平均"), re.compile(r"一般|通常|平均")),
)
_RISE, _FALL = f"{'|'.join(units.RISES)}|增幅", f"{'|'.join(units.FALLS)}|降幅"
# a change asked ("收入增长了多少"): the clause that states the change ("增长7.3%"), not the level ("29,870元")
_CHANGES = (
    (re.compile(rf"(?:{_RISE}|涨)了?(?:多少|几)|(?i:how much (?:did|has|have|does|do|will) .*"
                r"\b(?:grow|increase|rise)|\bgrowth (?:rate )?of\b)"), re.compile(rf"{_RISE}|涨")),
    (re.compile(rf"(?:{_FALL}|降)了?(?:多少|几)|(?i:how much (?:did|has|have|does|do|will) .*"
                r"\b(?:fall|drop|decline|decrease|shrink))"), re.compile(_FALL)),
)


def states_change(question: str, text: str) -> bool:
    """The question asks a change ("增长了多少") and ``text`` states one ("" only tells whether it asks)."""
    return any(asked.search(question) and (not text or stated.search(text)) for asked, stated in _CHANGES)


def _same_bound(question: str, clause: str) -> bool:
    """The clause states the figure at the bound the question asks ("最多", "至少", "一般"), or the change it asks."""
    return any(asked.search(question) and stated.search(clause) for asked, stated in _BOUNDS + _CHANGES)


# a rate asked ("每秒能执行多少次") and the ways a clause states one: "性能(次/秒)：29k", "每秒 29k 次", "29k/s"
_RATE_ASKED = re.compile(r"每(秒|分钟|小时|天|日|周|月|年)")
_PER_DAY = r"/\s*[天日]|每[天日]|per day"
_RATE_WRITTEN = {"秒": r"/\s*(?:秒|s\b|sec)|每秒|per second", "分钟": r"/\s*(?:分钟?|min)|每分钟?|per minute",
                 "小时": r"/\s*(?:小?时|h\b|hour)|每小时|per hour", "天": _PER_DAY, "日": _PER_DAY,
                 "周": r"/\s*周|每周|per week", "月": r"/\s*月|每月|per month", "年": r"/\s*年|每年|per year"}


def _same_rate(question: str, clause: str) -> bool:
    """The clause states its figure per the time the question asks it per ("每秒" and "次/秒")."""
    asked = _RATE_ASKED.search(question)
    return bool(asked) and re.search(_RATE_WRITTEN[asked.group(1)], clause, re.IGNORECASE) is not None


def _same_dimension(question: str, clause: str) -> bool:
    """The clause says the dimension the question asks ("有多深": "最大水深约32.8米", not "海拔3196米")."""
    asked = units.asked_dimension(question)
    return bool(asked) and re.search(asked[1], clause) is not None


def asked_unit(question: str) -> str | None:
    """The measure word a count question asks in: "人" of "有多少人听课", "支" of "派出了几支队伍"."""
    m = re.search(rf"(?:多少|几)([{COUNT_CLASSIFIERS}])", question)
    return m.group(1) if m else None


def _in_unit(clause: str, unit: str, question: str) -> bool:
    """A figure of ``clause`` counted in ``unit`` ("2万多人" in 人), other than one the question writes itself."""
    unit = "(?:个)?(?:工作)?[天日]" if unit in "天日" else unit  # "多少天" is counted in 日 too: "30日内", "5个工作日"
    return any(re.match(rf"\s*[余多]?\s*{unit}", clause[n.end:]) and clause[n.start:n.end + 1] not in question
               for n in extract_numbers(clause))


def counts_things(text: str, years) -> bool:
    """Every figure of ``text`` counts things ("两件大事", "12个"): none is a measure written another way."""
    figures = [n for n in extract_numbers(text) if n.text not in years]
    return bool(figures) and all(text[n.end:n.end + 1] in CLASSIFIERS for n in figures)
