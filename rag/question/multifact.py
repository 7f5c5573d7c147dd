"""Several facts in one question: split it into one question per fact, each answered and cited on its own.

"2023年公众号发了多少条稿件、被看了多少次？" → "2023年公众号发了多少条稿件？", "2023年被看了多少次？";
"In 2024, how many key proposals and how many consultation reports were there?" → one per "how many";
"man 的退出状态 1、2、3 分别表示什么？" → ("1", "man 的退出状态 1 表示什么？"), … one per item set side by side;
"献血法是哪天公布的，又是哪天开始施行的？" → "献血法是哪天公布的？", "献血法是哪天开始施行的？".
A question with one asked-for thing is left whole.
"""

from __future__ import annotations

import re


_ASK = r"(?:多少|(?<![哪好第])几[个份篇件人次条名项家位场期批回支本天年所座万千百]?)"
# a part starts after a list mark or "和/以及/还有" and holds its own 多少/几
_CN_SPLIT = re.compile(rf"(?:[、，,；;]|以及|还有|和|并且)(?=[^、，,；;]*?{_ASK})")
_EN_SPLIT = re.compile(r"\s*(?:,\s*)?\band\s+(?=how (?:many|much)\b)", re.I)
_EN_YEAR = re.compile(r"\bin\s+((?:19|20)\d{2})\b", re.I)


def split_question(question: str) -> list[str]:
    """The single-fact questions inside ``question`` (just ``[question]`` when it asks one thing)."""
    q = question.strip()
    if re.search(r"[\u4e00-\u9fff]", q):
        return _split_again(q) or _split_chinese(q)
    return _split_english(q)


# any asked-for thing, not only a quantity
_ANY_ASK = r"(?:什么|哪|多少|几|怎|如何|何|谁|是否|吗)"
# "……，又是哪天开始施行的": a second question after the first, leaning on its subject
_AGAIN = re.compile(rf"[，,；;]\s*(?:又|还|并且|同时|那么?)(?=[^，,；;]*{_ANY_ASK})")
_VERB_ASK = re.compile(rf"(?:是|在|由|于|从|有|为|要)?{_ANY_ASK}")


def _split_again(q: str) -> list[str]:
    body = q.rstrip("？?。")
    parts = _AGAIN.split(body)
    if len(parts) != 2 or not re.search(_ANY_ASK, parts[0]):
        return []
    first, second = (p.strip() for p in parts)
    subject = _VERB_ASK.split(first, maxsplit=1)[0]  # "献血法" of "献血法是哪天公布的"
    if not subject or not second:
        return []
    if not second.startswith(subject[:2]):
        second = subject + second
    return [first + "？", second + "？"]


# "分别", "各自", "各是": each of the things set side by side is asked on its own
_RESPECTIVELY = re.compile(r"分别|各自|各(?=[是有为在表代叫指用要会能需])")
# "A 和 B 有什么区别", "…的区别是什么", "区别在哪": two things compared, each to be told
_DIFFERENCE = re.compile(r"(?:之间)?(?:有(?:什么|何|啥|哪些)|的)?(?:区别|不同|差别|差异)(?:是什么|在哪(?:里|儿)?|何在)?[？?]?$")
_ITEM_JOIN = re.compile(r"\s*(?:、|以及|和|与|及|或)\s*")
_OPEN, _CLOSE = "“「『《\"'", "”」』》\"'"
_ASCII_ITEM = r"[A-Za-z0-9_.:$%+~/\\-]+"  # a name in Latin letters, digits and signs: "Windows", "I:", "1.1"
_CJK_FIRST_STOP = re.compile(r".*[\s的在对把从是，,里中了年：:]")
_CJK_LAST_STOP = re.compile(r"[\s时上的中里下，,：:]")
MAX_ITEM_CHARS = 12


