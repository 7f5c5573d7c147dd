"""Follow-up questions made standalone without an LLM: the referent put in, never two questions spliced.

"那2023年呢？" after "2024年形成了多少份协商报告？" → "2023年形成了多少份协商报告？";
"用它的时候要输入谁的密码？" after a question about sudo → "用sudo的时候要输入谁的密码？".
"""

from __future__ import annotations

import re

from rag.question.analysis import (
    FOLLOW_UP,
    YEAR_WORD,
    YEAR_RE,
    focus_of,
    named_entities,
    question_kind,
    quoted_names,
)
from rag.question.history import last_answer, last_user_question
from rag.question.swaps import (
    ASKS,
    HOW,
    WISH,
    english_swap,
    in_place_of_its_like,
    in_place_of_its_owner,
    in_place_of_its_place,
    in_place_of_its_verb,
    other_bound,
    other_version,
    swap_ordinals,
    with_modifier,
)
from rag.text.tokens import OPTION, person_names


def _follow_up_core(question: str) -> str:
    """A follow-up without its leading "那…" and trailing "…呢？" ("那2023年呢？" → "2023年")."""
    core = question.strip()
    for _ in range(2):  # "那…呢？" carries both a lead and a tail
        core = FOLLOW_UP.sub("", core).strip(" ，,？?")
    return _DEICTIC.sub(r"\1", _IF.sub("", core))  # "那要是只想要首字母呢？": what is wished, not the "if"


_IF = re.compile(r"^(?:要是|如果|假如|若是|倘若)\s*")
_DEICTIC = re.compile(r"(当前|目前|现在|眼前)(?:这个|那个)")  # "当前这个窗口": the one at hand, no earlier thing


def follow_up_focus(question: str) -> str:
    """What a follow-up newly asks about ("阅读量" in "阅读量呢？"), or "" when it only swaps a year."""
    return YEAR_WORD.sub("", _follow_up_core(question)).strip()


def is_follow_up(question: str) -> bool:
    """A short question that leans on the previous one ("那2023年呢？", "阅读量呢？")."""
    q = question.strip()
    return len(q) <= 20 and bool(FOLLOW_UP.search(q))


def carry_over(question: str, previous: str) -> str:
    """Make a follow-up standalone without an LLM, by carrying the earlier question's subject over.

    "那2023年呢？" after "2024年形成了多少份协商报告？" → "2023年形成了多少份协商报告？";
    "阅读量呢？" after "2023年…推送稿件多少条？" → "2023年…阅读量是多少？".
    """
    core = _follow_up_core(question)
    new_years = YEAR_RE.findall(core)
    old_years = YEAR_RE.findall(previous)
    swapped = swap_ordinals(core, previous) or other_bound(core, previous) or with_modifier(core, previous)
    if swapped:
        return swapped
    if new_years and old_years and not YEAR_WORD.sub("", core).strip():
        return previous.replace(old_years[0], new_years[0])
    if not core:
        return previous
    version = other_version(core, previous)
    if version:
        return version
    if ASKS.search(core) and len(core) >= _COMPLETE:
        return core + ("" if core.endswith(("？", "?")) else "？")  # already a whole question: nothing to splice
    parallel = (in_place_of_its_like(core, previous) or in_place_of_its_verb(core, previous)
                or in_place_of_its_owner(core, previous) or in_place_of_its_place(core, previous))
    if parallel:
        return parallel
    # a wish asks how to get it ("那想换个名字另存一份呢？"), a supposition what follows ("那要是选“低”呢？")
    supposed = "如果" if _SUPPOSED.match(question.strip()) else ""
    ask = "，该怎么做？" if WISH.match(core) else "，会怎样？" if supposed else "？"
    topic = _topic(previous)
    if topic and _starts_with_verb(core) and topic not in core:
        return f"{topic} {supposed}{core}{ask}"  # "那要求所有关键词都同时匹配呢？" after a question about apropos
    context = _subject(previous)
    if new_years:
        context = YEAR_RE.sub("", context).replace("年", "", 1)
    if question_kind(previous) == "count":
        if _NO_SUBJECT.match(previous) and not ASKS.search(core):
            return f"{core}{previous}"  # "第一产业呢？" after "比上年增长了多少？": 第一产业比上年增长了多少？
        counted = focus_of(previous)
        asked_of = counted and re.search(rf"{re.escape(counted)}(?=(?:是|有|为)?(?:多少|几)[？?]?$)", previous)
        if asked_of and not ASKS.search(core):  # "净利润呢？" after "公司2022年营业收入是多少？"
            return previous[:asked_of.start()] + core + previous[asked_of.end():]
        return f"{context}{core}是多少？"
    if ask != "？":
        return f"{_noun_phrase(context)}{supposed}{core}{ask}"
    return _in_place_of_asked_about(core, previous) or f"{context}{core}？"


