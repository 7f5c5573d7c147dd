"""The answer built from the chosen unit: the unit itself, the list it leads into, or a procedure's steps.

A sentence that leads into a list or a command ("可以通过下列途径解决：", "执行以下命令：") answers
with the items that follow it. A sentence that leans on the one before it ("万一这种事情发生，……") brings
that one along, and a "为什么" question's unit that states no reason brings the neighbour that does. A "怎么做" question's best unit is often one step: the answer is then
the lead-in and the run of list items and code blocks around it. Both stay inside the cited passage
(so every word of the answer is in what it cites), at most ``MAX_STEPS`` items.
"""

from __future__ import annotations

import re
from typing import Callable, Sequence

from rag.answering.evidence_units import Evidence, cases_lead
from rag.answering.unit_features import REASON
from rag.documents.units import ENTRY_KINDS
from rag.types import Passage

MAX_STEPS = 8
_STEP_KINDS = ("item", "code")
_LEADS_IN = ("：", ":")
_LIST_WORDS = re.compile(r"下列|如下|以下|下面|包括|as follows|following")
_ENDS = ("。", "！", "？", "!", "?", "；", ";", ".", "”", "）", ")")
# a sentence that starts by pointing back ("这种事情", "此时", "但代价是"): it needs the sentence before it
_LEANS_BACK = re.compile(r"^(?:万一|如果|但是?|然而|不过|因此|所以|同时|此外|另外|而且|并且|否则|其中)?\s*"
                         r"(?:这|此|该|那(?!么)|它|其(?![他它余实次中])|上述|前者|后者)|^(?:但是?|然而|不过|因此|所以|否则)|"
                         r"^(?:比如|例如|譬如|比方说)")  # an example is of what the sentence before says
_SENTENCE_KINDS = ("sentence",)
# a sentence that says what to do in the case the one before it leaves open: "如果确定没有意义，则……"
_IF_SO = re.compile(r"(?:如果|若是?|要是|否则|不然)[^，,。]{0,12}[，,]\s*(?:则|就|可以|可|请|应该?|需要)")
# a sentence that names what the one before it told of: "这个文件名为 Sources", "它们叫做……", "该目录称为……"
_NAMES_IT = re.compile(r"(?:这|此|该)(?:个|些|种|类)?[\u4e00-\u9fff]{0,4}?(?:文件名|名字|名称)?(?:名为|叫做?|称为|称作)|"
                       r"它们?(?:的)?(?:文件名|名字|名称)?(?:名为|叫做?|称为|称作)")


def _leads_in(text: str) -> bool:
    """A sentence that introduces what follows: it ends in a colon, names a list, or breaks off mid-sentence."""
    text = text.rstrip()
    if text.endswith(_LEADS_IN) or not text.endswith(_ENDS):
        return True
    return bool(_LIST_WORDS.search(text))


