"""Follow-ups that name another one of something the earlier question named, swapped into it.

"那第二期呢？" after a question about "第一期", "那到了 0.60 版换成什么了？" after one about GIMP 0.54, "那最多呢？"
after "血站一次一般采多少血？", "那再加上 Shift 呢？" after "Ctrl+E 是什么功能？": the earlier question, with the new
ordinal, version, bound or key in place of the old one (``None`` when the follow-up is not such a swap).
"""

from __future__ import annotations

import re

from rag.question.analysis import VERSION, YEAR_RE, YEAR_WORD

# the words that ask: a follow-up holding one asks by itself; a phrase holding one is never a thing to swap
ASKS = re.compile(r"多少|多久|多长|几|什么|哪|怎么|怎样|如何|谁|是否|吗|为什么|为何")
HOW = re.compile(r"怎么样|怎么|怎样|如何")
_ASCII_TERM = re.compile(r"[A-Za-z][\w.+/-]*")


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


def _same_kind(previous: str, core: str, head: str):
    """The phrase of ``previous`` that ends in ``head``, starts where a word starts and is about as long as
    ``core`` ("中文版" for "英文版", "左键点" for "右键点", "原理图编辑器" for "打开 PCB 编辑器"), never one
    holding the asking words; None when there is none."""
    import jieba

    pattern = re.compile(rf"(?:[A-Za-z][\w.+/-]*\s*|(?:(?!的)[\u4e00-\u9fff]){{1,6}}){re.escape(head)}")
    size = len(core.replace(" ", ""))
    found, at = [], 0
    for word in jieba.lcut(previous):
        inside_name = at > 0 and previous[at].isascii() and re.match(r"[\w./+-]", previous[at - 1]) is not None
        m = None if inside_name else pattern.match(previous, at)  # "stable/main" is one name
        if m and not ASKS.search(m.group()) and size <= 2 * len(m.group().replace(" ", "")) + 2:
            found.append(m)
        at += len(word)
    return min(found, key=lambda m: (abs(len(m.group().replace(" ", "")) - size), -m.start()), default=None)


def in_place_of_its_like(core: str, previous: str) -> str | None:
    """"那 contrib 目录呢？" after "stable/main 目录里放的是什么？": the new thing takes the place of the thing of the
    same kind in the earlier question (same head word, or a name in Latin letters for one in Latin letters)."""
    head = re.search(r"[\u4e00-\u9fff]{2}$", core)
    if head:
        m = _same_kind(previous, core, head.group())
        if m is None and len(core) >= 3:  # "服务器端" after "客户端": one final character in common
            m = _same_kind(previous, core, head.group()[-1])
            m = m if m is not None and len(m.group()) >= 3 else None
        # "当成什么来匹配": a phrase right after the asking word is what was asked, not a thing to swap
        if m and m.group() != core and not re.search(rf"(?:{ASKS.pattern})\s*$", previous[:m.start()]):
            before = previous[:m.start()]
            lead = next((core[:n] for n in range(min(4, len(core) - 2), 0, -1) if before.rstrip().endswith(core[:n])), "")
            return before + core[len(lead):].lstrip() + previous[m.end():]  # "打开 PCB 编辑器" after "打开原理图编辑器"
    new, old = _ASCII_TERM.findall(core), _ASCII_TERM.findall(previous)
    if len(new) == 1 and old and _ASCII_TERM.fullmatch(core.strip()):
        return previous.replace(old[0], new[0], 1)
    placed = _PLACED_NAME.fullmatch(core.strip())
    if placed:  # "Windows 上" after "在 Linux 上……": the name before the same word is swapped
        name, word = placed.groups()
        same = re.search(rf"[A-Za-z][\w.+/-]*(?=\s*{re.escape(word)})", previous)
        if same and same.group() != name:
            return previous[:same.start()] + name + previous[same.end():]
    return None


_PLACED_NAME = re.compile(r"([A-Za-z][\w.+/-]*)\s*([上中里下版])")


def in_place_of_its_place(core: str, previous: str) -> str | None:
    """"那其他城市呢？" after "在北京出差住宿每天最多报多少？": a place takes the place of the one place the earlier
    question names ("在其他城市出差住宿每天最多报多少？")."""
    import jieba.posseg as pseg

    core = re.sub(r"^(?:那么?|在)", "", core.strip())
    if not (_PLACE_WORD.search(core) or [w.flag for w in pseg.cut(core)] == ["ns"]):
        return None
    places = [w.word for w in pseg.cut(previous) if w.flag == "ns" and len(w.word) >= 2]
    if len(set(places)) != 1 or places[0] in core:
        return None
    return previous.replace(places[0], core, 1)