_NO_SUBJECT = re.compile(r"(?:比|较|同比|与上年|和上年)")  # a question that opens with its comparison names nothing it asks of
_SUPPOSED = re.compile(r"^(?:那么?)?\s*(?:要是|如果|假如|若是|倘若)")
# the last clause's subject, before what it says of it and the asking words: "打印" of "打印用的是哪个端口"
_CLAUSE_SUBJECT = re.compile(r"\s*([^\s，,；;]{2,8}?)\s*(?:用的是|用的|的是|是)")


def _in_place_of_asked_about(core: str, previous: str) -> str | None:
    """"mDNS 呢？" after "常用网络端口里，打印用的是哪个端口？": the new thing takes the place of what the
    earlier question's last clause asks about ("常用网络端口里，mDNS 用的是哪个端口？")."""
    if ASKS.search(core) or _starts_with_verb(core):
        return None
    start = max(previous.rfind(mark) for mark in "，,；;") + 1
    m = _CLAUSE_SUBJECT.match(previous, start)
    if not m or not ASKS.search(previous, m.end()):
        return None
    space = " " if core[-1:].isascii() and not previous[m.end(1):m.end(1) + 1].isascii() else ""
    return previous[:m.start(1)] + core + space + previous[m.end(1):]


def _noun_phrase(stem: str) -> str:
    """``stem`` without the verbs it ends in: "debconf 提问的优先级" of "debconf 提问的优先级默认设在"."""
    import jieba.posseg as pseg

    words = [(w.word, w.flag) for w in pseg.cut(stem)]
    while words and (words[-1][1].startswith(("v", "d", "p", "c", "u", "x")) and words[-1][1] != "vn"):
        words.pop()
    return "".join(w for w, _ in words) or stem


_COMPLETE = 8  # a follow-up this long that asks by itself is a question of its own


def _topic(previous: str) -> str:
    """What the earlier question is about by name: its first name in Latin letters (a program, a file), or
    its first quoted or named thing; "" when it names none."""
    names = [n for n in _ASCII_SUBJECT.findall(previous) if not n.startswith("-")]
    found = names or quoted_names(previous) or list(named_entities(previous))
    return found[0] if found else ""


def _starts_with_verb(core: str) -> bool:
    """The follow-up is an action or a wish ("要求所有关键词都匹配", "只想检查一下"), with no subject of its own."""
    import jieba.posseg as pseg

    words = [w for w in pseg.cut(core) if w.word.strip()]
    return bool(words) and (words[0].flag.startswith("v") or (words[0].flag == "d" and len(words) > 1
                                                               and words[1].flag.startswith("v")))


def _subject(previous: str) -> str:
    """The part of a question before what it asks about: "2023年自治区政协微信公众号"."""
    stem = re.split(r"多少|几|什么|哪|谁|是否|有没有|如何|怎么|when|how|what|who|where", previous, maxsplit=1)[0]
    stem = stem.rstrip("的了有共是累计推送形成开展 ")
    # keep the subject, drop the verb phrase that asked the previous question
    return stem[:40]


_OPTION = re.compile(rf"{OPTION.pattern}(?:\s*选项)?")
_COMMAND_BEFORE = re.compile(r"(?<![\w.-])([A-Za-z][\w.+-]*) +$")
# ("其他城市", "其中", "尤其" name no earlier thing)
_PRONOUN = re.compile(r"它们|它|该(?=[\u4e00-\u9fff])|(?<!当前|目前|现在|眼前)(?:这个|那个)"
                      r"|(?<![尤极与])其(?![他它中余实次])(?=[\u4e00-\u9fff])")
