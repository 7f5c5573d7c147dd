"""Chinese and English text as tokens: character bigrams, jieba words, years and how Chinese a text is."""

from __future__ import annotations

import re

from rag.errors import RagError
from rag.text import jieba_tables

# jieba's dictionary and part-of-speech tables load bucket by bucket from a cache, not whole at the first cut.
jieba_tables.install()

YEAR_IN_TEXT = re.compile(r"(?<!\d)((?:19|20)\d{2})年")  # in document text only "2024年" is a year
_CJK_RE = re.compile(r"[\u4e00-\u9fff]")


def is_mostly_cjk(text: str) -> bool:
    """Whether at least 30% of the non-space characters are Chinese."""
    chars = [c for c in text if not c.isspace()]
    return len(_CJK_RE.findall(text)) >= max(2, 0.3 * len(chars))


_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN_RE = re.compile(rf"[{_CJK}]+|[A-Za-z]+|\d+(?:\.\d+)?")
# Question words carry no evidence; left in, their bigrams pull in unrelated passages.
_QUESTION_WORDS = re.compile(
    r"多少|几多|哪些|哪个|哪位|哪里|哪儿|哪一|哪年|哪天|什么|为何|为什么|怎么|怎样|如何|是否|有没有|请问|吗|呢|？|\?"
)
_EN_STOP = frozenset(
    "the a an of in on at to for and or is are was were be been how many much what which who whom when where "
    "why did do does with by from as that this these those it its into about than".split()
)


def _is_cjk(token: str) -> bool:
    return bool(re.match(rf"[{_CJK}]", token))


# what is looked up exactly as written: a key combination ("Ctrl+B", "Ctrl+Shift+S") or a command-line option
# ("-t", "--no-purge"); each is one token besides its parts, so "Ctrl+B" finds the row that says it
# an editor's key as Emacs and its tutorials write it: "C-x", "M-v", "C-M-v", "M-<DEL>", "C-@" (C: Control, M: Meta)
_EMACS_KEY = r"(?<![\w<-])(?:[CM]-)+(?:<[A-Za-z]{2,6}>|[A-Za-z0-9](?![\w>-])|[@/_%^&*()\[\]{};:'\",.<>?!$#=~`|\\](?![\w-]))"
# an editor's command line as Vim writes it: ":wq", ":q!", ":r !dir", ":help user-manual"
_EX_COMMAND = r"(?<![\w:/])(?::[A-Za-z]{1,12}!?(?: +!?[A-Za-z][\w.-]*)?)(?![\w:/])"
_EXACT_RE = re.compile(r"(?<![A-Za-z0-9_+-])(?:[A-Za-z]{2,5}(?:\+[A-Za-z0-9]{1,5})+|--?[A-Za-z][A-Za-z0-9_-]*)(?![A-Za-z0-9_+])"
                       rf"|{_EMACS_KEY}|{_EX_COMMAND}")


# a long hexadecimal id ("5a1b2c3d…", a UUID with or without its dashes)
HEX_ID = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"


def says_whole(name: str, text: str, ignore_case: bool = False) -> bool:
    """Whether ``text`` says ``name`` as a whole, not as part of a longer name: "SSH" in "SSH 用哪个端口", not
    "online" in "migrate_all_online.sh" or "OpenSSH" in "openssh-blacklist"."""
    return re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w-]|\.\w)", text, re.I if ignore_case else 0) is not None


# a command-line option as written ("-l", "--no-purge"); "用 chage -l吗": the option is "-l"
OPTION = re.compile(r"(?<![A-Za-z0-9_-])--?[A-Za-z][A-Za-z0-9_-]*")


def exact_terms(text: str) -> list[str]:
    """The key combinations and options ``text`` names, as written ("Ctrl+B", "--no-purge")."""
    return _EXACT_RE.findall(text)