def composer(qtype: str, passages: Sequence[Passage], retriever, listing: bool = False) -> Callable[[Evidence], str]:
    """How to turn the best unit into the answer for a question of type ``qtype`` (``listing``: it asks "哪些")."""
    table = retriever.units()
    run_kinds = ENTRY_KINDS if listing else _STEP_KINDS

    def steps(ev: Evidence, whole: bool = True) -> str:
        """The answer from unit ``ev``; ``whole=False`` (a runner-up): only an entry's term is put first."""
        chunk = passages[ev.passage].chunk
        rows = table.within(chunk)
        spans = [(max(int(table.starts[r]), chunk.start) - chunk.start, r) for r in rows]
        here = next((k for k, (start, _) in enumerate(spans) if start == ev.start), None)
        if here is None:
            return ev.answer_text
        kinds = [table.kind(r) for _, r in spans]
        entry = _entry_of(here, spans, kinds, table)
        if entry is not None or not whole:
            return entry or ev.answer_text
        answered = _answer_after(here, spans, kinds, table, passages[ev.passage].text, ev.answer_text)
        if answered:  # "**净化器运行时噪音很大？** 可能是风速……": a question of the text is answered by what follows it
            return answered
        if listing:  # "包括两方面功能：1）……；2）……。": the things asked are the parts of one sentence
            told = _whole_sentence(here, spans, kinds, table, passages[ev.passage].text)
            if told:
                return told
        joined = _with_neighbour(here, spans, kinds, table, passages[ev.passage].text, qtype, ev.answer_text)
        if joined is not None:  # "其默认行为如下所示：" after the sentence it leans on, and what it shows
            ends_here = joined.rstrip().endswith(table.texts[spans[here][1]].strip())
            if not (ends_here and _colon_ends(ev.answer_text)):
                return joined
            listed = _run_after(here, spans, kinds, table, run_kinds)  # "……卷正忙，要安全移除此设备：" and its steps
            shown = "" if listed else _shown_after(here, spans, table, passages[ev.passage].text)
            return joined.rstrip() + (listed or shown)
        first = here
        follows_code = here + 1 < len(spans) and kinds[here + 1] == "code"
        def together(k: int) -> bool:  # units k and k + 1 with no heading between them (a table's header may be)
            return not _HEADING_LINE.search(chunk.text[int(table.ends[spans[k][1]]) - chunk.start:spans[k + 1][0]])

        if (kinds[here] in _STEP_KINDS and qtype == "procedure") or (listing and kinds[here] in ENTRY_KINDS):
            while first > 0 and kinds[first - 1] in run_kinds and together(first - 1) and here - first + 1 < MAX_STEPS:
                first -= 1
            if first > 0 and kinds[first - 1] not in ("row", "code") and together(first - 1) \
                    and _leads_in(table.texts[spans[first - 1][1]]):
                first -= 1  # the sentence that leads into the list
        elif qtype == "procedure" and kinds[here] == "sentence" and not _leads_in(ev.answer_text) and not follows_code:
            return (_steps_after(here, spans, kinds, table, chunk)
                    or _steps_told(here, spans, kinds, table, passages[ev.passage].text) or ev.answer_text)
        elif kinds[here] in _STEP_KINDS or not (_leads_in(ev.answer_text) or (qtype == "procedure" and follows_code)):
            if kinds[here] == "code" and here > 0 and kinds[here - 1] == "sentence":
                lead = table.texts[spans[here - 1][1]].strip()
                if lead.endswith(_LEADS_IN):  # "只要照着下边在 ~/.devscripts 中的内容：" says where the code goes
                    return f"{lead}{ev.answer_text}"
            if kinds[here] == "item":
                return _under_lead(here, spans, kinds, table) + ev.answer_text
            return ev.answer_text
        last = max(first, here)
        while last + 1 < len(spans) and kinds[last + 1] in run_kinds and together(last) and last + 1 - first < MAX_STEPS:
            last += 1
        if last == first:
            shown = _shown_after(here, spans, table, passages[ev.passage].text)
            return f"{ev.answer_text.rstrip()}{shown}" if shown and _colon_ends(ev.answer_text) else ev.answer_text
        return _joined(table, spans, range(first, last + 1))

    return steps


def _answer_after(here: int, spans: list, kinds: list[str], table, text: str, shown: str) -> str | None:
    """Unit ``here`` when it is a question the text asks itself (a FAQ's "……怎么办？"), with the sentences that answer it
    in the same paragraph; None for any other unit, or a question nothing answers."""
    if not shown.rstrip(" *_").endswith(("？", "?")):
        return None
    last = here
    while (last + 1 < len(spans) and last - here < _ANSWER_SENTENCES and kinds[last + 1] in _SENTENCE_KINDS
           and not table.texts[spans[last + 1][1]].rstrip(" *_").endswith(("？", "?"))
           and "\n\n" not in text[spans[last][0]:spans[last + 1][0]]):
        last += 1
    if last == here:
        return None
    return f"{shown.strip()}{_joined(table, spans, range(here + 1, last + 1))}"


_ANSWER_SENTENCES = 3  # the sentences after a question of the text that answer it


def _under_lead(here: int, spans: list, kinds: list[str], table) -> str:
    """The sentence that leads into the list item ``here`` when it says what every item is a case of
    ("评审专家存在以下情形之一的，……应当将其解聘：" over "(四)受到刑事处罚。"); "" when there is none."""
    first = here
    while first > 0 and kinds[first - 1] == "item":
        first -= 1
    if first > 0 and kinds[first - 1] == "sentence":
        return cases_lead(table.texts[spans[first - 1][1]])
    # the list begins the passage: its lead-in, at the end of the one before, is the items' context
    return cases_lead(table.contexts[spans[here][1]].rpartition(" › ")[2])


_HEADING_LINE = re.compile(r"(?m)^ {0,3}#{1,6}\s|^ {0,3}(?:=+|-+)\s*$")  # "## 首次使用", or a line under a title
_PROSE_RUN = 3  # sentences in a row that may stand between a procedure's steps ("这很容易做到。首先，……")


