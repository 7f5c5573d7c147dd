"""Frozen records that carry provenance through the pipeline: document → chunk → passage → answer."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field


def content_hash(*parts: str) -> str:
    """Stable short id for a piece of content (sha256 over the parts)."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class Document:
    """A loaded, cleaned document. ``source`` is the file name users see."""

    source: str
    text: str
    sha256: str  # hash of the raw file bytes, used to detect changes
    path: str = ""  # where it was read from (runtime only, never shown as a citation)
    encoding: str = "utf-8"


def indexed_text(context: str, text: str) -> str:
    """What the embedding and the keyword index read of a chunk: its context line, then its text."""
    return f"{context}\n{text}" if context else text


@dataclass(frozen=True)
class Chunk:
    """A span of a cleaned document: ``text == document.text[start:end]``."""

    source: str
    text: str
    start: int
    end: int
    order: int
    kind: str = "body"  # "body" or "caption"
    id: str = ""
    doc_id: str = ""  # the stable id of its document (not its display name, which may repeat over time)
    # its document's name and the headings above it ("passwd.1 › 选项"): embedded and keyword-indexed with the text
    # (a Milvus collection made before it existed keyword-indexes the text alone), never cited
    context: str = ""

    @property
    def indexed(self) -> str:
        return indexed_text(self.context, self.text)

    def __post_init__(self) -> None:
        if not self.id:
            object.__setattr__(self, "id", content_hash(self.source, str(self.start), self.text))


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its fused score and the scores behind it."""

    chunk: Chunk
    score: float
    rank: int
    dense_score: float | None = None
    bm25_score: float | None = None

    @property
    def text(self) -> str:
        return self.chunk.text

    @property
    def source(self) -> str:
        return self.chunk.source


@dataclass(frozen=True)
class Citation:
    """What a marker ``[index]`` in an answer points at."""

    index: int
    source: str
    text: str
    start: int
    end: int
    quote: str = ""  # the supporting sentence inside ``text``, when known


@dataclass(frozen=True)
class Answer:
    """The answer to one question, with verified citations and the evidence behind them."""

    question: str
    text: str
    citations: list[Citation] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    abstained: bool = False
    backend: str = ""
    standalone_question: str = ""
    flags: list[str] = field(default_factory=list)  # e.g. "unsupported-number", "fallback-extractive"
    timings: dict[str, float] = field(default_factory=dict)  # seconds: retrieval, generation

    def to_dict(self) -> dict:
        return asdict(self)
