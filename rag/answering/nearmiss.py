"""Near-misses: the passages hold a related figure, not the one asked — a subset, another ordinal.

"2024年共收到多少件提案？" finds "86件重点督办提案": a figure about 提案, but only the 重点督办 ones.
"第三期培训班有多少人？" finds the 第二期's 223人. Such a figure is told as what it is, with its
citation, and the answer counts as an abstention; it is never passed off as the answer.
"""

from __future__ import annotations

import re

from rag.index.facts import CLASSIFIERS
from rag.text.numbers import parse_chinese_number
from rag.question.analysis import QuestionInfo, names_setting
from rag.question.answer_type import asks_for_key, for_another, key_asked_for
from rag.question.multifact import asks_several
from rag.question.units import FALLS, RISES
from rag.text.tokens import names_key, says_whole

_ORDINAL = re.compile(r"第([零〇一二两三四五六七八九十百\d]+)([期次届批轮场号个项条款章节])")
_CJK = re.compile(r"[\u4e00-\u9fff]")
LOOKBACK = 80  # characters before the evidence sentence that may still name its ordinal ("第二期…。共223人")


def _ordinals(text: str) -> set[tuple[float, str]]:
    found = set()
    for number, counter in _ORDINAL.findall(text):
        value = parse_chinese_number(number)
        if value is not None:
            found.add((float(value), counter))
    return found


def other_ordinal(info: QuestionInfo, context: str) -> str | None:
    """The ordinal the question names ("第三期") when the evidence's context does not name it."""
    asked = _ordinals(info.text)
    if not asked:
        return None
    present = _ordinals(context)
    for value, counter in asked:
        if (value, counter) not in present:
            m = next(m for m in _ORDINAL.finditer(info.text) if m.group(2) == counter)
            return m.group()
    return None


# "GIMP 2.2", "KiCad 6.0": a release named by its program's name and version
_NAMED_VERSION = re.compile(r"(?<![\w.])([A-Za-z][\w+-]*)\s*[vV]?(\d+(?:\.\d+)+)(?![\w.])")


def other_version(info: QuestionInfo, context: str, heading: str = "") -> str | None:
    """The release the question names ("GIMP 2.2") when ``context`` (the evidence) names only other releases of the
    same program ("GIMP 的 1.2.0 版于 2000 年……发布"): a fact about another release. Not when the ``heading`` the
    evidence stands under names the release asked ("GIMP 2.6 的新特性" over "……计划在 GIMP 2.8 中优化它")."""
    for m in _NAMED_VERSION.finditer(info.text):
        name, version = m.groups()
        pattern = rf"(?<![\w.]){re.escape(name)}\s*(?:的\s*)?[vV]?(\d+(?:\.\d+)*)(?![\w.])"
        said = re.findall(pattern, context, re.I)
        if any(_same_release(v, version) for v in re.findall(pattern, heading, re.I)):
            continue
        if said and not any(_same_release(v, version) for v in said):
            return f"{name} {version}"
    return None


def _same_release(a: str, b: str) -> bool:
    """"2.2" and "2.2.0", "2" and "2.0": one names the other's release."""
    x, y = a.split("."), b.split(".")
    n = min(len(x), len(y))
    return x[:n] == y[:n] and all(p == "0" for p in (x[n:] + y[n:]))


_BOUND = re.compile(r"^(?:倍|成|%|％)?(?:以下|以上|以内|之内|左右|上下|多|余)?的?")


