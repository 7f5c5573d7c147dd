"""Match a count question to the documents' figures when the question uses other words than the text.

"政协在微信上一共发了多少篇文章？" shares almost no words with "累计推送稿件1825条". Each figure
of the retrieved passages is ranked three ways — the question's focus phrase and its core against
the figure's "what is counted" phrase (vectors from the figures table), and shared characters — and
the ranks are fused: cosines of this model sit in a narrow band, so ranks and agreement count, not
absolute values. Only the question side is embedded here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from rag.index.facts import Fact, FactTable
from rag.question.analysis import YEAR_RE, QuestionInfo
from rag.text.tokens import bigrams
from rag.types import Passage

_QUESTION_WORDS = re.compile(r"多少|几[个份篇件人次条名项家位场期批回支本天年]?|一共|总共|大概|大约|请问|是|有|的|吗|呢|[？?，,。]")


@dataclass(frozen=True)
class FigureMatch:
    """One figure of a retrieved passage and how well it fits the question."""

    fact: Fact
    passage: int  # index into the passages
    score: float  # fused reciprocal ranks
    agree: int  # how many of the rankings put it first
    shared: int  # content bigrams the question shares with the figure's clause
    overall: int  # best rank of its phrase among all the documents' figures (0 = nearest of all)


def question_core(info: QuestionInfo) -> str:
    """The question without its year, question words and filler: what the embedding should see."""
    if not info.is_chinese:  # the model matches English to Chinese poorly: use the translated keywords
        return " ".join(t for t in info.terms[:4] if re.match(r"[\u4e00-\u9fff]", t))
    return _QUESTION_WORDS.sub("", YEAR_RE.sub("", info.text)).replace("年", "", 1).strip()


def _rows(table: FactTable, passages: Sequence[Passage]) -> dict[int, int]:
    """Figure row → the first passage that holds it."""
    rows: dict[int, int] = {}
    for p_i, p in enumerate(passages):
        for row in table.in_span(p.chunk.source, p.chunk.start, p.chunk.end):
            rows.setdefault(row, p_i)
    return rows


def _ranks(scores: np.ndarray) -> np.ndarray:
    order = np.argsort(-scores, kind="stable")
    ranks = np.empty(len(scores), dtype=np.int64)
    ranks[order] = np.arange(len(scores))
    return ranks


def match_figures(
    info: QuestionInfo,
    passages: Sequence[Passage],
    table: FactTable,
    embed_query: Callable[[str], np.ndarray],
    common: Callable[[str], bool] = lambda gram: False,
    year_of: Callable[[Fact], str | None] = lambda fact: fact.year,
) -> list[FigureMatch]:
    """The figures of the passages, best first, keeping only those of the year asked (if any)."""
    rows = _rows(table, passages)
    rows = {r: p for r, p in rows.items() if not info.years or year_of(table.facts[r]) in info.years}
    if not rows:
        return []
    ids = list(rows)
    vectors = table.vectors[ids]
    core = question_core(info)
    wanted = {g for g in bigrams(f"{core} {info.focus}") if not common(g)}
    shared = np.array([len(wanted & set(bigrams(table.facts[r].lead + table.facts[r].clause))) for r in ids],
                      dtype=np.float32)
    queries = [embed_query(p) for p in dict.fromkeys(p for p in (info.focus, core) if p)]
    if not queries:
        return []
    rankings = [_ranks(shared + 0.001 * (vectors @ queries[-1]))]
    overall = np.full(len(ids), len(table.facts), dtype=np.int64)
    for q in queries:
        rankings.append(_ranks(vectors @ q))
        # where the phrase stands among every figure, not only those retrieved
        overall = np.minimum(overall, _ranks(table.vectors @ q)[ids])
    fused = sum(1.0 / (10 + r) for r in rankings)
    agree = sum((r == 0).astype(int) for r in rankings)
    order = np.argsort(-fused, kind="stable")
    return [
        FigureMatch(table.facts[ids[i]], rows[ids[i]], float(fused[i]), int(agree[i]), int(shared[i]), int(overall[i]))
        for i in order
    ]


def accepted(match: FigureMatch) -> bool:
    """A figure found by meaning alone must be the best fused match, first on at least one ranking,
    among the three nearest of all the documents' figures, and share some characters with the question.

    (Its words are checked separately by ``_consistent``: the question's quoted names and, when the
    documents use the question's own word for the thing counted, that word.)"""
    return match.agree >= 1 and match.shared >= 1 and match.overall <= 2


def figure_extract(info: QuestionInfo, passages: Sequence[Passage], retriever) -> "Extract | None":
    """The extractive answer from the figures table, for a count question the words did not find."""
    from rag.answering.extractive import Evidence, Extract

    matches = match_figures(
        info, passages, retriever.facts(), retriever.embedder.embed_query, retriever.is_common,
        lambda fact: fact.year or retriever.document_year(fact.source),
    )
    if not matches or not accepted(matches[0]) or not _consistent(info, matches[0].fact, retriever.facts()):
        return None
    best = matches[0]
    chunk = passages[best.passage].chunk
    start, end = best.fact.start - chunk.start, best.fact.end - chunk.start
    evidence = Evidence(best.passage, start, end, chunk.text[start:end], best.score)
    return Extract(figure_item(best.fact), evidence)


_QUOTED = re.compile(r"[“\"《‘]([^”\"》’]{2,20})[”\"》’]")


def _consistent(info: QuestionInfo, fact: Fact, table: FactTable) -> bool:
    """Meaning stands in for words only where the documents lack them.

    A name the question quotes ("“温暖工程”") must be in the figure's sentence; and when some figure of
    the documents counts the question's own word for the thing ("重点督办提案", of another year), a
    figure that does not is another thing, however near in meaning.
    """
    context = fact.lead + fact.clause
    if any(q not in context for q in _QUOTED.findall(info.text)):
        return False
    focus = info.focus
    if len(focus) >= 2 and focus not in figure_item(fact) and any(focus in figure_item(f) for f in table.facts):
        return False
    return True


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
