"""Tables laid out with spaces in plain text (a page saved as text, a manual's ``.txt``): rows of cells in aligned
columns become Markdown table rows, so that each row is an answer unit under its header like any other table's.

    软件包        流行度      大小    说明                  | 软件包 | 流行度 | 大小 | 说明 |
    apt           V:891       4447    高级软件包工具    →   | apt | V:891 | 4447 | 高级软件包工具 |
    aptitude      V:46        4385    终端交互式前端        | aptitude | V:46 | 4385 | 终端交互式前端 |

A block is a table only when every line splits, at runs of two or more spaces, into the same number of cells
(two or more) that start in the same columns; prose, whose lines run on with single spaces, never does.

A list of terms with what each does, a tutorial's or a manual's key list, has no header: each line is a short term,
a gap, and its description starting in the same column as the others' (a description may have gaps of its own,
and a line that starts in the description's column goes on with the description above it):

        C-v     向前移动一屏                             |  |  |
        M-v     向后移动一屏                       →     | C-v | 向前移动一屏 |
                                                         | M-v | 向后移动一屏 |
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left

MIN_ROWS = 3  # a header and two rows: two lines alike may be chance
_GAP = re.compile(r"\s{2,}")
_RULE = re.compile(r"^[\s=\-─━+|:]+$")  # a header's underline ("-----  ------"), dropped
# a list's marker spaced off its item ("-   item", "1.  step", "（一）  总则")
_MARKER = re.compile(r"^(?:[-*+•·▪]|\(?[0-9a-zA-Z一二三四五六七八九十]{1,3}[.)、．]"
                     r"|[（(][一二三四五六七八九十\d]{1,3}[)）])$")
_SLACK = 1  # columns may start this many characters apart (a wide character drawn as two)


def aligned_rows(lines: list[str]) -> list[str] | None:
    """``lines`` (one block, indentation and inner spaces as written, tabs expanded) as Markdown table rows, or
    None when they are not a table laid out with spaces. A line whose cells start under the later columns only
    goes on with the row above it (a cell wrapped onto a second line)."""
    split = _split([line for line in lines if not _RULE.match(line)], MIN_ROWS)
    if split is None or any(_MARKER.match(cells[0][1]) for cells in split):  # not laid out in columns, or a list
        return None
    count = len(split[0])  # two or more: the first line has a gap
    starts = [at for at, _ in split[0]]
    rows: list[list[str]] = []
    for cells in split:
        columns = [_column_of(at, starts) for at, _ in cells]
        if None in columns or columns != sorted(set(columns)):
            return None
        if len(cells) == count:
            rows.append([text for _, text in cells])
        elif rows and columns[0] > 0:  # the rest of a wrapped cell
            for column, (_, text) in zip(columns, cells):
                rows[-1][column] = joined(rows[-1][column], text)
        else:
            return None
    if len(rows) < MIN_ROWS:
        return None
    return table_rows(rows, header=True)


TERM_MAX = 24  # display columns of a listed term at most ("C-x C-f", "M-<DEL>", "Ctrl+Alt+Del")
_SENTENCE_MARK = re.compile(r"[。！？；，、]|[.!?;,]\s")  # prose, not a term


def laid_out_rows(lines: list[str]) -> list[str] | None:
    """``lines`` (one block, tabs expanded) as Markdown table rows when they are a table or a list of terms laid
    out with spaces, else None. A block whose every line starts with a term in Latin letters ("C-x C-f", "<DEL>")
    is a list of terms, even one long enough to pass for a table: a Chinese table's header is not such a term."""
    terms = _term_cells(lines)
    if terms is not None and all(term.isascii() for term, _ in terms):
        return table_rows(terms, header=False)
    table = aligned_rows(lines)
    if table is not None or terms is None:
        return table
    return table_rows(terms, header=False)


def table_rows(rows: list[list[str]], header: bool) -> list[str]:
    lines = [] if header else ["|  |  |", "|---|---|"]  # a list of terms has no header: an empty one
    return lines + ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]


def _term_cells(lines: list[str]) -> list[list[str]] | None:
    """(term, description) of each line of a list of terms laid out with spaces, or None."""
    split = _split(lines, 2)
    if split is None:
        return None
    term_at, text_at = split[0][0][0], split[0][1][0]
    rows: list[list[str]] = []
    wrapped = 0
    for cells in split:
        if abs(cells[0][0] - text_at) <= _SLACK * 2 and rows:  # the description wrapped onto this line
            rows[-1][1] = joined(rows[-1][1], " ".join(text for _, text in cells))
            wrapped += 1
            continue
        if len(cells) < 2 or cells[0][0] != term_at or abs(cells[1][0] - text_at) > _SLACK * 2:
            return None
        term = cells[0][1]
        if width(term) > TERM_MAX or _SENTENCE_MARK.search(term) or _MARKER.match(term) or term.startswith("-"):
            return None  # a sentence, a list's marker or a man page's option line: not a term list
        rows.append([term, " ".join(text for _, text in cells[1:])])
    # one term is a list when its description goes on in the description's column ("C-h a" over three lines)
    return rows if len(rows) >= 2 or wrapped else None


def _split(lines: list[str], at_least: int) -> list[list[tuple[int, str]]] | None:
    """The cells of each non-empty line of a block that may be laid out in columns (``at_least`` lines, the first with
    two cells or more); None for prose, whose first line has no gap, and for a Markdown table or code."""
    lines = [line for line in lines if line.strip()]
    if len(lines) < at_least or not _GAP.search(lines[0].strip()):  # prose: left at once, no line split
        return None
    if any("|" in line or "`" in line for line in lines):
        return None
    return [_cells(line) for line in lines]


def _column_of(at: int, starts: list[int]) -> int | None:
    """The column a cell starting at display column ``at`` is in (``starts``: the header's, ascending), or None
    when it starts in none."""
    k = bisect_left(starts, at - _SLACK * 2)  # the first column that may hold it
    return k if k < len(starts) and abs(at - starts[k]) <= _SLACK * 2 else None


def joined(left: str, right: str) -> str:
    spaced = left[-1:].isascii() and right[:1].isascii()
    return f"{left} {right}" if spaced else left + right


def _cells(line: str) -> list[tuple[int, str]]:
    """(display column where it starts, text) of each cell: the pieces between runs of two or more spaces."""
    body = line.rstrip()
    cells, at, column = [], 0, 0
    start = len(body) - len(body.lstrip())
    for piece in _GAP.split(body.strip()):
        found = body.index(piece, max(at, start))
        column += width(body[at:found])  # counted on from the last cell: a long line is read once
        cells.append((column, piece))
        column += width(piece)
        at = found + len(piece)
    return cells


def width(text: str) -> int:
    """How many columns ``text`` takes: a wide (CJK) character two, as a terminal draws it."""
    return sum(2 if "\u1100" <= c and _wide(c) else 1 for c in text)


def _wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")