def subset_qualifier(info: QuestionInfo, clause: str) -> str | None:
    """The qualifier that narrows the evidence's figure to a subset the question did not ask about.

    "86件重点督办提案" for a question about 提案 → "重点督办"; None when the question names the
    qualifier itself (its characters) or the clause counts the focus directly.
    """
    focus = info.focus
    if not focus or focus not in clause:
        return None
    head = clause[: clause.index(focus)]
    m = None
    for m in re.finditer(r"(第\s*)?(?:\d+|[零〇一二两三四五六七八九十百千万亿]+)", head):
        pass
    if m is None or m.group(1):  # "第七条 乙方需提前退租的": an ordinal counts nothing
        return None
    rest = head[m.end() :].lstrip("余多")
    rest = rest[1:] if rest[:1] and rest[0] in CLASSIFIERS else rest  # the unit: "件", "篇"
    rest = _BOUND.sub("", rest)  # "二倍以下的惩罚性赔偿": a multiple and its bound, no narrower kind of the thing
    qualifier = "".join(_CJK.findall(rest))
    # a short modifier right before the thing counted ("重点督办"), not a list of who ("委员和干部")
    if not 2 <= len(qualifier) <= 6 or re.search(r"[和及与、]", rest) or not head.endswith(qualifier):
        return None
    unseen = [c for c in qualifier if c not in info.text]
    return qualifier if len(unseen) * 2 > len(qualifier) else None


# "默认是多少", "the default …": only a value the text calls the default answers it
_ASKS_DEFAULT = re.compile(r"默认|缺省|\bdefaults?\b", re.I)
_SAYS_DEFAULT = re.compile(r"默认|缺省|预设|预定义|出厂|\bdefaults?\b|\bby default\b|\bpredefined\b", re.I)
LEAD_IN = 300  # characters before a table row that may name what the table is about (its heading, its lead-in)
LOOKAHEAD = 200  # characters of the evidence's paragraph after it that may still call it the default ("……。默认关闭。")


def no_default(info: QuestionInfo, around: str) -> bool:
    """The question asks for a default value and the text around the evidence never calls anything a default.
    A key the documents give for an action is its default ("开关屏幕阅读器的默认快捷键" in a table of keys); a question
    about several things under a default ("默认用到的运行等级里，0、1、6 分别是做什么用的") asks what each is."""
    return (bool(_ASKS_DEFAULT.search(info.text)) and not _SAYS_DEFAULT.search(around)
            and not asks_for_key(info.text) and not asks_several(info.text) and not info.items)


_SETTING = re.compile(r"(?i:default|value|values|setting)\s*[:：]")


def no_key(info: QuestionInfo, texts: list[str]) -> bool:
    """The question asks which key or shortcut does something and none of ``texts`` (the answer's units) names a
    key for it: "Ctrl + N 新建图像" is the key of another thing than "新建图层"."""
    if not asks_for_key(info.text) or _SETTING.match(texts[0] if texts else ""):
        return False  # a setting's value is what it is ("Default: No compose key")
    asked = key_asked_for(info.text)
    return not any(names_key(t) and not for_another(t, asked) for t in texts)


_ASKS_MENU = re.compile(r"哪(?:一|个|一个)?(?:菜单|子菜单)|什么菜单|菜单(?:里|中|上)?(?:的)?(?:哪|什么位置)|\b(?:which|what) (?:sub)?menu\b",
                        re.I)
_MENU_PATH = re.compile(r"菜单|→|▸|»|->|(?<![<>])>(?![>=])|\bmenu\b", re.I)


def no_menu(info: QuestionInfo, texts: list[str]) -> bool:
    """The question asks which menu holds something and none of ``texts`` (the answer's units) names a menu or a
    menu path ("滤镜 → 增强 → 消除红眼"): "GIMP 有一种自动滤镜可以消除红眼" does not say where it is."""
    return bool(_ASKS_MENU.search(info.text)) and not any(_MENU_PATH.search(t) for t in texts)


def other_page(info: QuestionInfo, indexed: str, pages: frozenset[str]) -> str | None:
    """The page a Chinese question asks about by name ("userdel" of the collection's userdel.8) when the answering
    passage, page name and headings included, never says it: the unit is another page's ("UID already in use" is
    useradd's exit value 4). ``pages``: the names the collection's documents go by."""
    if not info.is_chinese:
        return None
    lowered = indexed.lower()
    return next((e for e in info.entities if e.lower() in pages and e.lower() not in lowered
                 and says_whole(e, info.text)), None)


