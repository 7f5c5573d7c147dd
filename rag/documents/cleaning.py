"""Layout repair: page text with broken lines, repeated paragraphs and captions → clean paragraphs."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from rag.documents.help_text import FENCE_LANGUAGES, help_entries, is_help
from rag.documents.text_tables import laid_out_rows

# Sentence-final marks; closing quotes/brackets after them still end the sentence.
_FINAL = "。！？；…!?;."
_CLOSERS = "”’\"'』」)）》】〕"
# A paragraph ending in one of these stops in the middle of a sentence.
_MID = "，,、：:（(“‘《「『【—"
_LONG_PIECE = 50  # longer than any heading in the sample corpus (the longest has 38 characters)
_FULL_LINE = 0.6  # a wrapped line fills at least this share of its block's longest line
_MIN_REPEAT = 20  # short lines (headings, "小结") may repeat legitimately; only longer ones are dropped
_CAPTION_MAX = 200

_DATE = r"(?:\d{4}|[〇零一二三四五六七八九]{4})年[\d一二三四五六七八九十]{1,2}月[\d一二三四五六七八九十]{1,3}日"
_CAPTION_START = re.compile(rf"^(?:(?P<date>{_DATE})(?:上午|下午|晚上|早上|晚)?[,，]|▲|△|图为)")
_STRUCTURAL = re.compile(
    r"^(?:#{1,6}\s|[-*+>•]\s|\||\d{1,2}[.、．](?!\d)|[（(][一二三四五六七八九十\d]+[)）]|[-*_=~]{3,}$|```"
    r"|-{1,2}[A-Za-z0-9][\w-]*(?:[ ,=]|$)|\*\*-{1,2}[A-Za-z0-9?][^*\n]{0,40}\*\*(?:[\s,，=*]|$)|\$\s"
    r"|\*\*[^*]{1,40}\*\*(?:\s*[,，/]\s*\*\*[^*]{1,40}\*\*)*$"
    r"|`[^`]{1,40}`(?:\s*[,，/]\s*`[^`]{1,40}`)*$)|\|$|\s\|\s.*\s\|\s"
)  # headings, list items, table rows, rules, code fences, options, shell commands, a bold or code term alone ("**16**",
# "`deb`" over the line that describes it), a bold option with its argument ("**-s** *列表*, **--sections** *列表*")
_LIST_ITEM = re.compile(r"^(?:[-*+•]\s|\d{1,2}[.、．](?!\d)|[（(][一二三四五六七八九十\d]+[)）])")
_FENCE = re.compile(r"^```.*?(?:^```[^\n]*$|\Z)", re.M | re.S)
# "错误码: E1023", "级别：严重": a header field, not the start of a wrapped sentence
_FIELD = re.compile(r"^[^\s:：，,。；;！？!?“”\"]{1,16}\s*[:：]\s*\S")
_FIELD_MAX = 40
# a table of contents: three or more list items in a row that are only a link to a place in the page
_TABLE_OF_CONTENTS = re.compile(r"(?:^[ \t]*[-*+]\s+\[[^\]\n]+\]\(#[^)\n]*\)[ \t]*(?:\n[ \t]*)*(?:\n|\Z)){3,}", re.M)
_ZERO_WIDTH_CHARS = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
_NEWLINES = re.compile(r"\r\n|[\r\v\f\u0085\u2028\u2029]")
_SPACES = re.compile(r"[ \t]+")


def clean_text(raw: str) -> str:
    """Normalise extracted text into paragraphs separated by blank lines.

    Fixes newlines and whitespace, NFKC-normalises letters, digits and spaces only (Chinese
    punctuation such as "，。" stays as written), re-joins sentences broken across lines or
    paragraphs, keeps photo captions as their own paragraphs, drops exact repeats and tables of
    contents (runs of list items that only link to places in the page).
    """
    text = _TABLE_OF_CONTENTS.sub("", _normalise_chars(raw))
    pieces: list[str] = []
    for part, code in _fenced(text):
        inner = _help_inside(part) if code else None
        if code and inner is None:  # a fenced code block stays as written, one paragraph
            pieces.append(part.strip("\n"))
            continue
        pieces.extend(_described(re.split(r"\n\s*\n", part if inner is None else inner), inner is not None))
    return "\n\n".join(_drop_repeats(_join_paragraphs(pieces)))


def _fenced(text: str) -> list[tuple[str, bool]]:
    """The text cut into Markdown code fences (True) and what lies between them (False)."""
    parts, cursor = [], 0
    for match in _FENCE.finditer(text):
        parts.append((text[cursor:match.start()], False))
        parts.append((match.group(), True))
        cursor = match.end()
    parts.append((text[cursor:], False))
    return [(part, code) for part, code in parts if part.strip()]


def _help_inside(fenced: str) -> str | None:
    """The text of a fence that holds a command's help rather than code (``--help`` output fenced to keep its
    columns), to be read as the help text it is; None for code."""
    first, _, rest = fenced.partition("\n")
    inner = rest.rsplit("```", 1)[0] if rest.rstrip().endswith("```") else rest
    language = first.strip("`").strip().lower()
    return inner if language in FENCE_LANGUAGES and is_help(inner) else None


def _normalise_chars(raw: str) -> str:
    text = _NEWLINES.sub("\n", raw)
    # Only the few distinct characters that change are replaced: mapping every character through
    # Python took most of the cleaning time of a 50 MB file and 8 bytes of list per character.
    changes = {c: v for c in set(text) if (v := "" if c in _ZERO_WIDTH_CHARS else _safe_nfkc(c)) != c}
    if changes:
        pattern = re.compile("[" + "".join(map(re.escape, changes)) + "]")
        text = pattern.sub(lambda m: changes[m.group()], text)
    return unicodedata.normalize("NFC", text)


@lru_cache(maxsize=4096)
def _safe_nfkc(char: str) -> str:
    if char in "\n\t":
        return char
    category = unicodedata.category(char)
    if category == "Cc":  # stray control characters from PDFs and old editors
        return ""
    # Letters, decimal digits and spaces (full-width "Ａ１", U+3000) and Kangxi radicals that
    # PDFs emit instead of ideographs ("⼀" -> "一"). Punctuation, symbols and other numbers
    # ("，", "①", "²") are left alone: NFKC would turn "，" into "," and "①" into "1".
    if category[0] == "L" or category in ("Nd", "Zs") or "\u2e80" <= char <= "\u2fdf":
        return unicodedata.normalize("NFKC", char)
    return char


def _described(blocks: list[str], help_text: bool = False) -> list[str]:
    """The paragraphs of the blank-line separated ``blocks``. In text laid out by indentation (a man page saved as
    text), the paragraphs indented under an option line ("-l, --lock" over "    锁定指定账户的密码。") are its
    description: they are quoted, as Markdown writes a man page's, so that each stays with its option. A command's
    help lists options with their descriptions beside them: each is an entry (``help_text``: the blocks are help,
    where an option alone between blank lines is one too)."""
    pieces: list[str] = []
    term: int | None = None  # the indentation of the option line whose description is being read
    described = 0  # blocks of that description so far
    for block in blocks:
        heading, block = _setext(block)
        if heading:
            pieces.append(heading)
            term = None
            if not block.strip():
                continue
        entries = help_entries(block.split("\n"), 1 if help_text else 2)
        if entries is not None:  # a command's options, each with its description: one entry each
            pieces.extend(entries)
            term = None
            continue
        spread = [line.expandtabs(8) for line in block.split("\n")]
        rows = laid_out_rows(spread)
        if rows is not None:  # columns laid out with spaces: a table, one row per paragraph
            pieces.extend(rows)
            term = None
            continue
        lines = _block_lines(block)
        if not lines:
            continue
        indent = min(i for i, _ in lines)
        if term is not None and (indent < term + _DEEPER or described >= _DESCRIPTION_BLOCKS):
            term = None
        joined = _join_lines(lines)
        (first_indent, first), deeper = lines[0], [i for i, _ in lines[1:]]
        if _OPTION_LINE.match(first) and all(i >= first_indent + _DEEPER for i in deeper) and first_indent <= indent:
            term, described = first_indent, 0  # the option line, maybe with the first lines of its description
            pieces.append(joined[0])
            pieces.extend(_quoted(p) for p in joined[1:])
        elif term is not None:
            described += 1
            pieces.extend(_quoted(p) for p in joined)
        else:
            pieces.extend(joined)
    return pieces


def _setext(block: str) -> tuple[str, str]:
    """A title underlined with "---" or "===" at the head of ``block`` (plain text's and Markdown's setext heading,
    "* 命令集扩展（EXTENDING THE COMMAND SET）" over a row of dashes) as a Markdown heading, and the rest of the block."""
    lines = block.strip("\n").split("\n")
    title = _BULLET.sub("", lines[0].strip()) if lines else ""
    if len(lines) < 2 or not _UNDERLINE.match(lines[1]) or not title or _is_structural(title):
        return "", block
    if len(lines[1].strip()) * 2 < len(title):  # a short rule under a long line is no underline
        return "", block
    level = "#" if lines[1].strip()[0] == "=" else "##"
    return f"{level} {title}", "\n".join(lines[2:])


_UNDERLINE = re.compile(r"^\s*(?:-{3,}|={3,})\s*$")
_BULLET = re.compile(r"^[*+•]\s+")  # "* 命令集扩展": a tutorial's mark before its section titles


_OPTION_LINE = re.compile(r"^-{1,2}[A-Za-z0-9?][\w-]*(?:[ ,=\[]|$)(?!.*[。！？]$).{0,70}$")
_DEEPER = 2  # a description is indented at least this much more than its option line
_DESCRIPTION_BLOCKS = 6  # paragraphs of one description at most: indented prose after it is not the option's


def _quoted(piece: str) -> str:
    return piece if _is_structural(piece) else f"> {piece}"


def _block_lines(block: str) -> list[tuple[int, str]]:
    """The block's non-empty lines: (indentation, text with its spaces normalised)."""
    found = []
    for line in block.split("\n"):
        spread = line.expandtabs(8)
        text = _SPACES.sub(" ", spread).strip()
        if text and not _TILDES.fullmatch(text):  # a plain-text tutorial's rule of tildes between its sections
            found.append((len(spread) - len(spread.lstrip()), text))
    return found


