"""An HTML page's tables, shaped before conversion so each data row becomes one Markdown row under one header.

A table that only lays out the page (a heading or another table inside it, or one column) becomes plain
blocks. In a data table, a cell spanning rows is repeated in each row it covers, header rows stacked over
one another become one ("配置" over "最低 | 推荐" → "配置 最低", "配置 推荐"), and a first row of bold cells
(as word processors save a header) is the header.
"""

from __future__ import annotations

import copy

from bs4 import BeautifulSoup, Tag

_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_MAX_SPAN = 1000  # as browsers cap colspan


def shape_tables(soup: BeautifulSoup) -> None:
    """Shape every table of the page in place (outer tables first, so a layout table's data tables stay tables)."""
    for table in soup.find_all("table"):
        rows = _rows(table)
        if _is_layout(table, rows):  # renamed, not unwrapped: unwrapping is slow on a long table
            for part in [*_tags(table.contents), *rows, *(cell for row in rows for cell in _cells(row))]:
                part.name = "div"
            table.name = "div"
            continue
        _expand_rowspans(rows)
        _bold_first_row_is_header(rows)
        _merge_header_rows(soup, rows)


def span(cell: Tag, attribute: str = "colspan", most: int = _MAX_SPAN) -> int:
    """How many columns (or rows) a cell covers; ``0`` (to the end) counts as ``most``."""
    value = str(cell.get(attribute) or "1").strip()
    if not value.isdigit():
        return 1
    return most if value == "0" else max(1, min(int(value), most))


def _tags(nodes) -> list[Tag]:
    return [node for node in nodes if isinstance(node, Tag)]


def _rows(table: Tag) -> list[Tag]:
    rows = []
    for child in _tags(table.contents):
        if child.name == "tr":
            rows.append(child)
        elif child.name in ("thead", "tbody", "tfoot"):
            rows.extend(row for row in _tags(child.contents) if row.name == "tr")
    return rows


def _cells(row: Tag) -> list[Tag]:
    return [cell for cell in _tags(row.contents) if cell.name in ("td", "th")]


def _is_layout(table: Tag, rows: list[Tag]) -> bool:
    """A table that places the page's parts: a heading or another table in it, or a single column."""
    if not rows or all(len(_cells(row)) <= 1 for row in rows):
        return True
    return table.find(["table", *_HEADINGS]) is not None


def _expand_rowspans(rows: list[Tag]) -> None:
    """A cell that spans rows is repeated in each of them, so every row lines up with the header."""
    if not any(span(cell, "rowspan", 2) > 1 for row in rows for cell in _cells(row)):
        return
    covering: dict[int, list] = {}  # column → [rows it still covers, the cell]
    for index, row in enumerate(rows):
        given = _cells(row)
        laid, column = [], 0
        while given or any(c >= column for c in covering):
            if column in covering:
                cell = covering[column][1]
                repeated = copy.copy(cell)
                del repeated["rowspan"]
                laid.append(repeated)
                covering[column][0] -= 1
                if covering[column][0] == 0:
                    del covering[column]
            elif given:
                cell = given.pop(0)
                down = span(cell, "rowspan", len(rows) - index)
                if down > 1:
                    covering[column] = [down - 1, cell]
                laid.append(cell)
            else:  # a short row: on to the next column a cell above still covers
                column = min(c for c in covering if c >= column)
                continue
            column += span(cell)
        for cell in laid:
            row.append(cell.extract() if cell.parent is not None else cell)
    for row in rows:
        for cell in _cells(row):
            del cell["rowspan"]


def _bold_first_row_is_header(rows: list[Tag]) -> None:
    """A first row of bold cells (as word processors save a table's header) is the header row."""
    if not rows or any(cell.name == "th" for cell in _cells(rows[0])):
        return
    filled = [cell for cell in _cells(rows[0]) if cell.get_text().strip()]
    if filled and all(_all_bold(cell) for cell in filled):
        for cell in _cells(rows[0]):
            cell.name = "th"
            for bold in cell.find_all(["b", "strong"]):
                bold.unwrap()  # a header cell is bold already


def _all_bold(cell: Tag) -> bool:
    bold = "".join(b.get_text() for b in cell.find_all(["b", "strong"]) if b.find_parent(["b", "strong"]) is None)
    return "".join(bold.split()) == "".join(cell.get_text().split())


def _merge_header_rows(soup: BeautifulSoup, rows: list[Tag]) -> None:
    """Header rows stacked over one another become one row, each column named by the cells above it."""
    stacked = 0
    for row in rows:
        cells = _cells(row)
        if not cells or not (row.parent.name == "thead" or all(cell.name == "th" for cell in cells)):
            break
        stacked += 1
    if stacked < 2 or stacked == len(rows):
        return
    grid = [[" ".join(cell.get_text().split()) for cell in _cells(row) for _ in range(span(cell))]
            for row in rows[:stacked]]
    names = []
    for column in range(max(map(len, grid))):
        parts: list[str] = []
        for line in grid:
            text = line[column] if column < len(line) else ""
            if text and text not in parts:
                parts.append(text)
        names.append(" ".join(parts))
    first = rows[0]
    for cell in _cells(first):
        cell.extract()
    for name in names:
        header = soup.new_tag("th")
        header.string = name
        first.append(header)
    for row in rows[1:stacked]:
        row.extract()
