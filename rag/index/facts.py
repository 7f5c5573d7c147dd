"""The documents' figures as a table: number, unit, what is counted, year, source span.

Built at ingest and saved with the index generation as ``facts.npz``; an index without that file
builds the table in memory on first use. A count question about a year the documents don't cover is
told the same figure of the year they do (``rag.answering.years``).
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import asdict, dataclass
from typing import Iterable, Sequence

import numpy as np

from rag.text.numbers import extract_numbers
from rag.types import Chunk

FILE_NAME = "facts.npz"
CLASSIFIERS = "个份篇件人名位次场期批项家条种支所座元倍盟市县旗区户部本台辆套吨亩米岁天年月册集"
_TWO_CHAR_UNITS = ("人次", "场次", "万元", "亿元", "千元", "公里", "平方米", "万人", "万次", "余人", "余篇", "余件", "余场")
_CLAUSE_RE = re.compile(r"[^。！？!?；;，,\n]+")
_SENTENCE_RE = re.compile(r"[^。！？!?；;\n]+")
_PHRASE_CUT = re.compile(r"[、“”《》（）()「」:：\"']")
_YEAR_RE = re.compile(r"(?<!\d)((?:19|20)\d{2})年")
_LEAD = 30  # characters of the sentence before a figure's clause kept as its context
_CONTEXT = 12  # characters of "what is counted" kept on each side of the figure


@dataclass(frozen=True)
class Fact:
    """One figure in a document: "累计推送稿件1825条" → 1825, 条, "累计推送稿件"."""

    source: str
    start: int  # span of the clause inside the cleaned document
    end: int
    clause: str
    number: str  # as written: "1140余"
    value: float
    unit: str  # the classifier after the number ("篇", "人次"), "" when none
    before: str  # what precedes the figure inside its clause
    after: str  # what follows the unit inside its clause
    year: str | None  # the year its sentence names, or None
    lead: str = ""  # the start of its sentence before the clause: often the subject ("微信公众号")

    @property
    def phrase(self) -> str:
        """What is counted, for the embedding model: the words around the figure, without it."""
        return f"{self.before} {self.after}".strip()


def _unit(text: str, end: int) -> str:
    for unit in _TWO_CHAR_UNITS:
        if text.startswith(unit, end):
            return unit
    return text[end] if end < len(text) and text[end] in CLASSIFIERS else ""


def clause_facts(source: str, clause: str, offset: int, year: str | None = None, lead: str = "") -> list[Fact]:
    """The counted figures of one clause: not years, dates, ordinals (第三期) or bare numerals."""
    found = []
    for n in extract_numbers(clause):
        tail = clause[n.end : n.end + 1]
        if tail in ("年", "月", "日", "号") or clause[max(n.start - 1, 0) : n.start] == "第":
            continue
        unit = _unit(clause, n.end)
        if not unit and not tail == "%" and not n.text.endswith("%"):
            continue
        before = _PHRASE_CUT.split(clause[: n.start])[-1][-_CONTEXT:]
        after = _PHRASE_CUT.split(clause[n.end + len(unit) :])[0][:_CONTEXT]
        found.append(Fact(source, offset, offset + len(clause), clause, n.text, n.value, unit, before.strip(),
                          after.strip(), year, lead))
    return found


def extract_facts(chunks: Iterable[Chunk]) -> list[Fact]:
    """Every figure in the chunks once (chunks overlap), in document order."""
    seen: set[tuple[str, int, str]] = set()
    facts = []
    for chunk in chunks:
        for sm in _SENTENCE_RE.finditer(chunk.text):
            year = next(iter(_YEAR_RE.findall(sm.group())), None)  # the year the sentence speaks of
            for m in _CLAUSE_RE.finditer(sm.group()):
                clause = m.group().strip()
                if not clause:
                    continue
                start = chunk.start + sm.start() + m.start() + (len(m.group()) - len(m.group().lstrip()))
                lead = sm.group()[: m.start()][-_LEAD:]
                facts.extend(_new(clause_facts(chunk.source, clause, start, year, lead), seen))
    return facts


def _new(found: list[Fact], seen: set) -> list[Fact]:
    fresh = []
    for fact in found:
        key = (fact.source, fact.start, fact.number)
        if key not in seen:
            seen.add(key)
            fresh.append(fact)
    return fresh


class FactTable:
    """The figures (row i belongs to facts[i]); ``vectors`` is empty in tables written now, kept for older ones."""

    def __init__(self, facts: Sequence[Fact], vectors: np.ndarray):
        self.facts = list(facts)
        self.vectors = np.asarray(vectors, dtype=np.float32)

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        records = json.dumps([asdict(f) for f in self.facts], ensure_ascii=False)
        np.savez(buf, vectors=self.vectors, records=np.array(records))
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, raw: bytes) -> "FactTable":
        with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
            facts = [Fact(**r) for r in json.loads(str(npz["records"]))]
            return cls(facts, npz["vectors"])

    def in_span(self, source: str, start: int, end: int) -> list[int]:
        """Rows of the facts inside a document span (a retrieved passage)."""
        return [i for i, f in enumerate(self.facts) if f.source == source and start <= f.start and f.end <= end]


def build(chunks: Sequence[Chunk], embedder=None, previous: FactTable | None = None) -> FactTable:
    """The table for ``chunks`` (the embedder and the previous table are not needed: no phrase is embedded)."""
    facts = extract_facts(chunks)
    return FactTable(facts, np.zeros((len(facts), 0), np.float32))


def from_bytes(raw: bytes) -> FactTable:
    """The table saved at ingest."""
    return FactTable.from_bytes(raw)
