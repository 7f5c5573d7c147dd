"""Answer units: a cleaned document → the spans an answer can be, following the document's own structure.

Prose becomes sentences; a table row keeps its table's header as context; list items, ``Key: value``
fields, code blocks and commands, and option or definition entries (man pages, glossaries) are units
of their own. Headings are not answers: they become the context of what stands under them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KINDS = ("sentence", "row", "item", "field", "code", "option", "heading")
ENTRY_KINDS = ("row", "item", "field", "option")  # the members of a list, table or glossary

_PARAGRAPH = re.compile(r"```.*?(?:```|\Z)|[^\n]+(?:\n(?!\n)[^\n]*)*", re.S)
IN_FORMULA = r"""(?:;(?=[A-Za-z0-9_=;"'(\[$「“])|[!?](?=[A-Za-z0-9_=]))"""  # "C3;D3;;F3", "A1;2", "a!=b"
# a sentence ends at its final punctuation, but not at a quoted one ("在密码开头添加一个“!”") nor at a Latin one
# inside a formula, an expression or an address ("DATE(1954;7;20)", "a!=b", "?q=1")
_SENTENCE = re.compile(rf"(?:[^。！？!?；;\n]|{IN_FORMULA}|(?<=[“\"'‘「])[!?！？](?=[”\"'’」]))+"
                       rf"(?:(?:[。！？；]|(?!{IN_FORMULA})[!?;])+[”’」』）)]*|$)|[^\n]+")
_HEADING_MD = re.compile(r"^(#{1,6})\s+(.*)$")
_HEADING_MARK = re.compile(r"^#{1,6}\s+")
_ROW = re.compile(r"^\|.*\|$|^[^|\n]+(?:\s\|\s[^|\n]*){2,}$")
_SEPARATOR_ROW = re.compile(r"^\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?$")
_ITEM = re.compile(r"^(?:[-*+•·▪]\s+|\d{1,3}[.)、．]\s*(?!\d)|[（(][一二三四五六七八九十\d]{1,3}[)）]\s*|[①-⑳]\s*)")
_OPTION = re.compile(r"^-{1,2}[A-Za-z0-9?][\w-]*(?:[ ,=]|$)")
_FIELD = re.compile(r"^[^\s:：，,。；;！？!?“”\"|#`-][^:：，,。；;！？!?“”\"|`]{0,23}\s*[:：]\s*\S")
# a line that is only a bold or code term: "**-a**, **--and**", "**16**", "`timeout`" (man pages, glossaries)
_TERM_LINE = re.compile(r"^(?:\*\*[^*\n]{1,40}\*\*|`[^`\n]{1,40}`)(?:\s*[,，/]\s*(?:\*\*[^*\n]{1,40}\*\*|`[^`\n]{1,40}`))*\s*$")
_BOLD_TERM = re.compile(r"^\*\*[-A-Za-z0-9$%./_]")
_COMMAND = re.compile(r"^(?:\$|#|>>>|C:\\>)\s+\S")
_FINAL = "。！？；…!?;.：:"
_ADMONITION = re.compile(r"[>\s]*(?:(?i:note|notes|warning|caution|tip|hint|important|attention|danger)|注意|提示|警告|注|说明|重要"
                         r"|小心|危险)[\s:：!！]*")
# a field that names the entry it heads: what follows it, up to the next heading or entry, is about that
_RECORD_TITLE = re.compile(r"(?i:subject|title|name|summary|description)\s*:|(?:标题|主题|名称|题目|摘要)\s*[:：]")
_RFC822_KEY = re.compile(r"^[A-Z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*: \S")  # "Choices: …", "Defined-By: …": a field however long
_RECORD_START = re.compile(r"^-{2,3}\s+\S+$|^={3,}$")  # an entry's id line ("-- 5a1b2c…") or a rule
_PLACEHOLDER = re.compile(r"[>\s]*(?:TODO|FIXME|TBD|XXX)\b|待补充|待撰写|此处待")
_HEADING_MAX = 40
_PLAIN_LEVEL = 9  # the level of a heading without markup
_QUOTE_GAP = re.compile(r"[\s>]*")  # between two paragraphs of one quoted block: blank and bare ">" lines
_TAGGED = re.compile(r"^[$~/A-Za-z0-9_][A-Za-z0-9_$~/.{}*+-]{1,60}$")  # a file, variable or name alone on its line


@dataclass(frozen=True)
class Unit:
    """A span of a document's cleaned text that can answer on its own."""

    start: int
    end: int
    kind: str  # one of KINDS
    context: str = ""  # the headings above it; for a table row also its header row


def split_units(text: str) -> list[Unit]:
    """The answer units of ``text`` (a cleaned document), in document order."""
    units: list[Unit] = []
    headings: list[tuple[int, str]] = []  # (level, title) of the open sections
    header = ""  # the header row of the table being read
    lead = ""  # the sentence that leads into it
    record = ""  # the title field of the entry being read ("Subject: …" in a message catalog)
    opened: int | None = None  # the first unit of the entry being read: its id line ("-- 5a1b…") or first field
    fields = False  # the paragraph before was a field of the same run
    quoted = ""  # the term whose quoted description the paragraph before was ("> 锁定指定账户的密码。" under "-l")
    paragraphs = list(_PARAGRAPH.finditer(text))
    for i, match in enumerate(paragraphs):
        para, start = match.group(), match.start()
        stripped = para.strip()
        if not stripped:
            continue
        shown = plain(stripped).strip("> ")
        if not shown or _ADMONITION.fullmatch(shown) or _PLACEHOLDER.match(shown):
            continue  # "Note", "警告": a label over the paragraph that says it; "TODO: 撰写本节": nothing yet
        kind, level = _kind(stripped, paragraphs[i + 1].group() if i + 1 < len(paragraphs) else "")
        carried, quoted = quoted, ""
        if kind == "heading" and level == _PLAIN_LEVEL and _term_above(units, text, start):
            kind = "sentence"  # "`deb-src`" then "源代码软件包的软件包源": a term's description, not a title
        if kind == "heading":
            headings = _enter(headings, stripped, level)
            header = record = ""
            opened = None
            if level != _PLAIN_LEVEL and _API_NAME.fullmatch(plain(stripped)):
                # "##### Dialog.closeAll()" over "静态方法关闭所有……": the heading is the term the paragraph describes
                units.append(Unit(start, match.end(), "option", " › ".join(h[1] for h in headings[:-1])))
            continue
        if kind == "field" and not fields and opened is None:
            record, opened = "", len(units)  # a run of fields after other text begins an entry ("Template: …")
        if kind == "field" and _RECORD_TITLE.match(shown):
            record = re.split(r"[:：]", shown, maxsplit=1)[-1].strip().rstrip("：:")  # "Subject: 单元启动失败" titles it
            for k in range(opened if opened is not None else len(units), len(units)):
                # the entry's id line and the fields above the title ("Default: …") are about what it titles too
                units[k] = Unit(units[k].start, units[k].end, units[k].kind, _join(units[k].context, record))
            opened = None
        elif _RECORD_START.match(shown):
            record = ""  # "-- 5a1b…": the next entry of a catalog begins
            opened = len(units)
        elif kind != "field":
            opened = None  # the fields ended without a title
        fields = kind == "field"
        context = _join(" › ".join(h[1] for h in headings), record)
        if kind == "row":
            if _SEPARATOR_ROW.match(stripped):
                continue
            following = paragraphs[i + 1].group().strip() if i + 1 < len(paragraphs) else ""
            if not header or _SEPARATOR_ROW.match(following):
                header = stripped  # the first row of a table: its header, the context of every row below
                lead = _lead_in(units, text, start)  # "这些文件夹是：" says what the rows are
                continue
            units.append(Unit(start, match.end(), "row", _join(context, lead, header)))
            continue
        header = ""
        if kind == "sentence" or (kind == "field" and _describes(units, text, start)):
            term = _term_before(units, text, start)
            if not term and carried and stripped.startswith(">") and _QUOTE_GAP.fullmatch(text[units[-1].end:start]):
                term = carried  # "> Note that this does not disable …": the entry's description goes on
            quoted = term if stripped.startswith(">") else ""
            found = _sentences(para, start, _join(context, term))
            label = _PARAGRAPH_LABEL.match(stripped)
            name = (label.group(1) or label.group(2)).strip() if label and not term else ""
            if name and not _ADMONITION.fullmatch(name):
                # "**自动保存时创建备份：** 启用后，……。 如果……，则此设置无效。": every sentence is about the label
                found = found[:1] + [Unit(u.start, u.end, u.kind, _join(u.context, name)) for u in found[1:]]
            units.extend(found)
            continue
        if kind == "item" and not (units and units[-1].kind == "item"):
            lead = _lead_in(units, text, start)  # "评审专家存在以下情形之一的，……应当将其解聘：" says what the items are
        units.append(Unit(start, match.end(), kind, _join(context, lead) if kind == "item" else context))
    # (an API heading that no paragraph describes is no entry)
    return [u for u in units if len(plain(text[u.start:u.end])) >= 2
            and not (u.kind == "option" and _HEADING_MD.fullmatch(text[u.start:u.end].strip()))]


def section_starts(text: str) -> list[tuple[int, tuple[str, ...]]]:
    """(offset, titles of the open sections, outermost first) at each heading of ``text`` (a cleaned document):
    what stands below it is under those headings."""
    found: list[tuple[int, tuple[str, ...]]] = []
    headings: list[tuple[int, str]] = []
    paragraphs = list(_PARAGRAPH.finditer(text))
    for i, match in enumerate(paragraphs):
        stripped = match.group().strip()
        kind, level = _kind(stripped, paragraphs[i + 1].group() if i + 1 < len(paragraphs) else "") if stripped else ("", 0)
        if kind == "heading":
            headings = _enter(headings, stripped, level)
            found.append((match.start(), tuple(h[1] for h in headings if h[1])))
    return found


def _enter(headings: list[tuple[int, str]], heading: str, level: int) -> list[tuple[int, str]]:
    """The open sections once the heading paragraph ``heading`` of ``level`` is read."""
    title = plain(_HEADING_MD.sub(r"\2", heading)).strip("*# ")
    return [h for h in headings if h[0] < level] + [(level, title)]


def _lead_in(units: list[Unit], text: str, start: int) -> str:
    """The sentence just above a table that leads into it ("这些文件夹是："), or ""."""
    if not units or units[-1].kind != "sentence" or text[units[-1].end:start].count("\n") > 2:
        return ""
    sentence = plain(text[units[-1].start:units[-1].end])
    return sentence if sentence.endswith(("：", ":")) and len(sentence) <= 80 else ""


def _term_before(units: list[Unit], text: str, start: int) -> str:
    """The term a description paragraph explains: the short option line or list item right above it.

    ("-9 --best" then "压缩得最好", "- foo.dsc" then "这是一个……"): the entry becomes one unit, term and
    first sentence, and the description's sentences carry the term as context.
    """
    if not units or units[-1].kind not in ("option", "item") or text[units[-1].end:start].count("\n") > 2:
        return ""
    term = units[-1]
    name = _BULLET.sub("", plain(text[term.start:term.end]))
    if len(name) > 60 or name[-1:] in _FINAL + "，,":
        return ""
    first = _SENTENCE.match(text, start)
    end = first.end() if first else start
    units[-1] = Unit(term.start, end, "option", term.context)
    return name


def _term_above(units: list[Unit], text: str, start: int) -> bool:
    """The paragraph at ``start`` comes right under a bare term ("`deb-src`", "**-p**") that it describes."""
    if not units or units[-1].kind != "option" or text[units[-1].end:start].count("\n") > 2:
        return False
    return bool(_TERM_LINE.match(text[units[-1].start:units[-1].end].strip()))


def _describes(units: list[Unit], text: str, start: int) -> bool:
    """A ``Key: value`` line right under a bare term is the term's description ("**Shift** + **Ctrl** + E" then
    "Export As...: save image to various file formats"), not a field of its own."""
    if not units or units[-1].kind != "option" or text[units[-1].end:start].count("\n") > 2:
        return False
    return "\n" not in text[units[-1].start:units[-1].end].strip()


# a paragraph that opens with its subject as a label: "**自动保存时创建备份：** 启用后……", "注意：……"
_PARAGRAPH_LABEL = re.compile(r"^(?:\*\*([^*\n]{1,24}?)(?:[:：]\*\*|\*\*\s*[:：])|"
                              r"([^\s:：，,。；;！？!?“”\"|#`*>-][^:：，,。；;！？!?“”\"|`*\n]{0,11})[:：](?!//))\s*\S")


def _kind(para: str, following: str) -> tuple[str, int]:
    """What a paragraph is, and for a heading its level (1 = top)."""
    md = _HEADING_MD.match(para)
    if md and "\n" not in para:
        return "heading", len(md.group(1))
    if para.startswith("```"):
        return "code", 0
    first = para.split("\n", 1)[0]
    if _ROW.match(first) and "\n" not in para:
        return "row", 0
    if _COMMAND.match(first):
        return "code", 0
    # a term needs the description that follows it, unless it says more than the term (the last key of a key list)
    term_only = bool(_TERM_LINE.match(para.strip()))
    if _OPTION.match(first) or ((term_only or _bold_term(para)) and (following.strip() or not term_only)):
        return "option", 0
    if _TAGGED.match(para.strip()) and following.lstrip().startswith(">"):
        return "option", 0  # "$HOME/.hushlogin" over "> 阻止显示系统信息。": a man page's tagged paragraph
    if _ITEM.match(first):
        return "item", 0
    if _FIELD.match(first) and (len(first) <= 80 and "。" not in first.rstrip("。") or _RFC822_KEY.match(first)):
        return "field", 0
    if _plain_heading(para, following):
        return "heading", _PLAIN_LEVEL  # a heading without markup: below every marked-up level
    return "sentence", 0


def _bold_term(para: str) -> bool:
    """A one-line term in bold that starts like a command or an option, with its argument in italics:
    "**-M ***路径*, **--manpath=***路径*", "**man -t ***bash *|* lpr*" (a man page's options and examples)."""
    line = para.strip()
    return "\n" not in line and len(line) <= 80 and line[-1] not in _FINAL and bool(_BOLD_TERM.match(line))


def _plain_heading(para: str, following: str) -> bool:
    """A short line without a final mark, followed by a longer paragraph: "第三章 安装", "OPTIONS"."""
    text = para.strip().strip("*")
    if "\n" in text or not text or len(text) > _HEADING_MAX or text[-1] in _FINAL + "，,、" or text.startswith(">"):
        return False  # a quoted line is shown content ("> 1 n l 8 3 0 2"), not a title
    return len(following.strip()) > len(text)


def _sentences(para: str, start: int, context: str) -> list[Unit]:
    found = []
    for m in _SENTENCE.finditer(para):
        s, e = m.span()
        while s < e and para[s] in " \u3000\t\n":
            s += 1
        while e > s and para[e - 1] in " \u3000\t\n":
            e -= 1
        if e - s >= 2:
            found.append(Unit(start + s, start + e, "sentence", context))
    return found


def _join(*parts: str) -> str:
    return " › ".join(p for p in parts if p)


_LINK = re.compile(r"!?\[([^\]\n]*)\]\([^)\n]*\)")
_MARKUP = re.compile(r"\*\*|__|`+|^#{1,6}\s+|^>\s?", re.M)
_EMPHASIS = re.compile(r"(?<![\w*\\])\*(?=\S)([^*\n]{1,80}?)(?<=\S)\*(?![\w*])")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>~\"'])")
# what a link split across units leaves: "](page.html#id "title")" after its text, "[" before it
_LINK_REST = re.compile(r'^\]\([^)\s]*(?:\s+"[^"]*"?)?\)?|\]\([^)\s]*(?:\s+"[^"]*")?\)|^\[(?=[^\]]*$)')
_NOTE = re.compile(r"\s*\[\^?\(?\\?\[?\d+\\?\]?\)?\]\(#[^)]*\)")


_CELL_BORDER = re.compile(r"(?<!\\)\|")


def row_cells(row: str) -> list[str]:
    """The cells of a table row written as ``| a | b |`` or ``a | b | c`` (a ``\\|`` is a pipe inside a cell)."""
    body = row.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    return [c.strip().replace("\\|", "|") for c in _CELL_BORDER.split(body)]


def display(text: str, unit: Unit) -> str:
    """A unit as an answer shows it: a table row as "header: cell" pairs, everything without markup."""
    body = text[unit.start:unit.end]
    if unit.kind == "row":
        header = [plain(h) for h in row_cells(unit.context.rsplit(" › ", 1)[-1])]
        cells = ["" if _PLACEHOLDER_CELL.fullmatch(c := plain(cell)) else c for cell in row_cells(body)]
        if len(header) == len(cells) and any(header):
            return "；".join(f"{h}：{c}" if h else c for h, c in zip(header, cells) if c)
        filled = [c for c in cells if c]
        if len(filled) >= 2 and not any(header):  # a table without a header: its first column names the row
            return f"{filled[0]}：{'；'.join(filled[1:])}"
        return "；".join(filled)
    if unit.kind == "item":
        return _BULLET.sub("", plain(body))
    if unit.kind == "option":
        term, _, rest = plain(_HEADING_MARK.sub("", body)).partition("\n\n")
        term = _STRAY_STAR.sub("", term)  # "man -a* intro*": italics run into bold ("**man -a*** intro*")
        return f"{term.strip()}：{rest.strip()}" if rest.strip() else term.strip()
    return plain(body)


_BULLET = re.compile(r"^[-*+•·▪]\s+")
_PLACEHOLDER_CELL = re.compile(r"[-–—/]|N/?A", re.I)  # a table cell that only says it is empty: shown as nothing
# a heading that is an API's name: "Dialog.closeAll()", "cnchar.spell(...)", "fly.config"
_API_NAME = re.compile(r"(?:[A-Za-z_$][\w$]*\.)*[A-Za-z_$][\w$]*\s*\([^()]*\)|(?:[A-Za-z_$][\w$]*\.)+[A-Za-z_$][\w$]*")
_STRAY_STAR = re.compile(r"(?<=[\w)])\*(?=\s|$)")


def plain(text: str) -> str:
    """A unit's text without Markdown markup: link text stays, targets, emphasis marks and fences go."""
    text = _NOTE.sub("", text)
    text = re.sub(r"^```[^\n]*\n?|\n?```$", "", text.strip())
    text = _LINK_REST.sub("", _LINK.sub(r"\1", text))
    text = _EMPHASIS.sub(r"\1", _MARKUP.sub("", text))
    return _ESCAPE.sub(r"\1", text).strip()