# a key combination however a document writes it: "Ctrl+B", "Ctrl + B", "**Ctrl** + **Alt** + O", "<kbd>Ctrl</kbd>+<kbd>O</kbd>"
_MODIFIER = r"(?:ctrl|control|alt|shift|cmd|command|meta|super|win|option|fn)"
_KEY = r"[*_`]*(?:<kbd>)?{}(?:</kbd>)?[*_`]*"
_KEY_COMBO = re.compile(rf"(?<![A-Za-z0-9]){_KEY.format(_MODIFIER)}(?:\s*[+＋]\s*{_KEY.format('[A-Za-z0-9]{1,9}')})+"
                        r"(?![A-Za-z0-9])"
                        # "CTRL-O", "Ctrl-Alt-Del" (Vim's help and many manuals join the keys with a hyphen)
                        r"|(?<![A-Za-z0-9_-])(?:(?:ctrl|control|alt|shift|meta)-)+[A-Za-z0-9]{1,9}(?![A-Za-z0-9_-])"
                        rf"|(?-i:{_EMACS_KEY})", re.I)  # Emacs writes C- and M- in capitals: "c-x" is no key
_EMACS_KEY_RE = re.compile(_EMACS_KEY)
_MODIFIER_NAMES = {"c": "ctrl", "m": "meta", "control": "ctrl"}  # Emacs's C- and M-, and Ctrl's long name


def key_combos(text: str) -> list[str]:
    """The key combinations ``text`` names, each written one way: lower case, modifiers in one order, joined by
    "+" ("ctrl+alt+o" for "**Alt** + **Ctrl** + O", "ctrl+meta+v" for Emacs's "C-M-v")."""
    found = []
    for m in _KEY_COMBO.finditer(text):
        written = m.group().replace("<kbd>", " ").replace("</kbd>", " ")
        emacs = re.fullmatch(r"((?:[CM]-)+)(.+)", written)
        if emacs:  # the key itself may be a sign or a named key ("M-<DEL>", "C-@")
            pressed, key = [k for k in emacs.group(1).split("-") if k], emacs.group(2)
        else:
            *pressed, key = re.findall(r"[A-Za-z0-9]+", written)
        # only the modifiers are renamed: the key of "Ctrl+C" is C
        names = (_MODIFIER_NAMES.get(k.lower(), k.lower()) for k in pressed)
        modifiers = sorted(names, key=lambda k: _MODIFIER_ORDER.get(k, len(_MODIFIER_ORDER)))
        found.append("+".join([*modifiers, key.lower()]))
    return found


_MODIFIER_ORDER = {name: k for k, name in enumerate("ctrl control alt option shift super win meta cmd command fn".split())}


# a question that asks for a key: "快捷键是什么", "按哪个键", "keyboard shortcut"
ASKS_KEY = re.compile(r"快捷键|热键|组合键|(?:哪个|什么|哪些|哪几个)键|\bshortcut|\bhot ?keys?\b|key ?bindings?|which keys?\b",
                      re.I)
# a key by its name: a modifier, Esc, Enter, F1 … F12, an arrow
_KEY_NAME = re.compile(r"(?<![A-Za-z])(?:ctrl|control|alt|shift|cmd|command|meta|super|option|esc|ecs|escape|tab|enter|"
                       r"return|space|home|end|pgup|pgdn|page ?up|page ?down|insert|ins|delete|del|backspace|F\d{1,2})"
                       r"(?![A-Za-z])|回车|空格键|退格键|方向键|[←→↑↓]", re.I)


def names_key(text: str) -> bool:
    """Whether ``text`` names a key ("Ctrl+Q", "按 F11 键", "ESC 键也可以", Emacs's "C-M-v")."""
    return _KEY_NAME.search(text) is not None or _EMACS_KEY_RE.search(text) is not None


def bigrams(text: str) -> list[str]:
    """Character bigrams of CJK runs (a lone character stays a unigram), plus ASCII words and numbers, key
    combinations and options."""
    tokens: list[str] = []
    for run in _TOKEN_RE.findall(text):
        if _is_cjk(run):
            tokens.extend(run[i : i + 2] for i in range(max(len(run) - 1, 1)))
        elif run.lower() not in _EN_STOP:
            tokens.append(run.lower())
    exact = [t.lower() for t in exact_terms(text)]
    tokens.extend(exact)
    tokens.extend(k for k in key_combos(text) if k not in exact)  # "**Ctrl** + O" is found as "ctrl+o"
    return tokens


def jieba_words(text: str) -> list[str]:
    """Words from jieba's search-engine mode, without punctuation and English stop words."""
    import jieba

    jieba.setLogLevel(60)
    words = (w.strip().lower() for w in jieba.lcut_for_search(text))
    return [w for w in words if w and _TOKEN_RE.fullmatch(w) and w not in _EN_STOP]


