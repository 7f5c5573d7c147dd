"""The answer selector: every unit of the retrieved passages, ranked by one fitted model, and a verdict on answering.

A ranker scores each unit (``unit_features.FEATURES``, weights fitted listwise: the answer unit against the
other units of the same question); its scores, as shares of the question's units, order the evidence and
say which runners-up are close enough to the best to join the answer. A second model, over what the best
unit looks like (``QUESTION_FEATURES``), judges whether the passages answer the question at all. Weights and
thresholds are data (``selector.json``), fitted on a cross-domain dev set by ``eval/fit_selector.py`` and
validated leave-one-corpus-out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from rag.answering.evidence_units import Evidence
from rag.answering.pointing import follow_pointer
from rag.answering.preferences import prefer
from rag.text.pointers import pointed_sections
from rag.answering.unit_features import FEATURES, candidates, features
from rag.question.analysis import QuestionInfo
from rag.question.answer_type import TYPES, answer_type
from rag.question.multifact import asks_several
from rag.types import Passage

WEIGHTS = Path(__file__).with_name("selector.json")
SEVERAL_CLOSE = 0.4  # the share of the best unit's a runner-up needs when several things are asked, times ``close``

# what the answerability model sees: the ranker's verdict on the best unit and that unit's overlap with the question
QUESTION_FEATURES = ("top_score", "top_margin", "top_sim", "top_lex", "top_lex_text", "top_focus", "top_terms_in_unit",
                     "terms_in_passages", "top_ascii_terms", "top_translated", "top_year_fit", "top_names_term",
                     "max_sim")
_TOP = ("sim", "lex", "lex_text", "focus", "terms_in_unit", "terms_in_passages", "ascii_terms", "translated",
        "year_fit", "names_term")


def question_features(x: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """One row of ``QUESTION_FEATURES`` for a question whose units have features ``x`` and ranker ``scores``."""
    order = np.argsort(-scores, kind="stable")
    best = int(order[0])
    margin = float(scores[best] - scores[order[1]]) if len(order) > 1 else 5.0
    top = [float(x[best, FEATURES.index(name)]) for name in _TOP]
    return np.asarray([float(scores[best]), margin, *top, float(x[:, FEATURES.index("sim")].max())], dtype=np.float32)


@dataclass(frozen=True)
class Selector:
    """The ranker over ``FEATURES`` and the answerability model over ``QUESTION_FEATURES``."""

    coef: np.ndarray  # a unit's score; its share is the softmax of the scores over the question's units
    answer_coef: np.ndarray
    answer_intercept: float
    threshold: float  # below this answerability the passages do not answer: abstain
    close: float  # a runner-up with at least this share of the best unit's joins the answer
    plausible: float  # a unit with at least this share of the best unit's may give an asked figure

    def scores(self, x: np.ndarray) -> np.ndarray:
        return x @ self.coef if len(x) else np.zeros(0)

    def answerable(self, x: np.ndarray, scores: np.ndarray) -> float:
        if not len(x):
            return 0.0
        z = float(question_features(x, scores) @ self.answer_coef + self.answer_intercept)
        return 1.0 / (1.0 + np.exp(-z))


def shares(scores: np.ndarray) -> np.ndarray:
    """The scores as a distribution over the question's units."""
    e = np.exp(scores - scores.max())
    return e / e.sum()


@lru_cache(maxsize=1)
def load_selector(path: Path = WEIGHTS) -> Selector:
    """The fitted weights shipped with the package."""
    data = json.loads(path.read_text(encoding="utf-8"))
    answering = data["answerable"]
    if tuple(data["features"]) != FEATURES or tuple(answering["features"]) != QUESTION_FEATURES:
        raise ValueError(f"{path.name} was fitted for other features; rerun eval/fit_selector.py")
    return Selector(np.asarray(data["coef"], dtype=np.float32), np.asarray(answering["coef"], dtype=np.float32),
                    float(answering["intercept"]), float(answering["threshold"]), float(data["close"]),
                    float(data["plausible"]))


def qtype_of(info: QuestionInfo) -> str:
    """The answer type, one of ``TYPES``."""
    kind = answer_type(info.text)
    return kind if kind in TYPES else "other"


def with_pointed(info: QuestionInfo, passages: list[Passage], retriever) -> list[Passage]:
    """``passages`` and, when the best unit only says where to read ("（参见 默认值 一节）"), the sections it points to:
    the answer is what they say."""
    if not any(pointed_sections(p.chunk.text) for p in passages):
        return passages  # nothing points anywhere: no second ranking
    ranked = rank(info, passages, retriever)
    if not ranked:
        return passages
    return passages + retriever.pointed(passages, ranked[0].passage, ranked[0].answer_text)


def rank(info: QuestionInfo, passages: Sequence[Passage], retriever, selector: Selector | None = None):
    """The units of ``passages`` as evidence, most likely answer first, each with the selector's verdict."""

    from rag.text import lexicon

    selector = selector or load_selector()
    table = retriever.units()
    cands = candidates(passages, table)
    if not cands:
        return []
    translated: Sequence[str] = ()
    if not info.is_chinese:
        try:
            translated = lexicon.chinese_keywords(info.text, retriever.vocabulary())
        except Exception:  # noqa: BLE001 - without the dictionary the translated-term feature stays 0
            translated = ()
    x = features(info, qtype_of(info), retriever.question_vector(info.text), cands, passages, table, translated)
    scores = selector.scores(x)
    share = shares(scores)
    answerable = selector.answerable(x, scores) >= selector.threshold
    best = float(share.max())
    # several things asked ("A 和 B 分别……", "有哪几种"): the answer is several units, so runners-up join sooner
    close = selector.close * (SEVERAL_CLOSE if asks_several(info.text) else 1.0)
    found = [
        Evidence(c.passage, c.start, c.end, passages[c.passage].text[c.start:c.end], float(p), shown=c.text,
                 kind=c.kind, supported=bool(answerable and p >= close * best),
                 plausible=bool(answerable and p >= selector.plausible * best), context=c.context)
        for c, p in zip(cands, share)
    ]
    found.sort(key=lambda ev: (-ev.score, ev.passage, ev.start))
    headings = {(c.passage, c.start): c.context for c in cands}  # the headings each unit stands under
    return follow_pointer(prefer(info, qtype_of(info), found), lambda ev: headings.get((ev.passage, ev.start), ""))
