"""HTML pages (.html .htm .xhtml) → Markdown that keeps what answer units read: headings, lists, tables,
code blocks and definition entries.

The page's own navigation goes (``<nav>``, header and footer bars, "上一页 | 下一页 | 目录" link rows), and so
do scripts, styles, forms' controls and images; a link keeps only its text. ``declared_encoding`` reads the
charset a page names, for the loader to decode it with.
"""

from __future__ import annotations

import codecs
import re

from bs4 import BeautifulSoup, Comment, Declaration, Doctype, NavigableString, ProcessingInstruction, Tag
from markdownify import ATX, MarkdownConverter

from rag.documents.html_tables import shape_tables, span
from rag.errors import DocumentError

# --- the declared encoding ---------------------------------------------------------------------------------

_PRESCAN = 8192  # where pages put their <meta charset>; a browser looks at the first 1024 bytes
_XML_DECLARATION = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([\w.:-]+)""", re.I)
_META_CHARSET = re.compile(rb"""<meta\s[^>]*?charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)
# What browsers read a label as (the WHATWG Encoding Standard): GB2312 and GBK pages are decoded as
# their superset GB18030, Latin-1 as Windows-1252, and a <meta> that says UTF-16 was read as ASCII, so it is wrong.
_AS_BROWSERS_READ = {"gb2312": "gb18030", "gbk": "gb18030", "iso8859-1": "cp1252", "ascii": "cp1252",
                     "big5": "big5hkscs", "utf-16": "utf-8", "utf-16-le": "utf-8", "utf-16-be": "utf-8",
                     "utf-32": "utf-8", "utf-32-le": "utf-8", "utf-32-be": "utf-8"}
_LABELS = {"x-gbk": "gbk", "windows-936": "gbk", "x-user-defined": "cp1252"}


def declared_encoding(raw: bytes) -> str | None:
    """The codec a page declares for itself (``<?xml encoding>``, ``<meta charset>``, ``http-equiv``), or None."""
    head = raw[:_PRESCAN]
    found = _XML_DECLARATION.match(head) or _META_CHARSET.search(head)
    if found is None:
        return None
    label = found.group(1).decode("ascii", "replace").strip().lower()
    try:
        name = codecs.lookup(_LABELS.get(label, label)).name
    except LookupError:
        return None  # a name Python does not know: the bytes are read as undeclared
    return codecs.lookup(_AS_BROWSERS_READ.get(name, name)).name


# --- cleaning the page -------------------------------------------------------------------------------------

_DROPPED = ("head", "script", "style", "noscript", "template", "nav", "footer", "iframe", "frame", "object",
            "embed", "applet", "svg", "canvas", "math", "img", "picture", "video", "audio", "map", "button",
            "select", "input", "textarea", "dialog")
_NAV_ROLES = {"navigation", "search", "menu", "menubar", "toolbar", "contentinfo", "doc-toc"}
# class or id of a page's navigation: "navbar", "navheader" (DocBook), "topNav", "site-nav", "breadcrumbs", "toc"
_NAV_NAME = re.compile(r"(?i)^(?:[a-z]*[-_]?nav(?:bar|header|footer|igation|links?|menu)?(?:[-_][a-z]+)*|breadcrumbs?"
                       r"|skip[-_]?(?:to[-_]?content|links?)|toc|pager|pagination|(?:site|page)?[-_]?footer)$")