_PLACE_WORD = re.compile(r"(?:城市|地区|省份?|[市县区镇乡村州国])$")


def in_place_of_its_verb(core: str, previous: str) -> str | None:
    """"那彻底删除（purge）呢？" after "用 dpkg 怎么卸载 gentoo 这个包？": a follow-up that is an action takes the
    place of the action the earlier question asked how to do, keeping what that action was done to. When the
    earlier verb runs on into more of its action ("拨号连上 ADSL", "往下翻一屏"), the whole clause gives way:
    "那要断开呢？" → "……怎么断开 ADSL？". A wish's "要", "想" goes ("怎么要断开" is no Chinese)."""
    import jieba.posseg as pseg

    core = WISH.sub("", core)  # "只想要每个字的首字母" wants a thing, not an action
    words = [(w.word, w.flag) for w in pseg.cut(core) if w.word.strip()]
    verb_at = next((k for k, (_, flag) in enumerate(words[:3]) if flag.startswith("v")), None)
    if verb_at is None or any(flag.startswith(("n", "r")) for _, flag in words[:verb_at]):
        return None
    how = HOW.search(previous)
    if not how:
        return None
    rest = previous[how.end():]
    clause = re.search(r"[，,。；;！!？?]|$", rest).start()
    asked = [(w.word, w.flag) for w in pseg.cut(rest[:clause])]
    if asked and asked[0][1].startswith("v") and len(asked[0][0]) >= 2:
        after, tag = asked[1] if len(asked) > 1 else ("", "x")
        if after[:1].isascii() or not after[:1].isalpha() or (tag.startswith(_OBJECT_TAGS) and tag != "nr"):
            return previous[:how.end()] + core + rest[len(asked[0][0]):]  # the object stays: "gentoo 这个包"
    if not asked or len(core) < 2:
        return None
    named = _NAMED_LAST.search(rest[:clause])  # "拨号连上 ADSL": what it was done to, named last, stays
    return previous[:how.end()] + core + (named.group() if named else "") + rest[clause:]


_NAMED_LAST = re.compile(r"(?:\s+[A-Za-z][\w.+/-]*)+\s*$")
WISH = re.compile(r"^(?:只想要|想要|只想|想|要)(?![求是不])(?=[\u4e00-\u9fff])")  # "要断开", "想重做": a wish, not "要求"
# what comes right after a verb and is done to: a noun, "这个包", "一个" (not jieba's one-character "name" of
# "拨号连上", a verb it does not know)
_OBJECT_TAGS = ("n", "r", "m", "eng")


# "新建图像的快捷键是什么": what the earlier question asks something of, the thing asked, and the asking words
_OWNER_ASKED = re.compile(r"([^\s，,。：:；;里中上在的]{2,12})的([^\s的，,？?]{1,8}?)(?:是什么|是多少|是哪|是谁|叫什么|有哪些|多少|几)")


def in_place_of_its_owner(core: str, previous: str) -> str | None:
    """"那退出程序呢？" after "GIMP 里新建图像的快捷键是什么？": the new thing takes the place of what the earlier
    question asked something of, when it is about as long as that; "那主席呢？" after "自治区政协的秘书长是谁？" is
    about as long as the thing asked, and takes its place ("自治区政协的主席是谁？")."""
    m = _OWNER_ASKED.search(previous)
    size = len(core.replace(" ", ""))
    if not m or size < 2 or ASKS.search(core) or not re.search(r"[\u4e00-\u9fff]", core):
        return None
    owner, asked = len(m.group(1)), len(m.group(2))
    if abs(size - asked) < abs(size - owner) and size <= asked + 2:  # "那主席呢？" after "……的秘书长是谁？"
        return previous[:m.start(2)] + core + previous[m.end(2):]
    if abs(size - owner) > 2 or abs(size - owner) >= abs(size - asked):
        return None
    return previous[:m.start(1)] + core + previous[m.end(1):]


_WHAT_ABOUT = re.compile(r"^\s*(?:and\s+)?(?:what|how)\s+about\s+(.+?)\s*\??$", re.I)


def english_swap(question: str, previous: str) -> str | None:
    """"What about the testing release?" after "What is the codename of the stable release?": the phrase with
    the same last word takes the new one's place."""
    m = _WHAT_ABOUT.match(question)
    if not m or re.search(r"[\u4e00-\u9fff]", question):
        return None
    new = m.group(1)
    head = new.split()[-1]
    old = re.search(rf"\b(?:[\w.+/-]+\s+){{0,2}}{re.escape(head)}\b", previous, re.I)
    if not old or old.group().lower() == new.lower():
        return None
    return previous[:old.start()] + new + previous[old.end():]
