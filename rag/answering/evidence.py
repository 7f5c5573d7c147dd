"""Whether the retrieved passages can answer at all: a year, an option or a name they never mention."""

from __future__ import annotations

import re
from typing import Sequence

from rag.question.analysis import QuestionInfo, analyse, is_mostly_cjk
from rag.retrieval.hybrid import Retriever
from rag.types import Passage

NOT_FOUND = "文档中没有提到这一点。"
OPTION_TOKEN = re.compile(r"(?<![\w-])--?[A-Za-z][\w-]*")


def evidence_gap(info: QuestionInfo, passages: Sequence[Passage], retriever: Retriever) -> str | None:
    """Why the passages cannot answer the question (a year, place or name they never mention), or None."""
    if not passages:
        return "索引中没有可检索的文档"
    joined = "\n".join(p.text for p in passages)
    year = missing_year(info, passages, retriever)
    if year:
        return f"检索到的资料中没有关于{year}年的内容"
    if not info.is_chinese:
        # whole-text similarity to anything is high (emoji, "asdfghjkl" score like real questions),
        # so a question without Chinese needs one of its words in the passages
        if not info.terms:
            return "问题中没有可以在文档里查找的内容"
        if not any(t.lower() in joined.lower() for t in info.terms):
            return "检索到的资料与问题无关"
    for option in OPTION_TOKEN.findall(info.text):  # "-j", "--purge": a command-line option is named exactly
        if option not in joined:
            return f"检索到的资料中没有提到“{option}”"
    if info.is_chinese:
        for name in info.entities:
            if name.lower() not in joined.lower():
                return f"检索到的资料中没有提到“{name}”"
        # a reworded question shares no word with its passage ("买东西被商家骗了" for "经营者……欺诈"): whether
        # the passages answer it is the selector's call, not a word match's
    return None


def missing_year(info: QuestionInfo, passages: Sequence[Passage], retriever: Retriever) -> str | None:
    """A year the question asks about that no passage mentions or is about."""
    joined = "\n".join(p.text for p in passages)
    for year in info.years:
        if year not in joined and all(retriever.document_year(p.source) != year for p in passages):
            return year
    return None


def analyse_question(question: str, focus, retriever: Retriever) -> QuestionInfo:
    vocabulary = None if is_mostly_cjk(question) else retriever.vocabulary()
    return analyse(question, focus, vocabulary, retriever.is_common)