def split_items(question: str) -> list[tuple[str, str]]:
    """(item, question about that item alone) for each item set side by side before "分别"/"各"; [] otherwise.

    The items are what the list marks join ("1、2、3", "Windows 和 macOS", "“仅限第 1 页”和“不在第 1 页上”");
    what stands before the first and after the last stays in every part.
    """
    q = question.strip()
    differ = _DIFFERENCE.search(q)
    if differ and not _RESPECTIVELY.search(q):  # "-m 和 -M 有什么区别": what each one is
        q = q[:differ.start()].rstrip(" ，,") + "分别是什么？"
    mark = _RESPECTIVELY.search(q)
    if not mark or not re.search(_ANY_ASK, q[mark.end():]):
        return []
    before, after = q[: mark.start()], q[mark.end():]
    joins = list(_ITEM_JOIN.finditer(before))
    if any(j.group().strip() == "、" for j in joins):  # "A、B和C": the 、 run and a last 和
        first = next(k for k, j in enumerate(joins) if j.group().strip() == "、")
        joins = [j for k, j in enumerate(joins[first:]) if j.group().strip() == "、" or k == len(joins[first:]) - 1]
    else:
        joins = joins[-1:]
    if not joins:
        return []
    middle = [before[a.end(): b.start()] for a, b in zip(joins, joins[1:])]
    head_text, last_text = before[: joins[0].start()], before[joins[-1].end():]
    start = _first_item_start(head_text)
    end = _last_item_end(last_text)
    if start is None or end is None:
        return []
    named = _NAMED_BEFORE.search(head_text[:start])
    if named:  # "Gerber 文件和钻孔文件", "Duplex 下拉框和 Include 下拉框": things of one kind, named in Latin letters
        shared = head_text[start:]
        again = re.match(rf"\s*{re.escape(shared)}", last_text[end:]) if shared else None
        end += again.end() if again else 0
        if again or last_text[:end].endswith(shared[-2:]):
            start = named.start()
    owned = _OWNED.match(last_text[end:])
    if owned and head_text[:start].endswith("的") and len(middle) == 0:  # "APT 操作的结果和 dpkg 的日志": each its own X
        stop = _OWNER_STOP.match(head_text[:start - 1])
        start, end = (stop.end() if stop else 0), end + owned.end()
    first_item = head_text[start:]
    placed = _PLACED.fullmatch(first_item)
    if placed and re.match(rf"\s*{placed.group(1)}", last_text[end:]):  # "Linux 上和 Windows 上": both placed
        end += re.match(rf"\s*{placed.group(1)}", last_text[end:]).end()
    again = _SAME_VERB_ITEM.match(last_text)
    if re.fullmatch(_ASCII_ITEM, first_item.strip()) and again:  # "写 deb 和写 deb-src": the verb said again
        last_text, end = last_text[again.start(1):], again.end(1) - again.start(1)
    items = [first_item, *middle, last_text[:end]]
    if any(not i.strip() or len(i.strip(_OPEN + _CLOSE)) > MAX_ITEM_CHARS * 2 or re.search(_ANY_ASK, i) for i in items):
        return []
    head, tail = head_text[:start], _COUNTED_ITEMS.sub("", last_text[end:])
    return [(item.strip(_OPEN + _CLOSE + " "), f"{head}{item}{tail}{after}") for item in items]


# "-m、-M、-W 三个选项分别……": one item alone is one option, not three
_COUNTED_ITEMS = re.compile(r"^\s*(?:这|那)?[两二三四五六七八九十几\d]+\s*[个种项条类样位台]")


def _first_item_start(text: str) -> int | None:
    text = text.rstrip()
    if not text:
        return None
    if text[-1] in _CLOSE:
        opener = _OPEN[_CLOSE.index(text[-1])]
        at = text.rfind(opener, 0, len(text) - 1)
        return at if at >= 0 else None
    ascii_run = re.search(_ASCII_ITEM + "$", text) or _PLACED.search(text)
    if ascii_run:
        return ascii_run.start()
    stop = _CJK_FIRST_STOP.match(text)
    start = stop.end() if stop else 0
    return start if len(text) - start <= MAX_ITEM_CHARS else None


_OWNED = re.compile(r"\s*的\s*[\u4e00-\u9fff]{1,4}(?=\s*$)")  # "dpkg 的日志" before "分别": the thing of a name
_OWNER_STOP = re.compile(r".*[在对把从是，,里中了年：:]")
_PLACED = re.compile(rf"{_ASCII_ITEM}\s*([上中里下])$")  # "Linux 上", "Windows 里"
_NAMED_BEFORE = re.compile(rf"(?<![\w.+/-]){_ASCII_ITEM}\s+$")


def _last_item_end(text: str) -> int | None:
    stripped = text.lstrip()
    lead = len(text) - len(stripped)
    if not stripped:
        return None
    if stripped[0] in _OPEN:
        closer = _CLOSE[_OPEN.index(stripped[0])]
        at = stripped.find(closer, 1)
        return lead + at + 1 if at > 0 else None
    ascii_run = re.match(_ASCII_ITEM, stripped)
    if ascii_run:
        return lead + ascii_run.end()
    stop = _CJK_LAST_STOP.search(stripped, 1)
    end = stop.start() if stop else len(stripped)
    return lead + end if end <= MAX_ITEM_CHARS else None


