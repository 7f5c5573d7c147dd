"""Spreadsheets and delimited text (.xlsx, .csv, .tsv) as Markdown tables, so each row is an answer unit under
its header ("姓名：张三；部门：办公室") like a table in any other document."""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Iterable, Sequence

from rag.errors import DocumentError

MAX_CELL = 1000  # characters kept of one cell: a cell is a value, not a document
DELIMITERS = {".csv": ",", ".tsv": "\t"}


def markdown_table(rows: Iterable[Sequence[object]]) -> str:
    """``rows`` as a Markdown table, the first non-empty row its header; empty rows and trailing empty cells dropped."""
    kept: list[list[str]] = []
    for row in rows:
        cells = [_cell(value) for value in row]
        while cells and not cells[-1]:
            cells.pop()
        if cells:
            kept.append(cells)
    if not kept:
        return ""
    width = max(len(cells) for cells in kept)
    lines = ["| " + " | ".join(cells + [""] * (width - len(cells))) + " |" for cells in kept]
    lines.insert(1, "|" + " --- |" * width)
    return "\n".join(lines)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a spreadsheet stores 18 as 18.0
    elif isinstance(value, datetime.datetime) and value.time() == datetime.time():
        value = value.date()  # a date cell, not a moment
    text = " ".join(str(value).split())[:MAX_CELL]
    return text.replace("|", "\\|")


def delimited_text(text: str, suffix: str, name: str) -> str:
    """A .csv or .tsv file's decoded ``text`` as a Markdown table."""
    try:
        return markdown_table(csv.reader(io.StringIO(text, newline=""), delimiter=DELIMITERS[suffix]))
    except csv.Error as exc:
        raise DocumentError(name, f"表格文件格式有误（{exc}）") from None


def xlsx_text(raw: bytes, name: str) -> str:
    """Every sheet of an Excel workbook as a Markdown table (under the sheet's name when there are several);
    formulas give their last computed values."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception:  # zipfile, XML and openpyxl errors: the file is not a usable workbook
        raise DocumentError(name, "不是有效的 Excel（.xlsx）文件（文件可能已损坏）") from None
    try:
        sheets = [(sheet.title, markdown_table(sheet.iter_rows(values_only=True))) for sheet in book.worksheets]
    except Exception:
        raise DocumentError(name, "不是有效的 Excel（.xlsx）文件（文件可能已损坏）") from None
    finally:
        book.close()
    sheets = [(title, table) for title, table in sheets if table]
    if len(sheets) == 1:
        return sheets[0][1]
    return "\n\n".join(f"## {title}\n\n{table}" for title, table in sheets)
