"""What the answer selector sees of each unit: one row of ``FEATURES`` per unit of the retrieved passages.

No feature names a corpus: the embedding similarity of question and unit (and of the units beside it),
lexical and translated-term overlap, the fit of the unit to the answer type asked, its structure and its
passage's rank.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from rag.answering.unit_texts import unit_texts
from rag.documents.units import KINDS
from rag.index.unit_table import UnitTable
from rag.question.analysis import QuestionInfo
from rag.text.tokens import ERA, bigrams
from rag.types import Passage

_ASCII_TERM = re.compile(r"[A-Za-z0-9][\w./+-]*[\w+]|[A-Za-z0-9]")
_DATE = re.compile(r"(?:19|20)\d{2} ?年|\d{1,2} ?月 ?\d{1,2} ?日|\d{4}-\d{2}-\d{2}|\d{1,2} ?月|[一二三四五六七八九十]+月|" + ERA)
REASON = re.compile(r"因为|由于|为了|(?<!可)以(?:便|免|防|阻止|避免|确保)|目的|所以|因此|从而|是为|旨在|否则|原因|"
                    r"为保证|为保护|为维护|为规范|为保障|会导致|导致|可能会|风险|危险|because|so that|in order|to avoid|"
                    r"since|therefore|otherwise|prevent")
_DEFINITION = re.compile(r"是指|指的是|是一[个种类套款]|称为|即|也就是|定义|means|is an?\b|refers to")
_STEP_WORDS = re.compile(r"首先|然后|接着|最后|第[一二三四五六七八九十\d]+步|运行|执行|输入|安装|打开|点击|选择|使用|run|install|type|enter")
_EN_WORD = re.compile(r"[A-Za-z]{3,}")


@dataclass(frozen=True)
class Candidate:
    """One unit inside one retrieved passage."""

    passage: int  # index into the passages
    row: int  # row of the unit table
    start: int  # span inside the passage text
    end: int
    kind: str
    text: str  # as an answer shows it
    context: str


FEATURES = (
    "sim", "sim_rank", "sim_margin", "lex", "lex_text", "focus", "ascii_terms", "translated",
    "lex_rank", "lex_margin", "focus_margin", "combined_rank",
    "passage_rank", "passage_score", "log_len", "year_fit", "terms_in_unit", "terms_in_passages",
    *(f"kind_{k}" for k in KINDS),
    "number_for_figure", "date_for_date", "reason_for_reason", "steps_for_procedure", "code_for_command",
    "definition_for_definition", "row_or_field_for_fact", "heading_only",
    "is_question", "novelty", "names_term", "code_unasked", "lead_in", "sim_z", "prev_sim", "next_sim",
)


_RELATIVE = ("lex_rank", "lex_margin", "focus_margin", "combined_rank")


def candidates(passages: Sequence[Passage], table: UnitTable) -> list[Candidate]:
    """Every unit of the passages (a unit in two overlapping passages counts once, in the better one)."""
    seen: set[int] = set()
    found = []
    for p_i, passage in enumerate(passages):
        chunk = passage.chunk
        for row in table.within(chunk):
            if row in seen:
                continue
            seen.add(row)
            start = max(int(table.starts[row]), chunk.start) - chunk.start
            end = min(int(table.ends[row]), chunk.end) - chunk.start
            found.append(Candidate(p_i, row, start, end, table.kind(row), table.texts[row], table.contexts[row]))
    return found


def features(info: QuestionInfo, qtype: str, question_vector: np.ndarray, cands: Sequence[Candidate],
             passages: Sequence[Passage], table: UnitTable, translated: Sequence[str] = ()) -> np.ndarray:
    """One row of ``FEATURES`` per candidate."""
    if not cands:
        return np.zeros((0, len(FEATURES)), dtype=np.float32)
    vectors = table.vectors[[c.row for c in cands]].astype(np.float32)
    sims = vectors @ np.asarray(question_vector, dtype=np.float32)
    rank = _ranks(sims)
    top_score = max(p.score for p in passages) or 1.0
    question_grams = set(bigrams(" ".join(info.terms))) or set(bigrams(info.text))
    focus = {g for part in info.focus.split("的") for g in bigrams(part)} if info.focus else set()
    ascii_terms = {t.lower() for t in _ASCII_TERM.findall(info.text) if not t.isdigit() or len(t) > 2}
    ascii_terms -= {w.lower() for w in _EN_WORD.findall(info.text)} if not info.is_chinese else set()
    terms = [t.lower() for t in info.terms if len(t) >= 2]
    joined = "\n".join(p.text for p in passages).lower()
    in_passages = sum(t in joined for t in terms) / len(terms) if terms else 1.0
    spread = float(sims.std()) or 1.0
    best, mean = sims.max(), sims.mean()
    prev_sims, next_sims = _neighbour_sims(cands, table, question_vector)
    named = _named_terms(info.text)
    texts = unit_texts(table)
    rows = []
    for c, sim, r, prev, nxt in zip(cands, sims, rank, prev_sims, next_sims):
        unit = texts.of(c.row, c.context, c.text)
        grams, text_grams, lowered = unit.grams, unit.text_grams, unit.lowered
        rows.append([
            float(sim), 1.0 / (1.0 + r), float(sim - best),
            _share(question_grams, grams), _share(question_grams, text_grams), _share(focus, grams),
            sum(t in lowered for t in ascii_terms) / len(ascii_terms) if ascii_terms else 0.0,
            sum(t in unit.full for t in translated) / len(translated) if translated else 0.0,
            1.0 / (1 + c.passage), passages[c.passage].score / top_score, math.log1p(len(c.text)) / 6,
            _year_fit(info, unit.years),
            sum(t in lowered for t in terms) / len(terms) if terms else 1.0, in_passages,
            *(float(c.kind == k) for k in KINDS),
            float(qtype == "figure" and any(n not in info.years for n in unit.numbers)),
            float(qtype == "date" and unit.search(_DATE)),
            float(qtype == "reason" and unit.search(REASON)),
            float(qtype == "procedure" and (c.kind in ("item", "code") or unit.search(_STEP_WORDS))),
            float(qtype == "command" and (c.kind in ("code", "option") or unit.search(_ASCII_TERM))),
            float(qtype == "definition" and (c.kind in ("option", "field") or unit.search(_DEFINITION))),
            float(qtype in ("other", "definition", "person") and c.kind in ("row", "field", "option")),
            float(c.kind == "heading"),
            float(c.text.rstrip(" *_)]）】").endswith(("？", "?"))),
            1.0 - _share(text_grams, question_grams) if text_grams else 0.0,
            float(any(_names_at_head(unit.head, t) for t in named)),
            float(c.kind == "code" and qtype not in ("command", "procedure")),
            float(c.text.rstrip().endswith(("：", ":"))),
            float((sim - mean) / spread),
            prev, nxt,
        ])
    x = np.asarray(rows, dtype=np.float32)
    return _with_relative(x)


_QUOTED = re.compile(r"[“\"《「『*`]([^”\"》」』*`]{1,30})[”\"》」』*`]")


def _named_terms(question: str) -> list[str]:
    """What a question names exactly: its ASCII terms ("sid", "-9", "I:") and quoted names."""
    found = [t.lower() for t in _ASCII_TERM.findall(question) if len(t) >= 2 or not t.isdigit()]
    found += [m.lower() for m in _QUOTED.findall(question)]
    return [t for t in dict.fromkeys(found) if t]


def _names_at_head(head: str, term: str) -> bool:
    """The unit starts with the term (a glossary, option or field entry about it); ``head`` is ``UnitText.head``."""
    head = head[: len(term) + 4]
    return head.startswith(term) or (len(term) >= 2 and term in head)


def _neighbour_sims(cands: Sequence[Candidate], table: UnitTable, question_vector) -> tuple[list[float], list[float]]:
    """Similarity to the question of the unit just before and just after each candidate in its document."""
    q = np.asarray(question_vector, dtype=np.float32)
    sims: dict[int, float] = {}  # a unit is often the neighbour of two candidates
    prev, nxt = [], []
    for c in cands:
        out = []
        for row in (c.row - 1, c.row + 1):
            same = 0 <= row < len(table) and table.doc_ids[row] == table.doc_ids[c.row]
            if same and row not in sims:
                sims[row] = float(table.vectors[row].astype(np.float32) @ q)
            out.append(sims[row] if same else 0.0)
        prev.append(out[0])
        nxt.append(out[1])
    return prev, nxt


def _with_relative(x: np.ndarray) -> np.ndarray:
    """Insert the features that compare a unit with the other units of the same question."""
    base = [n for n in FEATURES if n not in _RELATIVE]
    lex, focus, sim = x[:, base.index("lex_text")], x[:, base.index("focus")], x[:, base.index("sim")]
    combined = sim + 0.5 * lex + 0.5 * focus
    relative = {
        "lex_rank": 1.0 / (1.0 + _ranks(lex)), "lex_margin": lex - lex.max(), "focus_margin": focus - focus.max(),
        "combined_rank": 1.0 / (1.0 + _ranks(combined)),
    }
    out = np.empty((len(x), len(FEATURES)), dtype=np.float32)
    for i, name in enumerate(FEATURES):
        out[:, i] = relative[name] if name in relative else x[:, base.index(name)]
    return out


def _ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(-values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(len(values))
    return ranks


def _share(wanted: set[str], found: set[str]) -> float:
    return len(wanted & found) / len(wanted) if wanted else 0.0


def _year_fit(info: QuestionInfo, mentioned: frozenset[str]) -> float:
    if not info.years:
        return 0.0
    if set(info.years) & mentioned:
        return 1.0
    return -1.0 if mentioned else 0.0


