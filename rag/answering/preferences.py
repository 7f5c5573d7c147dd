"""What the question itself says about which of the selector's top units answers: a unit the question names goes
first, a pointer to another section goes later, and a "为什么" question gets the unit that states a reason.

The selector ranks units by fitted weights; these few preferences read the question's own words ("退出状态 2",
"F4", "-t", "为什么") and move one of the top units up, keeping the selector's verdict on answering.
"""

from __future__ import annotations

import re

from rag.answering.evidence_units import promoted
from rag.answering.negation import negated_first
from rag.answering.places import place_first
from rag.answering.pointing import pointers_later
from rag.answering.unit_features import REASON
from rag.documents.units import ENTRY_KINDS
from rag.question.analysis import QuestionInfo
from rag.question.answer_type import asks_for_key, for_another, key_asked_for
from rag.text.tokens import HEX_ID, exact_terms, is_mostly_cjk, key_combos, says_whole


def prefer(info: QuestionInfo, qtype: str, ranked: list) -> list:
    """``ranked`` (the selector's order, best first) with the question's preferences applied."""
    ranked = asked_field_first(info, name_first(info, own_language_first(info, ranked)))
    ranked = named_entry_first(info, pointers_later(aside_later(info, exact_first(info, ranked, qtype))))
    ranked = suffix_first(info, own_item_first(info, ranked))
    ranked = entries_first(info, command_first(info, path_first(info, key_first(info, id_first(info, ranked)))))
    ranked = place_first(info, negated_first(info, qtype, ranked))
    return reason_first(ranked, info.is_chinese) if qtype == "reason" else ranked


def exact_first(info: QuestionInfo, ranked: list, qtype: str = "other") -> list:
    """"按 Ctrl+B 会打开哪个工具", "-N 是什么意思": when the best unit does not name the key combination or option the
    question names, the best-ranked unit that does goes first, however low the selector put it (a hotkey table's
    row reads like every other row). A question of what it is or does gets its entry ("-M, --maxdays：……") rather
    than a unit that only mentions it ("除非使用 -A 或 -M 选项"); a "why" or "how" question keeps its sentence."""
    named = exact_terms(info.text) + _SUFFIX.findall(info.text)
    if not named or not ranked:
        return ranked
    entry = None if qtype in ("reason", "procedure") else next(
        (k for k, ev in enumerate(ranked) if _is_entry_of(ev, named)), None)
    if entry:
        return promoted(ranked, entry)
    if entry == 0 or _names_exactly(ranked[0].answer_text, named):
        return ranked
    found = next((k for k, ev in enumerate(ranked[1:], 1) if ev.supported and _names_exactly(ev.answer_text, named)),
                 None)
    return ranked if found is None else promoted(ranked, found)


def _is_entry_of(ev, named: list[str]) -> bool:
    """The entry is about one of the ``named`` options or keys, as written ("-M, --maxdays：……" is -M's, not -m's)."""
    if ev.kind not in _ENTRY_KINDS:
        return False
    text = ev.answer_text
    head = text.split("：", 1)[0] if "：" in text[:60] else ""
    terms = [t.strip(" *`_") for t in re.split(r"[,，\s]+", head) if t.strip(" *`_")]
    return any(term in terms if term.startswith("-") else any(t.lower() == term.lower() or term.startswith(".")
                                                            and t.lower().endswith(term.lower()) for t in terms)
               for term in named)


# ".dsc", ".orig.tar.gz": a kind of file named by its suffix, whose entry is a file name ending in it
_SUFFIX = re.compile(r"(?<![\w./-])\.[A-Za-z][A-Za-z0-9]{0,7}(?:\.[A-Za-z0-9]{1,7}){0,2}(?![\w.-])")


def _names_exactly(text: str, named: list[str]) -> bool:
    """An option as written ("-N" is not "-n"); a key combination however written ("Ctrl+B", "**ctrl** + b")."""
    keys = key_combos(text)
    return any(re.search(rf"(?<![\w+-]){re.escape(term)}(?![\w+])", text, 0 if term.startswith("-") else re.I)
               or term.lower() in keys for term in named)


_ASKS_ID = re.compile(r"(?<![A-Za-z])(?:ID|UUID|GUID)(?![A-Za-z])|标识符|\bidentifier\b", re.I)
_ID_LINE = re.compile(rf"^\W{{0,3}}{HEX_ID}\W{{0,3}}$")
_ID_TOP = 5


