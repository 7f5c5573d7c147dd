"""A command's help laid out with spaces, as ``--help`` and a shell's ``help`` print it: each option with its
description is one entry ("-a, --all：不要隐藏以 . 开头的项目"), the lines around the options stay prose.

    用法：ls [选项]... [文件]...
      -a, --all                  不要隐藏以 . 开头的项目
          --block-size=大小      与 -l 同时使用时，打印大小前将其除以 <大小>；
                                 例如："--block-size=M"

An option's description may start on its own line, indented deeper ("--group-directories-first" over
"将目录排在文件前面"), and may go on over several deeper lines. The entries are drawn as the rows of a table without
a header, as a list of terms laid out with spaces is (``text_tables``), so each is one answer unit.
"""

from __future__ import annotations

import re

from rag.documents.text_tables import joined, table_rows, width

# an option as a help text starts its line: "-a", "--all", "-a, --all", "--block-size=大小", "-a 数组" (bash)
_OPTION = re.compile(r"^-{1,2}[A-Za-z0-9?#@][\w#@?-]*(?:\[?=\S*)?(?:,\s*-{1,2}[A-Za-z0-9?][\w-]*(?:\[?=\S*)?)*")
_GAP = re.compile(r"\t|\s{2,}")  # between an option and its description
_CODE = re.compile(r"([!-~]{1,12})(?:\t+|\s{2,})(?=\S)(.*[\u4e00-\u9fff].*)$")  # "2  表示严重问题", "%j   一年中的第几天"
_TERM_MAX = 40  # display columns of an option with its argument at most
_PROSE = re.compile(r"[。！？；]$|[.!?;]\s")  # a sentence where an option's term would be
_MID = "，、,"  # a prose line ending in one of these goes on in the next
FENCE_LANGUAGES = ("", "text", "txt", "plain", "plaintext", "none", "console", "help")


def help_entries(lines: list[str], least: int = 2) -> list[str] | None:
    """The paragraphs of one block of a help text (``lines`` as written, tabs kept): each prose line, each
    run of options a table of (option, description) rows; None when the block lists fewer than ``least`` options or
    none with its description on the same line (a man page's option over an indented paragraph is read elsewhere).
    In a text known to be help (``least`` 1), one option is a block of its own ("--hide=模式  隐藏……" between blank
    lines), and a short code with its meaning beside it is an entry too (" 2  表示严重问题", "%j   一年中的第几天")."""
    parsed = [_parse(line, codes=least < 2) for line in lines if line.strip()]
    options = [p for p in parsed if p[1] is not None]
    if len(options) < least or not any(p[2] for p in options):
        return None
    pieces: list[str] = []
    prose: list[str] = []
    entries: list[list[str]] = []
    indent = -1  # the indentation of the option being read
    for at, term, text in parsed:
        if term is not None:
            pieces.extend(prose)
            prose = []
            entries.append([term, text])
            indent = at
        elif entries and at > indent:  # the description goes on, indented deeper than its option
            entries[-1][1] = joined(entries[-1][1], text) if entries[-1][1] else text
        else:
            if entries:
                pieces.extend(table_rows(entries, header=False))
                entries = []
            if prose and prose[-1][-1:] in _MID:  # "……读取超时（此时返回码大于 128）、" goes on
                prose[-1] = joined(prose[-1], text)
            else:
                prose.append(text)
    if entries:
        pieces.extend(table_rows(entries, header=False))
    pieces.extend(prose)
    return pieces


def is_help(code: str) -> bool:
    """A fenced block that holds a help text, not code: options with their descriptions on the same line, told in
    words: two or more, or one among lines mostly in Chinese (a writer fences ``--help`` output to keep its columns)."""
    lines = [line for line in code.split("\n") if line.strip()]
    options = [p for p in (_parse(line) for line in lines) if p[1] is not None and p[2]]
    told = [text for _, _, text in options if _CJK.search(text)]
    return len(told) >= 2 or (len(told) == 1 and 2 * sum(bool(_CJK.search(line)) for line in lines) > len(lines))


_CJK = re.compile(r"[\u4e00-\u9fff]")


def _parse(line: str, codes: bool = False) -> tuple[int, str | None, str]:
    """(indentation, the option or None, the description or the line's text) of one line; ``codes``: a short code
    in Latin letters, digits or signs before a gap starts an entry too."""
    spread = line.expandtabs(8)
    at = len(spread) - len(spread.lstrip())
    body = line.strip()
    code = _CODE.match(body) if codes else None
    if code:
        return at, code.group(1), re.sub(r"\s+", " ", code.group(2))
    m = _OPTION.match(body)
    if m and any("--" in token.lstrip("-") for token in re.split(r",\s*", m.group())):
        m = None  # "-rw-r--r--  1 root root …": a listing's file mode, no option
    if m:
        gap = _GAP.search(body, m.end())
        # "-a 数组\t将词语赋值给……": an argument may follow the option before the gap
        term = body[:gap.start()] if gap else body
        rest = body[gap.end():].strip() if gap else ""
        # (an option alone on its line, its description below, may be long: "--dereference-command-line-symlink-to-dir")
        if (width(term) <= _TERM_MAX if gap else term == m.group()) and not _PROSE.search(term):
            return at, term.strip(), re.sub(r"\s+", " ", rest)
    return at, None, re.sub(r"\s+", " ", body)