_ASCII_SUBJECT = re.compile(r"[A-Za-z][\w.+/-]*")


def _before_last_question(history: list[dict]) -> list[dict]:
    """The history before the user's latest question."""
    last = max((k for k, m in enumerate(history) if m.get("role") == "user" and str(m.get("content", "")).strip()),
               default=0)
    return history[:last]


def rewrite_follow_up(question: str, history: list[dict], depth: int = 3) -> str:
    """The standalone form of a follow-up given the chat history (no LLM): one question, never two spliced.

    A pronoun takes the earlier question's subject ("用它的时候要输入谁的密码？" after a question about
    sudo → "用sudo的时候要输入谁的密码？"); an elliptic follow-up carries the subject over (``carry_over``).
    The "那" that leaned on the earlier question goes: "那在它之前……" → "在systemd之前……". An earlier question
    that was a follow-up itself is read as it stood alone (up to ``depth`` questions back).
    """
    previous = last_user_question(history)
    if not previous:
        return question
    earlier = _before_last_question(history)
    if earlier and depth > 1:  # "净利润呢？" after "2022年呢？": the earlier follow-up as it stood alone
        previous = rewrite_follow_up(previous, earlier, depth - 1)
    standalone = _rewritten(question, previous, history)
    return _LEANS_ON.sub("", standalone, count=1) if standalone != question else standalone


def _rewritten(question: str, previous: str, history: list[dict]) -> str:
    named = (_named_in_answer(question, history) or _after_it(question, previous, last_answer(history))
             or _person_for_he(question, previous, last_answer(history)))
    if named:
        return named
    if _PRONOUN.search(question) and (not _ASCII_SUBJECT.search(question) or _the_other(question, previous)):
        subject = referent(previous, question)
        if subject:
            return _PRONOUN.sub(subject, re.sub(r"^那么?(?=[它该这那其])", "", question.strip()), count=1)
    bare = _bare_ask(question, previous) or english_swap(question, previous)
    if bare:
        return bare
    if not is_follow_up(question):
        return _with_topic(question, previous)
    return carry_over(question, previous)


_HE = re.compile(r"(?<![其吉])[他她](?![们人])")


def _person_for_he(question: str, previous: str, said: str) -> str | None:
    """"那他什么时候当的浙江大学校长？" after "竺可桢哪一年获得博士学位？": "他" is the one person the earlier question
    (or else its answer) names ("竺可桢什么时候当的浙江大学校长？"); None when it names none or several."""
    if not _HE.search(question):
        return None
    for text in (previous, said):
        names = set(person_names(text))
        if len(names) == 1:
            return _HE.sub(names.pop(), _LEANS_ON.sub("", question.strip(), count=1), count=1)
        if names:
            return None
    return None


# "这个问题默认选的是什么？": a thing of a kind the last answer named, in quotes or by its identifier
_THIS_KIND = re.compile(r"^(?:那么?)?(?:这个|那个|该|这一?)(问题|模板|选项|设置|命令|文件|参数|字段|条目|软件包|包)")
_THIS_NOUN = re.compile(r"(?:这个|这种)([\u4e00-\u9fff]{1,4})")
_ANSWER_QUOTE = re.compile(r"“([^”]{2,40})”")
_ANSWER_ID = re.compile(r"(?<![\w./-])(?:[A-Za-z][\w.+-]*/[\w./+-]+|/[\w.+-]+(?:/[\w.+-]+)+)")  # "a/b", "/etc/x"