_PARTS = {"div", "section", "aside", "header", "ul", "ol", "dl", "table", "p", "span", "center", "form", "menu"}
_HEADER_NAME = re.compile(r"(?i)^(?:(?:site|page)[-_]?)?header$|^masthead$")
_HIDDEN_STYLE = re.compile(r"(?i)display\s*:\s*none|visibility\s*:\s*hidden")
_HEADING = re.compile(r"^h[1-6]$")
_MAX_DEPTH = 100  # real pages nest a few dozen levels
_PERMALINKS = {"¶", "#", "§", "🔗", "link"}
_FOOTNOTE_MARK = re.compile(r"^(?:\[?\d{1,3}\]?|\*{1,3}|†|‡)$")
# the words of a navigation bar, as link text or as the greyed-out text of a link that does not apply here
_NAV_WORDS = {
    "上一页", "下一页", "上一章", "下一章", "上一节", "下一节", "上一篇", "下一篇", "前一页", "后一页", "上页", "下页",
    "前页", "后页", "上一级", "上级", "向上", "返回", "返回上级", "返回首页", "返回目录", "返回顶部", "回到顶部", "顶部",
    "首页", "主页", "起始页", "目录", "总目录", "索引", "prev", "previous", "next", "up", "home", "top", "contents",
    "index", "toc", "back",
}
_SEPARATORS = re.compile(r"[\s|｜¦/\\·•・»«›‹<>→←↑↓\-–—:：,，、;；.。\[\]［］()（）【】〔〕「」]+")
_BLOCKS = {"p", "div", "table", "ul", "ol", "dl", "li", "dt", "dd", "tr", "td", "th", "section", "article", "main",
           "aside", "header", "blockquote", "pre", "center", "form", "fieldset", "figure", "body", "address",
           "details", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "br", "caption", "thead", "tbody", "tfoot"}
# blocks judged whole; and blocks whose loose lines are judged one by one (a table cell's links are its data)
_LINK_BLOCKS = ("p", "div", "table", "tr", "ul", "ol", "dl", "center", "section", "aside")
_RUN_HOLDERS = ("body", "div", "section", "article", "main", "aside", "center", "p", "form", "blockquote")
_CJK = r"\u2e80-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef"
_CJK_LINE_BREAK = re.compile(rf"(?<=[{_CJK}])[ \t]*\n\s*(?=[{_CJK}])")


def html_to_markdown(text: str, name: str) -> str:
    """The page's content as Markdown; "" when it has no text. ``name`` is for the error a user reads."""
    soup = BeautifulSoup(text, "lxml")
    title = " ".join(soup.title.get_text().split()) if soup.title else ""
    try:
        _flatten_deep(soup)
        _drop_furniture(soup)
        shape_tables(soup)
        _drop_link_bars(soup)
        _shape_definitions(soup)
        body = _Converter().convert_soup(soup)
    except RecursionError:
        raise DocumentError(name, "网页的标签嵌套太深，无法读取（文件可能已损坏）") from None
    if not body.strip():
        return ""
    first = soup.find(_HEADING)
    shown = " ".join(first.get_text().split()) if first is not None else ""
    if title and (first is None or (first.name != "h1" and shown != title)):
        body = f"# {title}\n\n{body}"  # the page's title heads its text, as a browser's tab shows it
    return body


def _remove(nodes: list) -> None:
    """Take the nodes out of the page, each parent's in one sweep.

    One by one, bs4 looks each node up in its parent's children: on a page of 100 000 paragraphs
    that made removing its navigation bars take minutes.
    """
    doomed: dict[int, tuple[Tag, set[int]]] = {}
    for node in nodes:
        if node.parent is not None:
            doomed.setdefault(id(node.parent), (node.parent, set()))[1].add(id(node))
    for parent, ids in doomed.values():
        for index in range(len(parent.contents) - 1, -1, -1):
            if id(parent.contents[index]) in ids:
                parent.contents[index].extract(_self_index=index)


def _flatten_deep(soup: BeautifulSoup) -> None:
    """Unwrap tags nested deeper than any real page (hundreds of unclosed ``<font>``): their text stays.

    The conversion recurses once per level, and would run out of stack on them.
    """
    deep, stack = [], [(soup, 0)]
    while stack:
        tag, depth = stack.pop()
        for child in (node for node in tag.contents if isinstance(node, Tag)):
            if depth >= _MAX_DEPTH:
                deep.append(child)
            stack.append((child, depth + 1))
    for tag in deep:
        tag.unwrap()