def person_names(text: str) -> list[str]:
    """The person names jieba tags in ``text`` (two characters or more), in the order they come, repeats kept."""
    import jieba.posseg

    return [w.word for w in jieba.posseg.cut(text) if w.flag in ("nr", "nrfg", "nrt") and len(w.word) >= 2]


def tokenize(text: str, mode: str = "bigram") -> list[str]:
    """BM25 tokens for ``text`` in one of the modes ``bigram``, ``jieba`` or ``both``."""
    if mode == "bigram":
        return bigrams(text)
    if mode == "jieba":
        return jieba_words(text)
    if mode == "both":
        return bigrams(text) + ["w:" + w for w in jieba_words(text)]
    raise RagError(f"未知的 BM25 分词方式 {mode!r}，可选：bigram, jieba, both")


def query_text(question: str) -> str:
    """The question without question words, for keyword search."""
    return _QUESTION_WORDS.sub(" ", question)


# a date in the text: 2024年3月5日, 3月, 1997-12-29, 2024/03/05, 2024.3, "March 5, 2024", "5 March 2024"
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
# (translations often space the figures: "1993 年 8 月 16 日"), "August 1993"
DATE = re.compile(r"(?:(?:19|20)\d{2} ?年 ?)?\d{1,2} ?月(?: ?\d{1,2} ?日)?|(?:19|20)\d{2} ?年(?: ?\d{1,2} ?月)?"
                  r"|(?<!\d)(?:19|20)\d{2}[-/.]\d{1,2}(?:[-/.]\d{1,2})?(?![\d.])"
                  rf"|\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+(?:19|20)\d{{2}}\b"
                  rf"|\b\d{{1,2}}\s+{_MONTH}\s+(?:19|20)\d{{2}}\b|\b{_MONTH}\s+(?:19|20)\d{{2}}\b")
# a time a text gives that DATE leaves out, since a question's own figures are not read as these: a year before 1900
# ("1054年", "公元前613年", "前221年"), one in Chinese numerals ("一九四九年"), a century or a decade ("18世纪",
# "公元前4世纪", "20世纪80年代", "90年代"), an English year after "in" or "since" ("in 1609")
ERA = (r"(?<![\d.])(?:公元前?\s*\d{1,4}|(?<![此之以提年])前\s*\d{3,4}|1\d{3})\s*年"
        r"(?:\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?|(?!前))|[〇零一二三四五六七八九]{4}\s*年"
        r"|(?:公元前?\s*)?(?:\d{1,2}|[一二三四五六七八九十]{1,3})\s*世纪|(?<![\d.])\d0\s*年代"
        r"|\b(?:in|since|until|circa|around)\s+(?:1\d{3}|20\d{2})\b(?![.,]\d)")
# a time the text gives, for a "when" question's answer: DATE or one of the above
WHEN = re.compile(f"{DATE.pattern}|{ERA}")


TRIM = " \u3000…。，,、；;：:“”\"'‘’（）()—-"
_CLOSES = {"”": "“", "’": "‘", "」": "「", "）": "（", ")": "("}
_OPENS = {opening: closing for closing, opening in _CLOSES.items()}
_OPTION_START = re.compile(r"-{1,2}[A-Za-z0-9?]")  # "-p, --no-purge": an option keeps its dashes


def trim(text: str) -> str:
    """``text`` without the punctuation and spaces around it, but a leading option's dashes kept."""
    start = text.lstrip(" \u3000")
    dashes = _OPTION_START.match(start)
    trimmed = text.strip(TRIM)
    if dashes and not trimmed.startswith(dashes.group()):
        trimmed = start[: len(start) - len(start.lstrip("-"))] + trimmed
    end = text.find(trimmed) + len(trimmed)  # a quote or bracket it opens keeps its close: "添加一个“!”)"
    while end < len(text) and text[end] in _CLOSES and trimmed.count(_CLOSES[text[end]]) > trimmed.count(text[end]):
        trimmed, end = trimmed + text[end], end + 1
    begin = end - len(trimmed)  # and a bracket it closes keeps its open: "(四)受到刑事处罚"
    while begin > 0 and text[begin - 1] in _OPENS and trimmed.count(_OPENS[text[begin - 1]]) > trimmed.count(text[begin - 1]):
        trimmed, begin = text[begin - 1] + trimmed, begin - 1
    return trimmed