_SAME_VERB_ITEM = re.compile(rf"\s*[\u4e00-\u9fff]{{1,2}}\s+({_ASCII_ITEM})")
_EMPTY_PART = re.compile(rf"^(?:分别|各自?|一共|总共|都)?(?:是|有|为)?{_ASK}[？?]?$")


_EACH = re.compile(rf"^(.*?)((?!年)[\u4e00-\u9fff]{{2,10}})(?:和|与|及|以及)([\u4e00-\u9fff]{{2,10}})(?:各|分别)(?:有|是|为)?({_ASK}.*)$")


def _split_chinese(q: str) -> list[str]:
    each = _EACH.match(q.rstrip("？?。"))
    if each:  # "2024年协商报告和提案各有多少" → one question per thing
        lead, first, second, ask = each.groups()
        return [f"{lead}{first}有{ask}？", f"{lead}{second}有{ask}？"]
    if len(re.findall(_ASK, q)) < 2:
        return [q]
    pieces = [p.strip() for p in _CN_SPLIT.split(q.rstrip("？?。")) if p.strip()]
    parts: list[str] = []
    lead = ""
    for piece in pieces:
        if _EMPTY_PART.match(piece):
            continue  # "分别是多少" only repeats the question
        if not re.search(_ASK, piece):
            lead += piece + "，"  # context for the part after it ("2024年2月去北京对接，去了几个部门")
            continue
        parts.append(lead + piece)
        lead = ""
    if len(parts) < 2:
        return [q]
    # the later parts lean on the first one's subject and year, and on its verb unless they repeat it
    stem = re.split(_ASK, parts[0], maxsplit=1)[0]
    return [parts[0] + "？"] + [f"{_subject(stem, part)}{part}？" for part in parts[1:]]


_FILLER = re.compile(r"分别|各自?|一共|总共|共|都|是|有|为|的|[，,、\s]")


def _subject(stem: str, part: str) -> str:
    """The first part's stem up to the verb the later part repeats: "电梯装好以后每年" of "电梯装好以后每年还能领"
    for "一共能领几年" (the whole stem when the later part repeats none of its words)."""
    own = _FILLER.sub("", re.split(_ASK, part, maxsplit=1)[0])
    for size in range(len(own), 1, -1):  # the longest piece of the later part's words found in the stem
        for start in range(len(own) - size + 1):
            at = stem.find(own[start : start + size])
            if at > 0:
                return stem[:at].rstrip("还也又都再就")
    return stem


def _split_english(q: str) -> list[str]:
    parts = [p.strip(" ,?") for p in _EN_SPLIT.split(q) if p.strip(" ,?")]
    if len(parts) < 2:
        return [q]
    year = _EN_YEAR.search(q)
    out = []
    for part in parts:
        if year and year.group(1) not in part:
            part = f"{part} in {year.group(1)}"
        out.append(part + "?")
    return out


# "A 和 B 分别……", "有哪几种", "What are …": the answer is several units, so a runner-up joins at a lower share
_SEVERAL = re.compile(r"分别|各自|区别|不同之处|各(?=[是有为在表代叫指用要会能需])|哪些|哪[几两三四五六七八九]|都有|以及|列出|列举|"
                      r"\b(?:respectively|both|each|what are|which are|list|(?:which|what|name(?: the)?) "
                      r"(?:two|three|four|five|several|\d+))\b", re.I)


def asks_several(question: str) -> bool:
    """The question asks for several things at once (several items, a list, one thing for each of several)."""
    return bool(_SEVERAL.search(question))


_EITHER = re.compile(r"^(?:或者|或是|或)$")


def alternatives(question: str) -> tuple[str, ...]:
    """The two cases a question joins by "或者" ("造成残疾或者死亡" → ("残疾", "死亡")), each a word of two characters
    or more; () when it joins none."""
    if "或" not in question:
        return ()  # most questions: no need to cut them into words
    import jieba

    words = [w for w in jieba.lcut(question) if w.strip()]
    for k, word in enumerate(words[1:-1], 1):
        before, after = words[k - 1], words[k + 1]
        if _EITHER.match(word) and all(len(w) >= 2 and re.fullmatch(r"[\u4e00-\u9fff]+", w) for w in (before, after)):
            return before, after
    return ()