def _named_in_answer(question: str, history: list[dict]) -> str | None:
    """"这个问题默认选的是什么？" after an answer that named the question (“要在升级时自动重启服务吗？”, or
    libraries/restart-without-asking): that name stands before the words that pointed at it."""
    said = last_answer(history)
    kind = _THIS_NOUN.search(question)
    if kind and said:  # "存这个格式的时候……" after "……更适合用 PNG 格式。": the name the answer gave that kind
        for size in range(min(4, len(kind.group(1))), 1, -1):  # a word of two characters or more ("格式")
            noun = kind.group(1)[:size]
            named = re.search(rf"((?<![\w.+/-])[A-Za-z][\w.+-]*|“[^”]{{1,30}}”)\s*{re.escape(noun)}", said)
            if named and named.group(1).lower() not in question.lower():
                return question[:kind.start()] + f"{named.group(1)} {noun}" + question[kind.start() + 2 + size:]
    this = _THIS_KIND.match(question.strip())
    if not this or not said:
        return None
    option = OPTION.search(said) if this.group(1) in ("选项", "参数") else None
    name = option or _ANSWER_QUOTE.search(said) or _ANSWER_ID.search(said)
    if not name:
        return None
    rest = re.sub(r"^那么?", "", question.strip())
    return f"“{name.group(1)}”{rest}" if name.re is _ANSWER_QUOTE else f"{name.group()} {rest}"


_THEN = re.compile(r"^(?:那么?)?\s*(?:这时候?|此时|这种情况下?|这样的话|这样一来|这样(?![的子做])|那样(?![的子做]))[，,]?\s*")
_ASKED_YES_NO = re.compile(r"(?:吗|么|呢)?[？?。]?$")
_MODAL = re.compile(r"(能|可以|会|可)(?=[^，,]*$)")  # the last clause's "能", to say the answer's "不能"
_NO = re.compile(r"^(?:不|没有?|否)[\u4e00-\u9fff]{0,2}[。，,！!]")  # "不能。", "不需要，", "没有。"
_LEANS_ON = re.compile(r"^(?:那么|那)(?![个些里儿样])\s*")


def _after_it(question: str, previous: str, said: str = "") -> str | None:
    """"那这时候……还管用吗？" after "自动保存怎么关掉？": the situation is the earlier question's action, done
    ("KiCad 的自动保存关掉以后，……还管用吗？"); after a yes/no question it is what that question asked, as the
    answer (``said``) settled it ("……userdel 能直接把他删掉吗？" "不能。" → "……userdel 不能直接把他删掉，该怎么处理？")."""
    then = _THEN.match(question.strip())
    if not then or len(question.strip()) <= then.end():
        return None
    rest = question.strip()[then.end():]
    how = HOW.search(previous)
    if how:
        done = (previous[:how.start()] + previous[how.end():]).strip().rstrip("？?。")
        return f"{done}以后，{rest}"
    situation = _ASKED_YES_NO.sub("", previous.strip())
    no = bool(_NO.match(said.strip()))
    whether = _WHETHER.search(situation)
    if whether:  # "是否要交车辆购置税" → "要交车辆购置税" / "不要交车辆购置税"
        situation = situation[:whether.start()] + ("不" if no else "") + situation[whether.end():]
    elif not re.search(r"[吗么][？?。]?$", previous.strip()):
        return None  # only a yes/no question states a situation
    elif no and _MODAL.search(situation):
        situation = _MODAL.sub(r"不\1", situation, count=1)
    if ASKS.search(situation):
        return None
    return f"{situation}，{rest}"


_WHETHER = re.compile(r"是否|能否|可否|是不是|有没有(?=[\u4e00-\u9fff])")


def _with_topic(question: str, previous: str) -> str:
    """"那只想检查一下页面、不动数据库，用哪个选项？" after a question about mandb: a longer question that goes on
    from the earlier one ("那…") and names nothing of its own is about the earlier question's named thing."""
    lead = _LEANS_ON.match(question.strip())
    topic = _topic(previous)
    rest = question.strip()[lead.end():] if lead else ""
    if not lead or not topic or topic in rest or _ASCII_SUBJECT.search(rest) or quoted_names(rest):
        return question
    return f"{topic} {rest}"


