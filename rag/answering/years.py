"""The same figure of another year: "2025年…协商报告" asked, only 2024's is in the documents.

The extractive answer then says so, with the figure it does have and its citation, and counts as an
abstention ("文档没有给出2025年的协商报告，只提到2024年18份协商报告[1]").
"""

from __future__ import annotations

import re
from typing import Sequence

from rag.index.facts import Fact, FactTable
from rag.question.analysis import QuestionInfo
from rag.types import Passage


def _rows(table: FactTable, passages: Sequence[Passage]) -> dict[int, int]:
    """Figure row → the first passage that holds it."""
    rows: dict[int, int] = {}
    for p_i, p in enumerate(passages):
        for row in table.in_span(p.chunk.source, p.chunk.start, p.chunk.end):
            rows.setdefault(row, p_i)
    return rows



def other_year(info: QuestionInfo, passages: Sequence[Passage], retriever) -> tuple[Fact, int, str] | None:
    """A figure of the retrieved passages counting exactly what a count question asks, but of another year
    ("2025年…协商报告" when only 2024 has one): the figure, its passage and its year."""
    if info.kind != "count" or not info.years or len(info.focus) < 2:
        return None
    table = retriever.facts()
    for row, p_i in _rows(table, passages).items():
        fact = table.facts[row]
        year = fact.year or retriever.document_year(fact.source)
        if year and year not in info.years and info.focus in figure_item(fact):
            return fact, p_i, year
    return None


def figure_item(fact: Fact) -> str:
    """The list item of the clause that holds the figure ("1140余篇社情民意信息" out of "86件…、1140余篇…、18篇…")."""
    at = fact.clause.find(fact.number)
    pieces, start = re.split(r"[、……]+", fact.clause), 0
    for piece in pieces:
        start = fact.clause.find(piece, start)
        if start <= at < start + len(piece):
            return piece
        start += len(piece)
    return fact.clause
