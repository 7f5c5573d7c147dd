"""Hybrid retrieval over any store: a dense search and a Chinese-aware BM25 search, fused by reciprocal rank.

A passage that ends by leading into what follows ("这些文件夹是：") brings the chunk after it along, after the
ranked passages: a table or list cut off from its lead-in sentence is still there to answer from.
"""

from __future__ import annotations

import copy
import logging
import re
import threading
from collections import Counter

import numpy as np

from rag.embedding.models import Embedder
from rag.embedding.query import get_query_embedder
from rag.errors import RagError
from rag.index import facts, unit_table
from rag.index.base import StoreView
from rag.index.manifest import check_compatible
from rag.index.stores import open_store
from rag.retrieval.entries import entry_passages, file_entries, page_name
from rag.retrieval.unit_hits import unit_hits
from rag.settings import Settings, get_settings
from rag.text import lexicon
from rag.text.pointers import is_section, pointed_sections
from rag.text.tokens import ASKS_KEY, YEAR_IN_TEXT, bigrams, exact_terms, is_mostly_cjk, key_combos
from rag.types import Passage

logger = logging.getLogger(__name__)

COMMON_SHARE = 0.5  # a bigram in this share of all chunks is common to the corpus, not a content word
LEADS_IN = ("：", ":")  # a passage ending so introduces what the next chunk holds
MAX_NEXT = 2
_HEADING_LINE = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)
_SECTION_TEXT = 150  # characters of a section a chunk must hold after its heading to stand for the section
MAX_POINTED = 2  # sections a question's passages send the reader to, added after them
_STRUCTURE_LINE = re.compile(r"^\s*(?:\||>|[-*+•]\s|\d{1,2}[.)、]\s|```)")


def _goes_on(text: str, following: str) -> bool:
    """``text`` ends by leading into what ``following`` starts with: a sentence ending in a colon ("这些文件夹是："),
    maybe with a table's empty header after it, or a table, list or quoted description (an option's, "> …") that
    runs on into it."""
    lines = [line.strip() for line in text.rstrip().splitlines() if line.strip()]
    if not lines:
        return False
    first = next((line for line in following.splitlines() if line.strip()), "")
    if lines[-1].rstrip(" *").endswith(LEADS_IN):
        return True
    if not _STRUCTURE_LINE.match(lines[-1]) or not _STRUCTURE_LINE.match(first):
        return False
    # the table or list began in this passage: its lead-in or header is here, its rest there
    return any(line.rstrip(" *").endswith(LEADS_IN) for line in lines[-4:]) or _STRUCTURE_LINE.match(lines[0]) is None