_TILDES = re.compile(r"~{10,}")


def _join_lines(lines: list[tuple[int, str]]) -> list[str]:
    """Join hard-wrapped lines of one block; a line kept apart becomes its own paragraph."""
    if not lines:
        return []
    widest = max(len(line) for _, line in lines)
    pieces = [lines[0][1]]
    for (before, _), (indent, line) in zip(lines, lines[1:]):
        previous = pieces[-1]
        wrapped = len(previous) >= _FULL_LINE * widest and not _ends_sentence(previous)
        # a list item's line that breaks off mid-sentence goes on in the next line (Markdown's lazy continuation)
        item = bool(_LIST_ITEM.match(previous)) and not _ends_sentence(previous)
        # "…administrators should use usermod" then "--expiredate 1 (…)" at the same indentation: wrapped prose
        goes_on = wrapped and indent == before and bool(_OPTION_LINE.match(line)) and not _is_structural(previous)
        apart = (_is_structural(previous) and not item) or _is_structural(line)
        if (not apart or goes_on) and (wrapped or _ends_mid(previous)):
            pieces[-1] = _glue(previous, line)
        else:
            pieces.append(line)
    return pieces


def _join_paragraphs(paragraphs: list[str]) -> list[str]:
    """Glue paragraphs that continue a broken sentence; a caption in between moves after it."""
    out: list[str] = []
    held: list[str] = []  # captions met while the sentence before them was still open
    for paragraph in paragraphs:
        if out and is_caption(paragraph) and _is_open(out[-1]):
            held.append(paragraph)
        elif out and _continues(out[-1], paragraph):
            out[-1] = _glue(out[-1], paragraph)
            if not _is_open(out[-1]):
                out.extend(held)
                held = []
        else:
            out.extend(held)
            held = []
            out.append(paragraph)
    return out + held


