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


def _follow_up_core(question: str) -> str:
    """A follow-up without its leading "那…" and trailing "…呢？" ("那2023年呢？" → "2023年")."""
    core = question.strip()
    for _ in range(2):  # "那…呢？" carries both a lead and a tail
        core = FOLLOW_UP.sub("", core).strip(" ，,？?")
    return core


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
    swapped = _swap_qualifiers(core, previous)
    if swapped:
        return swapped
    if new_years and old_years and not YEAR_WORD.sub("", core).strip():
        return previous.replace(old_years[0], new_years[0])
    if not core:
        return previous
    if _ASKS.search(core) and len(core) >= _COMPLETE:
        return core + ("" if core.endswith(("？", "?")) else "？")  # already a whole question: nothing to splice
    parallel = _in_place_of_its_like(core, previous)
    if parallel:
        return parallel
    context = _subject(previous)
    if new_years:
        context = YEAR_RE.sub("", context).replace("年", "", 1)
    return f"{context}{core}是多少？" if question_kind(previous) == "count" else f"{context}{core}？"


_ASKS = re.compile(r"多少|多久|多长|几|什么|哪|怎么|怎样|如何|谁|是否|吗|为什么|为何")
_COMPLETE = 8  # a follow-up this long that asks by itself is a question of its own
_ASCII_TERM = re.compile(r"[A-Za-z][\w.+/-]*")


def _in_place_of_its_like(core: str, previous: str) -> str | None:
    """"那 contrib 目录呢？" after "stable/main 目录里放的是什么？": the new thing takes the place of the thing of the
    same kind in the earlier question (same head word, or a name in Latin letters for one in Latin letters)."""
    head = re.search(r"[\u4e00-\u9fff]{2}$", core)
    if head:
        m = re.search(rf"(?:[A-Za-z][\w.+/-]*\s*|[\u4e00-\u9fff]{{1,4}}){re.escape(head.group())}", previous)
        if m and m.group() != core:
            return previous[:m.start()] + core + previous[m.end():]
    new, old = _ASCII_TERM.findall(core), _ASCII_TERM.findall(previous)
    if len(new) == 1 and old and _ASCII_TERM.fullmatch(core.strip()):
        return previous.replace(old[0], new[0], 1)
    return None


_ORDINAL_WORD = re.compile(r"第[零〇一二两三四五六七八九十百\d]+([期次届批轮场号])")


def _swap_qualifiers(core: str, previous: str) -> str | None:
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


def _subject(previous: str) -> str:
    """The part of a question before what it asks about: "2023年自治区政协微信公众号"."""
    stem = re.split(r"多少|几|什么|哪|谁|是否|有没有|如何|怎么|when|how|what|who|where", previous, maxsplit=1)[0]
    stem = stem.rstrip("的了有共是累计推送形成开展 ")
    # keep the subject, drop the verb phrase that asked the previous question
    return stem[:24]


_PRONOUN = re.compile(r"它们|它|该(?=[\u4e00-\u9fff])|这个|那个|其(?=[\u4e00-\u9fff])")
_ASCII_SUBJECT = re.compile(r"[A-Za-z][\w.+/-]*")


def rewrite_follow_up(question: str, history: list[dict]) -> str:
    """The standalone form of a follow-up given the chat history (no LLM): one question, never two spliced.

    A pronoun takes the earlier question's subject ("用它的时候要输入谁的密码？" after a question about
    sudo → "用sudo的时候要输入谁的密码？"); an elliptic follow-up carries the subject over (``carry_over``).
    """
    previous = last_user_question(history)
    if not previous:
        return question
    if _PRONOUN.search(question) and not _ASCII_SUBJECT.search(question):
        subject = referent(previous)
        if subject:
            return _PRONOUN.sub(subject, question, count=1)
    if not is_follow_up(question):
        return question
    return carry_over(question, previous)


def referent(previous: str) -> str:
    """What a pronoun in the next question refers to: the earlier question's named thing (a command,
    a quoted name, a place or organisation) or, failing those, its focus."""
    names = _ASCII_SUBJECT.findall(previous) or quoted_names(previous) or list(named_entities(previous))
    if names:
        return names[0]
    owner = re.match(r"^(?:(?:19|20)\d{2}年)?([\u4e00-\u9fff]{2,12}?)的", previous)  # "车辆购置税的税率…" → 车辆购置税
    return owner.group(1) if owner else focus_of(previous)


def last_user_question(history: list[dict]) -> str | None:
    """The user's latest earlier question in a messages-style history."""
    for message in reversed(history):
        if message.get("role") == "user" and str(message.get("content", "")).strip():
            return str(message["content"]).strip()
    return None


def normalise_history(history) -> list[dict]:
    """Accept messages (``{"role", "content"}``) or (user, assistant) pairs; return messages."""
    messages: list[dict] = []
    for item in history or []:
        if isinstance(item, dict):
            content = item.get("content")
            if isinstance(content, str) and item.get("role") in ("user", "assistant"):
                messages.append({"role": item["role"], "content": content})
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            user, bot = item
            if user:
                messages.append({"role": "user", "content": str(user)})
            if bot:
                messages.append({"role": "assistant", "content": str(bot)})
    return messages