class Retriever:
    """Searches one committed state of the index."""

    def __init__(self, view: StoreView, embedder: Embedder, settings: Settings):
        self.view = view
        self.embedder = embedder
        self.settings = settings
        self._years: dict[str, str | None] = {}
        self._vocabulary: list = []  # built on the first non-Chinese question; shared by copies
        self._derived: dict[str, object] = {}  # shared by the per-settings copies of this retriever

    def all_chunks(self) -> list:
        """Every chunk of the index, for the tables derived from the whole corpus."""
        return self.view.chunks()

    def is_common(self, gram: str) -> bool:
        """Whether a bigram is in so many chunks that it tells them apart no better than "的" would
        (the corpus's own name and subject: "政协" in a review of a political body, "公司" in a report)."""
        if "common" not in self._derived:
            chunks = self.all_chunks()
            counts: dict[str, int] = {}
            sources: dict[str, set[str]] = {}
            for chunk in chunks:
                for g in set(bigrams(chunk.text)):
                    counts[g] = counts.get(g, 0) + 1
                    sources.setdefault(g, set()).add(chunk.source)
            limit = max(3, COMMON_SHARE * len(chunks))
            # and in most documents: a word one long document repeats is still that document's topic
            n_docs = len({c.source for c in chunks})
            docs = max(min(2, n_docs), COMMON_SHARE * n_docs)
            self._derived["common"] = frozenset(
                g for g, n in counts.items() if n >= limit and len(sources[g]) >= docs
            )
        return gram in self._derived["common"]

    def facts(self):
        """The figures table saved with the index, or built now (once) for an index saved without it."""
        if "facts" not in self._derived:
            raw = self.view.table(facts.FILE_NAME)
            table = facts.FactTable.from_bytes(raw) if raw else facts.build(self.all_chunks(), self.embedder)
            self._derived["facts"] = table
        return self._derived["facts"]

    def units(self):
        """The answer units saved with the index (with their vectors), or built now (once) for an index without them."""
        if "units" not in self._derived:
            raw = self.view.table(unit_table.FILE_NAME)
            table = unit_table.from_bytes(raw) if raw else unit_table.build(self.all_chunks(), self.embedder)
            self._derived["units"] = table
        return self._derived["units"]

    def question_vector(self, question: str) -> np.ndarray:
        """The vector the dense search used for ``question`` (cached by the embedder)."""
        return np.asarray(self.embedder.embed_query(self.search_text(question)), dtype=np.float32)

    def unit_rows(self, position: int, chunk) -> list[int]:
        """The rows of the unit table inside the chunk at store ``position`` (found once per index)."""
        found = self._derived.setdefault("unit_rows", {})
        if position not in found:
            found[position] = self.units().within(chunk)
        return found[position]

    def option_entries(self) -> dict[str, list]:
        """Option ("-p", "--password") → the chunks where an option entry naming it begins (``entries``)."""
        if "entries" not in self._derived:
            self._derived["entries"] = file_entries(self.units(), self.all_chunks())
        return self._derived["entries"]

    def page_names(self) -> frozenset[str]:
        """The names the documents go by, lower-cased, without their suffixes: "userdel" of "userdel.8.md"."""
        if "pages" not in self._derived:
            self._derived["pages"] = frozenset(page_name(c.source) for c in self.all_chunks())
        return self._derived["pages"]

    def names_collection(self, name: str) -> bool:
        """Whether ``name`` is what the whole collection is about: at least half of its documents (two or
        more) say it ("GIMP" in GIMP's help). A page of such a collection (its licence, a chapter) need not."""
        if "documents" not in self._derived:
            texts: dict[str, list[str]] = {}
            for chunk in self.all_chunks():
                texts.setdefault(chunk.source, []).append(chunk.text.lower())
            self._derived["documents"] = ["\n".join(parts) for parts in texts.values()]
            self._derived["collection"] = {}
        known = self._derived["collection"]
        key = name.lower()
        if key not in known:
            documents = self._derived["documents"]
            saying = sum(key in text for text in documents)
            known[key] = saying >= 2 and 2 * saying >= len(documents)
        return known[key]

    def document_year(self, source: str) -> str | None:
        """The year a document is about: the one it mentions most (None when it names no year)."""
        if source not in self._years:
            counts = Counter(y for c in self.view.chunks_of(source) for y in YEAR_IN_TEXT.findall(c.text))
            self._years[source] = max(counts, key=counts.get) if counts else None
        return self._years[source]

    def vocabulary(self):
        """Whether a word occurs in the indexed text (filters dictionary translations)."""
        with _vocabulary_lock:
            if not self._vocabulary:
                self._vocabulary.append(lexicon.corpus_vocabulary(c.text for c in self.all_chunks()))
        return self._vocabulary[0]

    def search_text(self, question: str) -> str:
        """What both retrievers search for: the question, and for one in another language its Chinese keywords."""
        if is_mostly_cjk(question):
            return question
        try:
            keywords = lexicon.chinese_keywords(question, self.vocabulary())
        except RagError:
            return question  # without the dictionary, the question's own words and numbers still count
        return " ".join([question, *keywords])

    def search(self, question: str, top_k: int | None = None) -> list[Passage]:
        """The ``top_k`` passages by reciprocal-rank fusion of the dense and the BM25 rankings."""
        s = self.settings
        top_k = top_k or s.top_k
        text = self.search_text(question)
        vector = np.asarray(self.embedder.embed_query(text), dtype=np.float32)
        dense = self.view.dense(vector, s.candidates)
        # "退出的快捷键是什么": the rows of a key table ("**Ctrl** + Q 退出") say the thing and a key, not "快捷键"
        keyword = self.view.keyword(f"{text} {_KEYS}" if ASKS_KEY.search(question) else text, s.candidates)
        by_unit = unit_hits(self, vector, dense + keyword) if s.unit_weight > 0 else []
        dense_w, bm25_w = s.dense_weight, s.bm25_weight
        if not is_mostly_cjk(question):
            # BM25 searches the question's dictionary translation, which is noisier than Chinese words
            dense_w, bm25_w = s.translated_dense_weight, s.translated_bm25_weight
        fused: dict[int, float] = {}
        chunks, dense_by, bm25_by = {}, {}, {}
        # a key combination or option the question names ("Ctrl+B", "-t") is looked up as written: the keyword
        # hits that hold every one of them are ranked once more, so the row that says "Ctrl+B" is not outranked
        # by passages that are only about the same subject
        named = [t.lower() for t in exact_terms(question)]
        exact = [h for h in keyword if all(_holds(h.chunk.text.lower(), t) for t in named)] if named else []
        for weight, hits, scores in ((dense_w, dense, dense_by), (bm25_w, keyword, bm25_by), (bm25_w, exact, {}),
                                     (s.unit_weight, by_unit, {})):
            for rank, hit in enumerate(hits):
                fused[hit.position] = fused.get(hit.position, 0.0) + weight / (s.rrf_k + rank + 1)
                chunks[hit.position], scores[hit.position] = hit.chunk, hit.score
        order = sorted(fused, key=lambda i: (-fused[i], i))[:top_k]
        found = [Passage(chunk=chunks[i], score=fused[i], rank=r + 1, dense_score=dense_by.get(i),
                         bm25_score=bm25_by.get(i, 0.0)) for r, i in enumerate(order)]
        found = entry_passages(self, question, found)  # the entry of an option the question names, by its term
        return found + self._continuations(found)

    def _continuations(self, passages: list[Passage]) -> list[Passage]:
        """The next chunk of each passage that leads into it, not already among ``passages`` (at most ``MAX_NEXT``)."""
        have = {p.chunk.id for p in passages}
        extra: list[Passage] = []
        for p in passages:
            if len(extra) == MAX_NEXT:
                break
            nxt = self._next_chunk().get(p.chunk.id)
            if nxt is not None and nxt.id not in have and _goes_on(p.chunk.text, nxt.text):
                have.add(nxt.id)
                extra.append(Passage(chunk=nxt, score=p.score * 0.5, rank=len(passages) + len(extra) + 1))
        return extra

    def pointed(self, passages: list[Passage], passage: int, text: str) -> list[Passage]:
        """The sections ``text`` (a unit of ``passages[passage]``) sends the reader to ("参见 默认值 一节"), in that
        passage's document: the chunk where each begins, as passages after ``passages`` (at most ``MAX_POINTED``)."""
        have = {p.chunk.id for p in passages}
        source = passages[passage]
        extra: list[Passage] = []
        for number, title in pointed_sections(text):
            target = self._section_start(source.chunk.doc_id or source.chunk.source, number, title)
            if target is not None and target.id not in have and len(extra) < MAX_POINTED:
                have.add(target.id)
                extra.append(Passage(chunk=target, score=source.score * 0.5, rank=len(passages) + len(extra) + 1))
        return extra

    def _section_start(self, document: str, number: str, title: str):
        """The chunk of ``document`` where the section with that number or title begins: the one holding its
        heading line (the next one when the heading ends it), or else the first that stands under it; or None."""
        if "sections" not in self._derived:
            starts: dict[str, list[tuple[str, object]]] = {}
            for chunk in sorted(self.all_chunks(), key=lambda c: c.start):
                entries = starts.setdefault(chunk.doc_id or chunk.source, [])
                found = [(m.group(1), chunk.text[m.end():]) for m in _HEADING_LINE.finditer(chunk.text)]
                under = [(chunk.context.split(" › ")[-1], chunk.text)] if " › " in chunk.context else []
                for heading, after in [*found, *under]:
                    if all(h != heading for h, _ in entries):
                        too_little = len(after.strip()) < _SECTION_TEXT
                        entries.append((heading, self._next_chunk().get(chunk.id, chunk) if too_little else chunk))
            self._derived["sections"] = starts
        return next((chunk for heading, chunk in self._derived["sections"].get(document, [])
                     if is_section(heading, number, title)), None)

    def _next_chunk(self) -> dict:
        """Each chunk's id → the chunk that follows it in its document."""
        if "next" not in self._derived:
            by_doc: dict[str, list] = {}
            for chunk in self.all_chunks():
                by_doc.setdefault(chunk.doc_id or chunk.source, []).append(chunk)
            following = {}
            for chunks in by_doc.values():
                chunks.sort(key=lambda c: (c.start, c.end))
                following.update((a.id, b) for a, b in zip(chunks, chunks[1:]))
            self._derived["next"] = following
        return self._derived["next"]