def _is_open(paragraph: str) -> bool:
    """True when the paragraph stops mid-sentence, so the text after it may continue it."""
    if is_caption(paragraph) or _is_structural(paragraph) or _ends_sentence(paragraph):
        return False
    return _ends_mid(paragraph) or len(paragraph) >= _LONG_PIECE


def _continues(previous: str, paragraph: str) -> bool:
    """True when ``paragraph`` is the rest of the sentence ``previous`` broke off."""
    if any(map(is_caption, (previous, paragraph))) or any(map(_is_structural, (previous, paragraph))):
        return False
    if _ends_sentence(previous) or paragraph.startswith("——"):  # "——" opens a new item
        return False
    if _ends_mid(previous):
        return True
    # A heading is short and has no final mark; a broken piece is longer than any heading.
    # (Gluing on "the next piece is short and ends in 。" would also glue "小结" onto
    # "第一部分的内容。", so it is not a rule.)
    return len(previous) >= _LONG_PIECE and _ends_sentence(paragraph)


def _ends_sentence(text: str) -> bool:
    core = text.rstrip(_CLOSERS)
    return bool(core) and core[-1] in _FINAL


def _ends_mid(text: str) -> bool:
    # "的" cannot end a Chinese sentence or heading ("…安全屏障的" / "有力体现。").
    return bool(text) and (text[-1] in _MID or text.endswith("的"))


def _is_structural(line: str) -> bool:
    """Markdown headings, list items, table rows and short ``Key: value`` fields keep their own line."""
    return bool(_STRUCTURAL.search(line)) or (len(line) <= _FIELD_MAX and bool(_FIELD.match(line)))


def _glue(left: str, right: str) -> str:
    # words in Latin letters broken across lines ("usermod" / "--expiredate 1") keep a space between them
    spaced = (left[-1].isascii() and left[-1].isalnum() and right[0].isascii()
              and (right[0].isalnum() or right[0] in "-(\"'$/"))
    return f"{left} {right}" if spaced else left + right


def _drop_repeats(paragraphs: list[str]) -> list[str]:
    seen: set[str] = set()
    kept = []
    for paragraph in paragraphs:
        if len(paragraph) >= _MIN_REPEAT and paragraph in seen and not paragraph.startswith("```"):
            continue
        seen.add(paragraph)
        kept.append(paragraph)
    return kept


def is_caption(paragraph: str) -> bool:
    """True for a stand-alone photo caption: "2024年9月27日,自治区政协召开…协商会。".

    A caption is one line of at most 200 characters that starts with a full date (or "▲",
    "图为"). A dated caption is a single sentence: a dated paragraph that goes on with
    more sentences ("2024年9月26日,一场…进行。自治区政协副主席…") is body text.
    """
    text = paragraph.strip()
    if not text or "\n" in text or len(text) > _CAPTION_MAX:
        return False
    match = _CAPTION_START.match(text)
    if match is None:
        return False
    if match.group("date") is None:
        return True
    inner = text.rstrip(_CLOSERS)[:-1]
    return _ends_sentence(text) and not any(mark in inner for mark in "。！？!?；;")