def id_first(info: QuestionInfo, ranked: list) -> list:
    """"这条消息的 ID 是什么": of the top units, an entry's id line ("-- 5a1b2c…") goes first."""
    if not _ASKS_ID.search(info.text) or not ranked or _ID_LINE.match(ranked[0].answer_text.strip()):
        return ranked
    found = next((k for k, ev in enumerate(ranked[1:_ID_TOP], 1)
                  if ev.supported is not False and _ID_LINE.match(ev.answer_text.strip())), None)
    return ranked if found is None else promoted(ranked, found)


# "放在哪个目录", "配置文件在哪里", "which directory": a place in the file system is asked
_ASKS_PATH = re.compile(r"(?:哪个|哪一个|哪些|什么|哪)(?:目录|文件夹|路径|文件|位置)|(?:目录|路径)(?:是|在|为)|放在哪|存在哪|存放在哪|保存在哪|"
                        r"位于哪|装在哪|在哪(?:里|儿|个)?|\bwhere\b|\b(?:which|what) (?:directory|folder|file|path)\b", re.I)
# "/var/cache/apt/archives/", "~/.ssh", "./debian": a path, not "和/或" or "1/2"
PATH = re.compile(r"(?<![A-Za-z0-9_:/.\\-])(?:~|\.{1,2})?/[A-Za-z_.][\w.+-]*(?:/[\w.+*-]*)*")
_PATH_TOP = 3


def path_first(info: QuestionInfo, ranked: list) -> list:
    """"下载的 .deb 放在哪个目录": when the best unit names no path the question does not name, the one of the
    top units that does and says most of the question goes first ("APT 在 /var/cache/apt/archives/ 目录中保存……")."""
    if not ranked or not _ASKS_PATH.search(info.text):
        return ranked
    asked = set(PATH.findall(info.text))

    def names_path(ev) -> bool:
        return any(path not in asked for path in PATH.findall(ev.answer_text))

    if names_path(ranked[0]):
        return ranked
    found = [k for k, ev in enumerate(ranked[1:_PATH_TOP], 1) if ev.supported and names_path(ev)]
    if not found:
        return ranked
    # of two, the one that says more of the question: "软件包会被……放置于 …/result/" before a "HOOKDIR=…" line
    return promoted(ranked, max(found, key=lambda k: (item_coverage(info.text, ranked[k].answer_text), -k)))


_KEY_TOP = 8
_KEY_ROWS = 30  # a key table's rows all read alike, so the selector may rank the one for the action asked low
_KEY_WORDS = re.compile(r"默认|快捷键|热键|组合键|键|是什么|是哪个|什么|哪个|哪些|按|用|的|呢|？|\?")


def key_first(info: QuestionInfo, ranked: list) -> list:
    """"GIMP 里退出程序的快捷键是什么": when the best unit names no key, a unit that names a key combination for the
    action asked goes first ("**Ctrl** + Q 退出", from any of the top rows, not "Ctrl + N 新建图像" for "新建图层");
    failing that, the one of the top units the selector backs that says most of the question."""
    if not ranked or not asks_for_key(info.text) or key_combos(ranked[0].answer_text):
        return ranked
    asked = key_asked_for(info.text)
    for k, ev in enumerate(ranked[1:_KEY_ROWS], 1):
        if asked[0] and asked[0] in ev.answer_text and key_combos(ev.answer_text) and not for_another(ev.answer_text, asked):
            return promoted(ranked, k)
    words = _KEY_WORDS.sub(" ", info.text)
    found = [k for k, ev in enumerate(ranked[1:_KEY_TOP], 1)
             if ev.supported and key_combos(ev.answer_text) and item_coverage(words, ev.answer_text) > 0]
    if not found:
        return ranked
    return promoted(ranked, max(found, key=lambda k: (item_coverage(words, ranked[k].answer_text), -k)))


# "具体命令怎么敲", "用什么命令", "which command": the question wants a command ("newusers 这个命令用在什么场合"
# names one)
_ASKS_COMMAND = re.compile(r"(?:什么|哪个|哪条|哪一个|具体|完整)的?(?:命令|指令)|(?:命令|指令)(?:是|该|要|怎么|如何|应该)|"
                           r"\b(?:which|what) command|\bcommand line\b", re.I)
# a command line: "$ …", or a lower-case program name followed, maybe after arguments, by an option ("ssh -L …")
_COMMAND_LINE = re.compile(r"(?:^|\s)[$#]\s|(?<![\w./-])[a-z][\w.+-]*(?:\s+[^\s\u4e00-\u9fff，。；：]+){0,3}?\s+--?[A-Za-z]"
                           r"|(?<![\w./-])[a-z][\w.+-]*(?:\(\d\w*\))?\s*(?:命令|command\b)")  # or names one: "debc(1) 命令"
_COMMAND_TOP = 4