_KEYS = "Ctrl Alt Shift"  # what a key table's rows say instead of "快捷键"
_lock = threading.Lock()
_vocabulary_lock = threading.Lock()
_retrievers: dict[tuple, Retriever] = {}


def get_retriever(settings: Settings | None = None, embedder: Embedder | None = None) -> Retriever:
    """A retriever over the committed index; opened again when the index changes."""
    settings = settings or get_settings()
    store = open_store(settings)
    version = store.current()
    if version is None:
        raise RagError("还没有索引：请先运行 `rag ingest 文件或目录`。")
    # The opened index and model are shared by every settings object that agrees on them;
    # the fusion knobs are read from the caller's settings.
    place = (store.name, str(settings.index_dir), settings.milvus_uri, settings.milvus_collection)
    key = (*place, version, settings.bm25_tokenizer, settings.embedding_model, str(settings.embedding_path),
           id(embedder))
    with _lock:
        if key not in _retrievers:
            for old in [k for k in _retrievers if k[: len(place)] == place]:
                del _retrievers[old]  # an older state of this index is never asked for again
            view = store.open()
            # refuse a mismatched index before paying for the model load, then check the loaded model's dimension
            check_compatible(view.manifest, embedder.model_id if embedder else settings.embedding_model)
            embedder = embedder or get_query_embedder(view.manifest, settings)
            check_compatible(view.manifest, embedder.model_id, embedder.dim)
            _retrievers[key] = Retriever(view, embedder, settings)
        shared = copy.copy(_retrievers[key])
    shared.settings = settings
    return shared


def _holds(text: str, term: str) -> bool:
    """``text`` says ``term`` as a whole ("-t" not inside "--test", "ctrl+b" not inside "ctrl+b2"); a key
    combination however it is written ("**Ctrl** + B")."""
    return re.search(rf"(?<![\w+-]){re.escape(term)}(?![\w+])", text) is not None or term in key_combos(text)