def not_in_entry(info: QuestionInfo, kind: str, entry: str, before: str = "") -> str | None:
    """A name a Chinese question asks about ("SSH 用哪个端口") that the answering table row or ``Key: value``
    entry does not say, nor the text that leads into it (``before``: the table's heading and lead-in): the row is
    another thing's ("端口：631/tcp；名称：打印"). A name that is part of a longer one ("online" of
    "migrate_all_online.sh") does not count."""
    if kind not in ("row", "field") or not info.is_chinese:
        return None
    squeezed = re.sub(r"\s+", "", before + entry).lower()
    return next((name for name in info.entities if says_whole(name, info.text) and not names_setting(name, info.text)
                 and re.sub(r"\s+", "", name).lower() not in squeezed), None)


def describe(info: QuestionInfo, clause: str, context: str, around: str = "", heading: str = "") -> tuple[str, bool] | None:
    """Why the evidence is a near-miss (the start of a Chinese sentence) and whether the evidence is
    related enough to show; None when it answers the question. ``around``: the evidence with the text on
    both sides of it."""
    if around and no_default(info, around):
        return "文档没有说默认值是多少", True
    version = other_version(info, clause, heading)  # the unit itself: release notes compare with older releases
    if version:
        return f"文档没有提到{version}", True
    ordinal = other_ordinal(info, context)
    if ordinal:
        counter = ordinal[-1]
        return f"文档没有提到{ordinal}", any(c == counter for _, c in _ordinals(context))
    if info.kind == "count":
        qualifier = subset_qualifier(info, clause)
        if qualifier:
            return f"文档没有给出{''.join(y + '年' for y in info.years)}{info.focus}的总数", True
    some = unnamed_members(info.text, clause)
    if some:
        return f"文档只说了“{some}”，没有列出是哪些", True
    return None


# "试点选了哪几个中央部门？": which ones are asked; "选择部分中央部门" says some were, never which
_WHICH_ONES = re.compile(r"哪(?:几|些)(?:个|家|位|项|种|所|类)?([\u4e00-\u9fff]{2,6}?)(?=[？?，,。]|$|[有是在被参])")
_SOME = "部分|一些|若干|个别|少数|多个|某些"


def unnamed_members(question: str, clause: str) -> str:
    """The words of ``clause`` that speak of some of the things the question asks to be named ("部分中央部门"),
    when the clause names none of them (no list, no colon leading into one); "" otherwise."""
    asked = _WHICH_ONES.search(question)
    if not asked or "、" in clause or clause.rstrip().endswith(("：", ":")):
        return ""
    head = asked.group(1)[-2:]
    some = re.search(rf"(?:{_SOME})[\u4e00-\u9fff]{{0,4}}?{re.escape(head)}", clause)
    return some.group() if some else ""


def counts_another_thing(info: QuestionInfo, text: str) -> bool:
    """The unit counts something else of the same kind: "测试报告" where "协商报告" is asked.

    A word ending like the thing asked ("…报告") but with another qualifier, while the thing asked is
    nowhere in the unit, is another subject; the year alone matching is not enough.
    """
    focus = info.focus
    if not info.is_chinese or info.kind != "count" or not 4 <= len(focus) <= 6 or "的" in focus or focus in text:
        return False
    head, qualifier = focus[-2:], set(focus[:-2])
    if head in RISES + FALLS:  # "面积减少": a change of the thing asked, not a thing ("比上年减少1.2千公顷")
        return False
    others = {m.group()[:2] for m in re.finditer(rf"[\u4e00-\u9fff]{{2}}{re.escape(head)}", text)}
    # "民意信息" for "民情信息" shares a character: the same thing said another way; "测试" and "协商" share none
    return bool(others) and all(not (qualifier & set(o)) for o in others)