def command_first(info: QuestionInfo, ranked: list) -> list:
    """"通过 SSH 隧道连 VNC，具体命令怎么敲": when the best unit holds no command line, the first of the top units
    that does goes first ("ssh -L localhost:5901:localhost:5900 -N -T machine 命令创建……隧道")."""
    if not ranked or not _ASKS_COMMAND.search(info.text) or has_command(ranked[0]):
        return ranked
    found = next((k for k, ev in enumerate(ranked[1:_COMMAND_TOP], 1) if ev.supported and has_command(ev)), None)
    return ranked if found is None else promoted(ranked, found)


def has_command(ev) -> bool:
    """The unit is a code block or holds a command line."""
    return ev.kind == "code" or bool(_COMMAND_LINE.search(ev.answer_text))


_LIST_TOP = 5


def entries_first(info: QuestionInfo, ranked: list) -> list:
    """"能从哪两种工具导入": when the best unit is a sentence about the list ("KiCad 可以导入……文件") and two of
    the top units are entries of one passage ("*.sch, *.brd：Eagle……", "*.csa：CADSTAR……"), the first entry goes
    first, so the answer is the list."""
    if info.kind != "list" or not ranked or ranked[0].kind in ENTRY_KINDS:
        return ranked
    entries = [k for k, ev in enumerate(ranked[1:_LIST_TOP], 1) if ev.supported and ev.kind in ENTRY_KINDS]
    siblings = [k for k in entries if ranked[k].passage == ranked[entries[0]].passage] if entries else []
    asked = _WHICH_THINGS.search(info.text)  # "有哪些不良反应": a list that never says 不良反应 is another list
    if asked and asked.group(1) in ranked[0].answer_text and not any(
            asked.group(1) in ranked[k].answer_text + ranked[k].context for k in siblings):
        return ranked
    return promoted(ranked, siblings[0]) if len(siblings) >= 2 else ranked


_WHICH_THINGS = re.compile(r"哪(?:些|几[个种类项条])([\u4e00-\u9fff]{2,6}?)(?:[？?，,。]|呢|$)")


_ASIDE_TOP = 5


def aside_later(info: QuestionInfo, ranked: list) -> list:
    """For "除了 A 和 B，还有哪些…": when the best unit is about A or B, the first of the top units that names
    neither goes first."""
    if not info.aside or not ranked or not _mentions(ranked[0].answer_text, info.aside):
        return ranked
    found = next((k for k, ev in enumerate(ranked[1:_ASIDE_TOP], 1)
                  if ev.supported is not False and not _mentions(ev.answer_text, info.aside)), None)
    return ranked if found is None else promoted(ranked, found)


def _mentions(text: str, items) -> bool:
    lowered = text.lower()
    return any(re.search(rf"(?<![\w-]){re.escape(i.lower())}(?![\w-])" if i.isascii() else re.escape(i), lowered)
               for i in items)


# what a question asks of an entry, by the field that says it ("……这个问题的默认选项是哪一个" → "Default: …")
_FIELDS_ASKED = (
    (re.compile(r"默认|缺省|预设|预填|\bdefault", re.I), "default"),
    (re.compile(r"哪(?:个|一个)\s*(?:debconf\s*)?模板|什么模板|模板名|\btemplate\b", re.I), "template"),
    (re.compile(r"(?:可|能)选(?:的|择)?(?:项|哪些|什么)|有哪些选项|选项有哪些|\bchoices\b", re.I), "choices"),
    (re.compile(r"什么类型|哪种类型|类型是|\btype\b", re.I), "type"),
)
_FIELD_TOP = 8


def asked_field_first(info: QuestionInfo, ranked: list) -> list:
    """A question that asks one field of an entry ("默认选项是哪一个", "是哪个模板", or the field's own name), whose
    best unit is another part of the entry ("Description: 邮件系统设置的常见类型"): the top field of that name goes
    first ("Default: local delivery only; not on a network")."""
    top = ranked[:_FIELD_TOP]
    keys = {key for pattern, key in _FIELDS_ASKED if pattern.search(info.text)}
    keys |= {k for k in map(_field_key, top) if k and re.search(rf"(?<![\w-]){re.escape(k)}(?![\w-])", info.text, re.I)}
    if not keys or not top or _field_key(top[0]) in keys:
        return ranked
    fields = [k for k, ev in enumerate(top[1:], 1) if _field_key(ev) in keys]
    # the entry's own field: the one nearest the best unit in its passage (an entry's fields stand together)
    near = [k for k in fields if top[k].passage == top[0].passage]
    found = min(near, key=lambda k: abs(top[k].start - top[0].start)) if near else next(iter(fields), None)
    return ranked if found is None else promoted(ranked, found)