_BARE = re.compile(r"^(?:那|那么)?(?:还|也)?(?:要|需要|得|还有|有没有|可以|能)?(?:别的|其他|其它)?[\u4e00-\u9fff]{0,4}"
                   r"(?:多久|多长时间|多少钱|多少[年天次个人]?|几[天次个年]|什么时候|在哪|哪里|谁|为什么|怎么办|办法|方法|吗)[？?]?$")
_ASKS_AT_END = re.compile(r"(?:吗|呢|么)?[？?。]?$")


def _names_a_thing(question: str) -> bool:
    """"孕妇能吃吗": the question names who or what it asks about, so it is a question of its own."""
    import jieba.posseg as pseg

    return any(w.flag in ("n", "nr", "ns", "nt", "nz", "vn") and w.word not in _ASKING_NOUNS
               for w in pseg.cut(question))


_ASKING_NOUNS = ("办法", "方法", "时候", "地方", "东西", "别的", "其他", "其它", "时间")


def _bare_ask(question: str, previous: str) -> str | None:
    """"要多久？" after "投诉以后部门会处理吗？": a short question naming nothing of its own leans on the earlier
    one, which becomes its subject ("投诉以后部门会处理，要多久？"); "还有别的办法吗？" after "怎么重建数据库？"
    becomes "重建数据库还有别的办法吗？"."""
    q = question.strip()
    if len(q) > 10 or not _BARE.match(q) or _ASCII_SUBJECT.search(q) or _names_a_thing(q):
        return None
    stem = _ASKS_AT_END.sub("", previous.strip())
    how = HOW.match(stem)
    if how:  # "怎么重建数据库" → "重建数据库"
        return f"{stem[how.end():]}{q.removeprefix('那么').removeprefix('那')}"
    return f"{stem}，{q.removeprefix('那么').removeprefix('那')}"


def _the_other(question: str, previous: str) -> bool:
    """A follow-up that says "它" and names one of the earlier question's two things ("在它之前，Debian 用的是……"
    after "Debian 从哪个版本开始默认用 systemd"): "它" is the other one. A "该"/"这个" before a word ("我该怎么",
    "这个 GID") is no pronoun to fill in, and a question naming something new is left as it is."""
    if not re.search(r"它", question):
        return False
    said = {n.lower() for n in _ASCII_SUBJECT.findall(question)}
    names = {n.lower() for n in _ASCII_SUBJECT.findall(previous)}
    return bool(said & names) and bool(names - said)


def referent(previous: str, question: str = "") -> str:
    """What a pronoun in the next question refers to: the earlier question's named thing (a command,
    a quoted name, a place or organisation) or, failing those, its focus. A name the next ``question`` says
    itself is not what its pronoun stands for ("在它之前，Debian 用的是哪个启动系统" after "Debian 从哪个版本开始
    默认用 systemd" means systemd)."""
    said = question.lower()
    option = _OPTION.search(previous)  # "man 的 -P 选项是做什么的？": "它" is the option
    if option and option.group().strip().lower() not in said:
        command = _COMMAND_BEFORE.search(previous[:option.start()])  # "chage -l 是干什么的？": the command line
        return (command.group(1) + " " if command else "") + option.group().strip()
    names = [n for n in _ASCII_SUBJECT.findall(previous) or quoted_names(previous) or list(named_entities(previous))
             if n.lower() not in said]
    if names:
        return names[0]
    owner = re.match(r"^(?:(?:19|20)\d{2}年)?([\u4e00-\u9fff]{2,12}?)的", previous)  # "车辆购置税的税率…" → 车辆购置税
    return owner.group(1) if owner else focus_of(previous)


def search_context(standalone: str, history: list[dict]) -> str:
    """What to search for a follow-up whose pronoun the rewrite could not fill in ("那要怎么让它重新拿到这些数据？"
    after an answer about the power manager): the question with the answer it goes on from, whose words say
    where the conversation is. Any other question is searched as it is."""
    if not history or not _PRONOUN.search(standalone):
        return standalone
    said = last_answer(history)
    said = re.sub(r"\[\d+\]", "", said).strip()
    if not said or said.startswith(("文档中没有", "文档没有")):
        return standalone
    return f"{standalone} {said[:_CONTEXT_CHARS]}"


_CONTEXT_CHARS = 200