def _steps_after(here: int, spans: list, kinds: list[str], table, chunk) -> str | None:
    """A "怎么做" question's best unit says what is done, and the steps follow it in the same section: the
    sentence, then the sentences, commands and list items after it, up to the last command or item (None when
    none follows before a heading, or a run of ``_PROSE_RUN`` sentences ends the procedure)."""
    last, prose, k = None, 0, here + 1
    while k < len(spans) and k - here < MAX_STEPS:
        between = chunk.text[int(table.ends[spans[k - 1][1]]) - chunk.start:spans[k][0]]
        if between.strip(" \n>"):  # a heading or a skipped line: another part of the text
            break
        if kinds[k] in _STEP_KINDS:
            last, prose = k, 0
        elif kinds[k] in _SENTENCE_KINDS and prose < _PROSE_RUN:
            prose += 1
        else:
            break
        k += 1
    if last is None:
        return None
    return _joined(table, spans, range(here, last + 1))


_GOES_ON = ("；", ";", "：", ":")


def _whole_sentence(here: int, spans: list, kinds: list[str], table, text: str) -> str | None:
    """Unit ``here`` with the parts of its sentence cut off at "；" before and after it ("……包括两方面功能：1）误杀加白；"
    and "2）补充召回。"), in the same paragraph; None when it is a sentence of its own."""
    def goes_on(k: int) -> bool:  # unit k ends in "；" and the next is the rest of its sentence, in the same paragraph
        return (0 <= k < len(spans) - 1 and kinds[k] in _SENTENCE_KINDS and kinds[k + 1] in _SENTENCE_KINDS
                and table.texts[spans[k][1]].rstrip().endswith(_GOES_ON) and "\n\n" not in text[spans[k][0]:spans[k + 1][0]])

    first, last = here, here
    while goes_on(first - 1) and here - first < MAX_STEPS:
        first -= 1
    while goes_on(last) and last - first < MAX_STEPS:
        last += 1
    return None if first == last else _joined(table, spans, range(first, last + 1))


def _run_after(here: int, spans: list, kinds: list[str], table, run_kinds) -> str:
    """The list items (or steps) right after unit ``here``, joined: "1. 点取消；2. 关闭此设备上的所有文件。" ("" when none)."""
    last = here
    while last + 1 < len(spans) and kinds[last + 1] in run_kinds and last - here < MAX_STEPS:
        last += 1
    return _joined(table, spans, range(here + 1, last + 1))


def _joined(table, spans: list, rows) -> str:
    """The units ``rows`` (positions in ``spans``) as one answer: bullets and final marks dropped, joined by "；"."""
    parts = [table.texts[spans[k][1]].strip().lstrip("-*+•·▪ ") for k in rows]
    kept = [p.rstrip("；;。") for p in parts if p]
    return "；".join(kept) + "。" if kept else ""


def _colon_ends(text: str) -> bool:
    """The unit ends in a colon: it says that what follows is what it is about ("其默认行为如下所示：")."""
    return text.rstrip().endswith(_LEADS_IN)


def _shown_after(here: int, spans: list, table, text: str) -> str:
    """The quoted line right after unit ``here``, which it leads into ("其默认行为如下所示：" then "> 1 n l 8 3 0 2"),
    or ""."""
    if here + 1 >= len(spans):
        return ""
    at = spans[here + 1][0]
    line = text[text.rfind("\n", 0, at) + 1:at + 1].lstrip()
    return table.texts[spans[here + 1][1]].strip().lstrip("> ") if line.startswith(">") else ""


# a procedure told in sentences: "首先……。然后……。……就可以按回车键确认了。"
_FIRST_STEP = re.compile(r"^(?:首先|第一步|第一，|先)")
_LAST_STEP = re.compile(r"^(?:最后|最终)|就可以|即可|就完成|就好了|这样就")


