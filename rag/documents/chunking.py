"""Split a cleaned Document into Chunks whose text is always an exact span of the document."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from pathlib import PurePath

from rag.documents.cleaning import is_caption
from rag.documents.units import section_starts
from rag.types import Chunk, Document

# Paragraphs, lines, Chinese sentence ends, then clauses; "" cuts anywhere as a last resort.
SEPARATORS = ["\n\n", "\n", "。", "！", "？", "；", "，", ",", ""]

_PARAGRAPH = re.compile(r"[^\n]+(?:\n[^\n]+)*")  # a run of non-empty lines
CONTEXT_MAX = 80  # characters of a chunk's context line: its document's name and the headings above it


def split_document(doc: Document, chunk_size: int = 300, chunk_overlap: int = 60) -> list[Chunk]:
    """Split ``doc`` into ordered chunks of at most ``chunk_size`` characters.

    Body paragraphs are merged up to ``chunk_size``; each photo caption is a chunk of its
    own (``kind="caption"``). Every chunk satisfies ``chunk.text == doc.text[chunk.start:chunk.end]``
    and the result is deterministic, so the same document always gives the same ids.
    """
    # Imported here: it pulls in langchain-core, which answering a question never needs.
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        separators=SEPARATORS,
        keep_separator="end",  # "。" stays with the sentence it ends
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
    )
    chunks: list[Chunk] = []
    sections = section_starts(doc.text)
    starts = [s for s, _ in sections]
    title = document_title(doc.source)
    for start, end, kind in _segments(doc.text):
        pieces = splitter.split_text(doc.text[start:end])
        for piece_start, piece in _locate(doc.text, start, end, pieces, chunk_overlap):
            chunks.append(
                Chunk(
                    source=doc.source,
                    text=piece,
                    start=piece_start,
                    end=piece_start + len(piece),
                    order=len(chunks),
                    kind=kind,
                    context=_context(title, sections, starts, piece_start),
                )
            )
    return chunks


def document_title(source: str) -> str:
    """A document's name as words: "passwd.1.md" → "passwd.1", "apt-get_guide.txt" → "apt get guide"."""
    stem = PurePath(source).name
    for _ in range(2):  # "report.tar.gz"-like double suffixes aside, one known suffix is dropped
        if PurePath(stem).suffix.lower() in _SUFFIXES:
            stem = stem[: -len(PurePath(stem).suffix)]
    return re.sub(r"[-_]+", " ", stem).strip()


_SUFFIXES = frozenset((".txt", ".md", ".markdown", ".pdf", ".docx", ".html", ".htm", ".xhtml"))


def _context(title: str, sections: list[tuple[int, tuple[str, ...]]], starts: list[int], at: int) -> str:
    """The document's name and the headings in effect at offset ``at``; outer headings give way first when the
    line would pass ``CONTEXT_MAX``."""
    k = bisect_right(starts, at) - 1
    path = list(sections[k][1]) if k >= 0 else []
    while True:
        line = " › ".join(([title] if title else []) + path)
        if len(line) <= CONTEXT_MAX or len(path) <= 1:
            return line if len(line) <= CONTEXT_MAX else line[: CONTEXT_MAX - 1] + "…"
        path.pop(0)


def _segments(text: str) -> Iterator[tuple[int, int, str]]:
    """Spans to split separately: runs of body paragraphs, and each caption alone."""
    body: tuple[int, int] | None = None
    for match in _PARAGRAPH.finditer(text):
        if is_caption(match.group()):
            if body:
                yield (*body, "body")
                body = None
            yield match.start(), match.end(), "caption"
        else:
            body = (body[0] if body else match.start(), match.end())
    if body:
        yield (*body, "body")


def _locate(text: str, start: int, end: int, pieces: list[str], overlap: int) -> Iterator[tuple[int, str]]:
    """Find each piece in ``text[start:end]``, in order.

    The splitter returns contiguous, whitespace-stripped slices of its input, and a piece
    shares at most ``overlap`` characters with the one before it. So the next piece starts
    no earlier than ``previous end - overlap``: searching from there (as langchain's own
    ``add_start_index`` does) finds the right copy even in repetitive text.
    """
    cursor = start
    for piece in pieces:
        found = text.find(piece, cursor, end)
        if found < 0:  # cannot happen with contiguous pieces; never emit a wrong span
            raise ValueError(f"chunk text not found in its document: {piece[:30]!r}")
        yield found, piece
        cursor = max(found + 1, found + len(piece) - overlap)