def _drop_furniture(soup: BeautifulSoup) -> None:
    """Remove what is not the page's text: scripts, styles, navigation, footers, controls, hidden parts."""
    doomed: list = soup.find_all(string=lambda s: isinstance(s, (Comment, Declaration, Doctype, ProcessingInstruction)))
    headers = []
    for tag in soup.find_all(True):
        if tag.name in ("html", "body"):  # (a page may hide its body until a script shows it)
            continue
        # class and id name a page's parts on its containers (a table cell's "header" class is only its style)
        names = [*(tag.get("class") or []), tag.get("id") or ""] if tag.name in _PARTS else []
        role = str(tag.get("role") or "").lower()
        if (tag.name in _DROPPED or role in _NAV_ROLES or any(_NAV_NAME.match(n) for n in names)
                or tag.has_attr("hidden") or tag.get("aria-hidden") == "true"
                or _HIDDEN_STYLE.search(str(tag.get("style") or ""))):
            doomed.append(tag)
        elif tag.name == "header" or role == "banner" or any(_HEADER_NAME.match(n) for n in names):
            headers.append(tag)
        elif tag.name == "a":
            shown = tag.get_text().strip()
            footnote = str(tag.get("href") or "").startswith("#") and _FOOTNOTE_MARK.match(shown)
            if shown.lower() in _PERMALINKS or footnote or "headerlink" in (tag.get("class") or []):
                doomed.append(tag)  # "¶" after a heading, "[1]" after a number (it would read as another digit)
    _remove(doomed)
    for header in headers:  # a page header: its title heading stays (an article's <header> holds its <h1>)
        if header.parent is not None:
            for heading in header.find_all(_HEADING):
                header.insert_before(heading.extract())
    _remove(headers)


def _drop_link_bars(soup: BeautifulSoup) -> None:
    """Remove navigation bars: blocks, and lines of a block's inline content, that show only links."""
    tags = soup.find_all(True)
    shows = _what_each_shows(tags)
    doomed = [tag for tag in tags if tag.name in _LINK_BLOCKS and _only_links([shows[id(tag)]])]
    for holder in [soup, *(tag for tag in tags if tag.name in _RUN_HOLDERS)]:
        for run in _inline_runs(holder):
            if _only_links([shows[id(n)] if isinstance(n, Tag) else _shows_text(n) for n in run]):
                doomed.extend(run)
    _remove(doomed)


def _what_each_shows(tags: list[Tag]) -> dict[int, tuple[int, bool, bool]]:
    """For every tag, in one pass from the leaves up: (links with text, all of them navigation words,
    nothing else but separators and navigation words)."""
    shows: dict[int, tuple[int, bool, bool]] = {}
    for tag in reversed(tags):
        if tag.name == "a":
            text = _SEPARATORS.sub("", tag.get_text()).lower()
            shows[id(tag)] = (1, text in _NAV_WORDS, True) if text else (0, True, True)
            continue
        parts = [shows[id(c)] if isinstance(c, Tag) else _shows_text(c) for c in tag.children]
        shows[id(tag)] = _together(parts)
    return shows


def _shows_text(text: str) -> tuple[int, bool, bool]:
    return 0, True, all(w.lower() in _NAV_WORDS for w in _SEPARATORS.split(text) if w)


def _together(parts: list[tuple[int, bool, bool]]) -> tuple[int, bool, bool]:
    return sum(p[0] for p in parts), all(p[1] for p in parts), all(p[2] for p in parts)


def _only_links(parts: list[tuple[int, bool, bool]]) -> bool:
    """True for what shows only links (two or more, or navigation words) and separators between them."""
    links, all_nav, nothing_else = _together(parts)
    return nothing_else and links > 0 and (links >= 2 or all_nav)


def _inline_runs(tag: Tag) -> list[list]:
    """The tag's children cut at block elements and line breaks: each run reads as one line of text."""
    runs, run = [], []
    for child in tag.children:
        if isinstance(child, Tag) and child.name == "br":
            runs.append([*run, child])  # the line break goes with the line it ends
            run = []
        elif isinstance(child, Tag) and child.name in _BLOCKS:
            runs.append(run)
            run = []
        else:
            run.append(child)
    return [r for r in [*runs, run] if r]