def _field_key(ev) -> str:
    """The key of a ``Key: value`` field in Latin letters ("default" of "Default: true"), else ""."""
    key = re.match(r"([A-Za-z][A-Za-z0-9-]*)\s*[:：]", ev.answer_text) if ev.kind == "field" else None
    return key.group(1).lower() if key else ""


_NAME_TOP = 8


def name_first(info: QuestionInfo, ranked: list) -> list:
    """A Chinese question that names something in Latin letters ("stretch 这个代号是哪个角色"): when the best unit
    does not say the name, the first of the top entries (list items, rows, fields, options) that says it goes first:
    the item "*stretch*（Debian 9）是那个……章鱼" rather than the lead-in about all the codenames. A sentence that
    only mentions the name ("在家连 WiFi……") is no better an answer for saying it."""
    names = [e for e in info.entities if e.isascii() and len(e) >= 2 and says_whole(e, info.text)]
    if not info.is_chinese or not names or not ranked or _says_all(ranked[0].answer_text, names):
        return ranked
    found = next((k for k, ev in enumerate(ranked[1:_NAME_TOP], 1)
                  if ev.kind in ENTRY_KINDS and ev.supported is not False and _says_all(ev.answer_text, names)), None)
    return ranked if found is None else promoted(ranked, found)


def _says_all(text: str, names: list[str]) -> bool:
    """Each name whole: "OpenSSH" is not said by "openssh-blacklist"."""
    return all(says_whole(n, text, ignore_case=True) for n in names)


_SAME_LANGUAGE_TOP, _SAME_LANGUAGE_MARGIN = 3, 0.75


def own_language_first(info: QuestionInfo, ranked: list) -> list:
    """For a question in Chinese whose best unit is an untranslated English one: a Chinese unit the selector
    scores nearly as high goes first (a partly translated manual says the same thing in both)."""
    if not info.is_chinese or not ranked or is_mostly_cjk(ranked[0].answer_text):
        return ranked
    floor = _SAME_LANGUAGE_MARGIN * ranked[0].score
    found = next((k for k, ev in enumerate(ranked[1:_SAME_LANGUAGE_TOP], 1)
                  if ev.score >= floor and ev.supported is not False and is_mostly_cjk(ev.answer_text)), None)
    return ranked if found is None else promoted(ranked, found)


_ITEM_TOP = 8  # the parts' units share most words, so the selector may rank the right one low
_GRAM = re.compile(r"[A-Za-z0-9_.:$%+~/\\-]+|[\u4e00-\u9fff]+")


def own_item_first(info: QuestionInfo, ranked: list) -> list:
    """For one part of "A、B 和 C 分别……": of the top units, the one that says most of its own item and least
    of the other parts' goes first, when that is not the best unit ("包含双冒号" for the part "中间有双冒号",
    the best unit being about "以冒号开头", another part's item)."""
    if len(info.items) < 2 or not ranked or not info.items[0].strip():
        return ranked
    own, others = info.items[0], info.items[1:]

    def fit(ev) -> float:
        text = ev.answer_text
        # an entry that is the item's own ("不在第 1 页上：项目在所有页面上都可见……") says it best, whatever else its
        # description mentions ("-u, --unlock：……(to the value before using the -l option)" for the part "-u")
        if ev.kind in ENTRY_KINDS and (_squeezed(entry_term(text)) == _squeezed(own) or _is_entry_of(ev, [own])):
            return 2.0 + item_coverage(own, text)
        return item_coverage(own, text) - max(item_coverage(o, text) for o in others)

    scored = [(fit(ev), k) for k, ev in enumerate(ranked[:_ITEM_TOP])]
    best, k = max(scored, key=lambda s: (s[0], -s[1]))
    return ranked if k == 0 or best <= fit(ranked[0]) or best <= 0 else promoted(ranked, k)


_ASKS_SUFFIX = re.compile(r"扩展名|后缀名?|\b(?:file )?(?:extension|suffix)(?:es|s)?\b", re.I)
_FILE_SUFFIX = re.compile(r"(?<![\w/-])\*?\.[A-Za-z][A-Za-z0-9]{0,7}(?![\w-])")