def _steps_told(here: int, spans: list, kinds: list[str], table, text: str) -> str | None:
    """A "怎么做" question's best unit is the first step of a procedure told in sentences ("首先，选择一个区域……"): the
    answer is it and the sentences after it in the same paragraph, through the one that says it is done ("……就可以按
    回车键确认了") or ``MAX_STEPS`` sentences; None when the unit is no first step or nothing says it is done."""
    if not _FIRST_STEP.match(table.texts[spans[here][1]].lstrip()):
        return None
    for k in range(here + 1, min(len(spans), here + MAX_STEPS)):
        if kinds[k] not in _SENTENCE_KINDS or "\n\n" in text[spans[k - 1][0]:spans[k][0]]:
            return None
        if _LAST_STEP.search(table.texts[spans[k][1]]):
            return "；".join(table.texts[spans[j][1]].strip().rstrip("；;。") for j in range(here, k + 1)) + "。"
    return None


def _with_neighbour(here: int, spans: list, kinds: list[str], table, text: str, qtype: str, shown: str) -> str | None:
    """The unit together with the sentence it leans on, or for a "为什么" question the neighbour that gives the
    reason; both in the same paragraph of the passage, in document order. None: the unit stands alone."""
    if kinds[here] == "option" and qtype == "reason" and not REASON.search(shown):
        return _entry_reason(here, spans, kinds, table, shown)
    if kinds[here] not in _SENTENCE_KINDS:
        return None

    def same_paragraph(a: int, b: int) -> bool:
        return (0 <= a < len(spans) and 0 <= b < len(spans) and kinds[a] in _SENTENCE_KINDS
                and kinds[b] in _SENTENCE_KINDS and "\n\n" not in text[spans[min(a, b)][0]:spans[max(a, b)][0]])

    before = here - 1 if same_paragraph(here - 1, here) else None
    after = here + 1 if same_paragraph(here, here + 1) else None
    pick = None
    if before is not None and _LEANS_BACK.search(shown.lstrip()):
        pick = before
    elif qtype == "reason" and not REASON.search(shown):
        said = [k for k in (before, after) if k is not None and REASON.search(table.texts[spans[k][1]])]
        follows = after if after is not None and _LEANS_BACK.search(table.texts[spans[after][1]].lstrip()) else None
        pick = said[0] if said else follows if follows is not None else before  # "但代价是……" goes on from it
    goes_on = None
    if after is not None and pick != after:
        next_text = table.texts[spans[after][1]].lstrip()
        # "……检查警告是否的确无意义。" and "如果确定没有意义，则按照……覆盖": what to do then; "……它包含了源码包的
        # 索引文件。" and "这个文件名为 Sources(.gz, .bz2)。": the sentence names what this one told of
        if (qtype == "procedure" and _IF_SO.match(next_text)) or _NAMES_IT.match(next_text):
            goes_on = after
    if pick is None and goes_on is None:
        return None
    told = sorted({k for k in (pick, here, goes_on) if k is not None})
    return "".join(table.texts[spans[k][1]].strip() for k in told)


def _entry_reason(here: int, spans: list, kinds: list[str], table, shown: str) -> str | None:
    """An option entry asked "为什么" that gives no reason itself: the entry and the first sentence of its
    description that does ("--regex：显示所有匹配的页面。" + "由于……没办法选出“最佳”手册页，……")."""
    term = _term(table.texts[spans[here][1]])
    for k in range(here + 1, min(len(spans), here + 4)):
        row = spans[k][1]
        if kinds[k] != "sentence" or not table.contexts[row].endswith(term):
            return None
        if REASON.search(table.texts[row]) and table.texts[row].strip() not in shown:
            return f"{shown.rstrip('。')}。{table.texts[row].strip()}"
    return None


def _entry_of(here: int, spans: list, kinds: list[str], table) -> str | None:
    """A sentence of an option or term's description answers with the whole entry, term first
    ("默认关闭" → "-v, --verbose 输出更多信息。默认关闭。")."""
    row = spans[here][1]
    if kinds[here] != "sentence" or not table.contexts[row]:
        return None
    for k in range(here - 1, max(-1, here - 4), -1):
        if kinds[k] == "option" and table.contexts[row].endswith(_term(table.texts[spans[k][1]])):
            end_of_entry = int(table.ends[spans[k][1]])
            rest = [table.texts[spans[j][1]] for j in range(k + 1, here + 1) if int(table.starts[spans[j][1]]) >= end_of_entry]
            return " ".join([table.texts[spans[k][1]].replace("\n\n", " "), *rest]).strip()
        if kinds[k] != "sentence":
            return None
    return None


def _term(entry: str) -> str:
    """The term of an entry shown as "term：description" (or with the description on the next line)."""
    return re.sub(r"^[-*+•·▪]\s+", "", entry.split("\n", 1)[0].split("：", 1)[0]).strip()