# --- definition lists ----------------------------------------------------------------------------------------


def _shape_definitions(soup: BeautifulSoup) -> None:
    """Terms given together ("-a" then "--all") become one term line, as "-a, --all"."""
    for term in soup.find_all("dt"):
        previous = term.find_previous_sibling(True)
        if previous is not None and previous.name == "dt":
            previous.append(", ")
            for child in list(term.contents):
                previous.append(child.extract())
            term.decompose()


# --- conversion ----------------------------------------------------------------------------------------------

_SUPERSCRIPT = str.maketrans("0123456789+-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻")
_SUBSCRIPT = str.maketrans("0123456789+-", "₀₁₂₃₄₅₆₇₈₉₊₋")
_TERM_MAX = 40  # a longer term stays a plain line (units read "**…**" of at most this length as a term)


class _Converter(MarkdownConverter):
    """markdownify, set for answer units: no link targets, no images, no indentation, no escapes."""

    def __init__(self):
        super().__init__(heading_style=ATX, bullets="-", escape_asterisks=False, escape_underscores=False,
                         escape_misc=False, strip_document="strip")
        self._numbers: dict[int, int] = {}  # an ordered list → its items so far

    def process_text(self, el, parent_tags=None):
        text = super().process_text(el, parent_tags)  # a line break in the source stays "\n" here
        if "pre" in (parent_tags or ()):
            return text
        # none between two Chinese characters (browsers show none), a space elsewhere
        return _CJK_LINE_BREAK.sub("", text).replace("\n", " ")

    def convert_a(self, el, text, parent_tags):
        return text

    def convert_img(self, el, text, parent_tags):
        return ""

    def convert_hr(self, el, text, parent_tags):
        return "\n\n"

    def convert_blockquote(self, el, text, parent_tags):
        text = text.strip()
        return f" {text} " if "_inline" in parent_tags else f"\n\n{text}\n\n" if text else ""

    def convert_li(self, el, text, parent_tags):
        # not indented: a code fence stays at the start of its line, where the cleaning finds it
        # (markdownify counts an item's earlier siblings: slow on a list of thousands)
        bullet, parent = "-", el.parent
        if parent is not None and parent.name == "ol":
            start = str(parent.get("start") or "1")
            count = self._numbers[id(parent)] = self._numbers.get(id(parent), -1) + 1
            bullet = f"{(int(start) if start.isdigit() else 1) + count}."
        text = text.strip()
        return f"{bullet} {text}\n" if text else "\n"

    def convert_dt(self, el, text, parent_tags):
        term = " ".join(el.get_text().split())
        if "_inline" in parent_tags:
            return f" {term} "
        if not term:
            return ""
        if not term.startswith("-") and len(term) <= _TERM_MAX and "*" not in term:
            term = f"**{term}**"  # a term line, which units join with the description under it; options stay bare
        return f"\n\n{term}\n\n"

    def convert_dd(self, el, text, parent_tags):
        text = text.strip()
        if "_inline" in parent_tags:
            return f" {text} "
        return f"\n\n{text}\n\n" if text else ""

    def convert_td(self, el, text, parent_tags):
        return self._cell(el, text)

    def convert_th(self, el, text, parent_tags):
        return self._cell(el, text)

    def _cell(self, el, text):
        shown = " ".join(text.split()).replace("|", "\\|")  # a pipe in a cell stays in the cell
        return f" {shown} |" * span(el, "colspan") if shown else " |" * span(el, "colspan")

    def convert_sup(self, el, text, parent_tags):
        return text.translate(_SUPERSCRIPT) if re.fullmatch(r"[0-9+-]{1,4}", text.strip()) else text

    def convert_sub(self, el, text, parent_tags):
        return text.translate(_SUBSCRIPT) if re.fullmatch(r"[0-9+-]{1,4}", text.strip()) else text