def suffix_first(info: QuestionInfo, ranked: list) -> list:
    """"钻孔文件的扩展名是什么": when the best unit names no file suffix, the top unit that names one ("*.drl") and
    says most of the thing asked (its item, or else the question) goes first."""
    if not ranked or not _ASKS_SUFFIX.search(info.text) or _FILE_SUFFIX.search(ranked[0].answer_text):
        return ranked
    asked = info.items[0] if info.items else _ASKS_SUFFIX.sub(" ", info.text)
    found = [(item_coverage(asked, ev.answer_text), -k) for k, ev in enumerate(ranked[1:_ITEM_TOP], 1)
             if ev.supported is not False and _FILE_SUFFIX.search(ev.answer_text)]
    best = max(found, default=(0.0, 0))
    return promoted(ranked, -best[1]) if best[0] > 0 else ranked


def _squeezed(text: str) -> str:
    return re.sub(r"[\s*`_“”\"]+", "", text).lower()


def item_coverage(item: str, text: str) -> float:
    """How much of ``item`` ``text`` says: an option whole and as written ("-M" is not "-m"), its other Latin
    words whole (case and spaces aside: "macOS" is in "Mac OS"), its Chinese as character pairs."""
    flat = re.sub(r"\s+", "", text).lower()
    found = []
    for run in _GRAM.findall(item):
        if run.startswith("-"):
            found.append(bool(re.search(rf"(?<![\w-]){re.escape(run)}(?![\w-])", text)))
        elif run.isascii() and len(run) <= 2:  # "1" of "等级1", not of "10"
            found.append(bool(re.search(rf"(?<![A-Za-z0-9.]){re.escape(run)}(?![A-Za-z0-9.])", text, re.I)))
        elif run.isascii():
            found.append(run.lower() in flat)
        else:
            found.extend(run[i:i + 2] in flat for i in range(max(1, len(run) - 1)))
    return sum(found) / len(found) if found else 0.0


_ENTRY_KINDS = ("option", "field", "row")
_ENTRY_TOP = 5  # the entry the question names is looked for among the selector's best five units


def entry_term(text: str) -> str:
    """The term an entry is about: "16" of "16：至少有一个页面……", "-t, --test" of "-t, --test：……"."""
    head = text.split("：", 1)[0] if "：" in text[:40] else ""
    return head.strip(" *`_").lower()


def entry_terms(ev) -> list[str]:
    """What an entry may be looked up by: an option's or field's term; each cell of a table row
    ("F4" and "将光标移动到……" of "快捷键：F4；说明：将光标移动到……")."""
    if ev.kind == "row":
        cells = ev.answer_text.split("；")
        if len(cells) == 1:  # a row of a list without a header shows as "term：description" ("2：表示严重问题")
            return [part.strip(" *`_").lower() for part in cells[0].split("：", 1)]
        return [cell.split("：", 1)[-1].strip(" *`_").lower() for cell in cells]
    return [entry_term(ev.answer_text)]


def named_entry_first(info: QuestionInfo, ranked: list) -> list:
    """When the question names an entry's term exactly ("退出状态 2", "F4", "-t"), and one of the selector's top
    entries is about that very term while the best is about another, the named one goes first."""
    top = ranked[:_ENTRY_TOP]
    if not top:
        return ranked
    named = set(_TERM.findall(info.text.lower()))
    if top[0].kind not in _ENTRY_KINDS:  # "ls 退出状态是 2 的时候说明什么": a code named by number is its entry's,
        said = top[0].answer_text  # over a sentence that does not say the number
        named = {term for term in named if term.isdigit() and not re.search(rf"(?<![\w.]){term}(?![\w.])", said)}
    if not named or any(_names(term, named) for term in entry_terms(top[0])):
        return ranked
    found = next((k for k, ev in enumerate(top) if ev.kind in _ENTRY_KINDS and ev.supported is not False
                  and any(_names(term, named) for term in entry_terms(ev))), None)
    if not found:
        return ranked
    return promoted(ranked, found)


_TERM = re.compile(r"(?<![\w.-])-{0,2}[a-z0-9][\w.+-]*")


def _names(term: str, named: set[str]) -> bool:
    """The entry's term is one the question names, or lists it among others ("-t, --test")."""
    return bool(term) and (term in named or any(part.strip() in named for part in term.split(",")))


_REASON_TOP = 3  # a reason is looked for among the selector's best three units


def reason_first(ranked: list, chinese: bool = True) -> list:
    """For a "为什么" question: of the selector's top units, the first that states a reason goes first; for a
    question in Chinese, one in Chinese (an untranslated paragraph's "so that" does not outrank the translation)."""
    top = ranked[:_REASON_TOP]
    found = next((k for k, ev in enumerate(top) if ev.supported is not False and REASON.search(ev.answer_text)
                  and (not chinese or is_mostly_cjk(ev.answer_text) or not is_mostly_cjk(top[0].answer_text))), None)
    if not found:
        return ranked
    return promoted(ranked, found)
