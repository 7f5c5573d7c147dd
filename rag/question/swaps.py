"""Follow-ups that name another one of something the earlier question named, swapped into it.

"那第二期呢？" after a question about "第一期", "那到了 0.60 版换成什么了？" after one about GIMP 0.54, "那最多呢？"
after "血站一次一般采多少血？", "那再加上 Shift 呢？" after "Ctrl+E 是什么功能？": the earlier question, with the new
ordinal, version, bound or key in place of the old one (``None`` when the follow-up is not such a swap).
"""

from __future__ import annotations

import re

from rag.question.analysis import VERSION, YEAR_RE, YEAR_WORD


# what a follow-up about another version says besides the version: "到了 0.60 版换成什么了", "那 2.4 里呢"
_VERSION_TALK = re.compile(r"到了?|在|那|版本?|里|中|时|的|换成|改成|变成|用的?|是|了|呢|什么|哪个|哪种|[？?，,\s]")


def other_version(core: str, previous: str) -> str | None:
    """"那到了 0.60 版换成什么了？" after "GIMP 0.54 的界面工具箱是基于什么做的？": a follow-up that only names
    another version asks the earlier question of that version ("GIMP 0.60 的界面工具箱是基于什么做的？")."""
    new, old = VERSION.findall(core), VERSION.findall(previous)
    if len(new) != 1 or len(old) != 1 or new == old or _VERSION_TALK.sub("", VERSION.sub("", core)):
        return None
    return previous.replace(old[0], new[0], 1)


_ORDINAL_WORD = re.compile(r"第[零〇一二两三四五六七八九十百\d]+([期次届批轮场号])")


def swap_ordinals(core: str, previous: str) -> str | None:
    """"第二期" after a question about "第一期" (with or without a year): the same question, swapped."""
    ordinals = list(_ORDINAL_WORD.finditer(core))
    if not ordinals or _ORDINAL_WORD.sub("", YEAR_WORD.sub("", core)).strip():
        return None
    out = previous
    for m in ordinals:
        old = next((o for o in _ORDINAL_WORD.finditer(out) if o.group(1) == m.group(1)), None)
        if old is None:
            return None
        out = out.replace(old.group(), m.group(), 1)
    new_years, old_years = YEAR_RE.findall(core), YEAR_RE.findall(out)
    if new_years and old_years:
        out = out.replace(old_years[0], new_years[0])
    return out


_BOUND = re.compile(r"最多|最少|最长|最短|最高|最低|最大|最小|最快|最慢|至少|至多|平均|一般|通常|默认")


def other_bound(core: str, previous: str) -> str | None:
    """"那最多呢？" after "血站一次一般采多少血？": the bound or usual value asked swaps places
    ("血站一次最多采多少血？"); with none in the earlier question, it goes before its asking word."""
    if not _BOUND.fullmatch(core):
        return None
    old = _BOUND.search(previous)
    if old:
        return previous[:old.start()] + core + previous[old.end():] if old.group() != core else None
    verb = re.search(r"(?:能|可以|可|要|会|需要?)?[\u4e00-\u9fff](?=多少|几)", previous)  # "能采" of "一次能采多少血"
    return previous[:verb.start()] + core + previous[verb.start():] if verb else None


_MODIFIER = re.compile(r"^(?:再|同时|还)?(?:加上|加|按住|配合|和|带上)\s*(Shift|Ctrl|Alt|Super|Meta|Cmd|Fn)(?:\s*键)?$", re.I)
_COMBO = re.compile(r"((?:(?:Shift|Ctrl|Alt|Super|Meta|Cmd|Fn)\s*\+\s*)+)(\S)", re.I)


def with_modifier(core: str, previous: str) -> str | None:
    """"那再加上 Shift 呢？" after "Ctrl+E 是什么功能？": the same question of "Ctrl+Shift+E"."""
    m, combo = _MODIFIER.match(core), _COMBO.search(previous)
    if not m or not combo or m.group(1).lower() in combo.group(1).lower():
        return None
    return previous[:combo.end(1)] + m.group(1) + "+" + previous[combo.end(1):]
