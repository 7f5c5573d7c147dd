"""Hybrid retrieval: dense FAISS search and Chinese-aware BM25, fused by reciprocal rank."""

from __future__ import annotations

import copy
import logging
import re
import threading
from pathlib import Path
from typing import Iterable

import numpy as np

from . import lexicon, store
from .embeddings import Embedder
from .errors import RagError
from .query_embeddings import get_query_embedder
from .question import YEAR_IN_TEXT, is_mostly_cjk
from .settings import Settings, get_settings
from .types import Passage

logger = logging.getLogger(__name__)

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN_RE = re.compile(rf"[{_CJK}]+|[A-Za-z]+|\d+(?:\.\d+)?")
# Question words carry no evidence; left in, their bigrams pull in unrelated passages.
_QUESTION_WORDS = re.compile(
    r"多少|几多|哪些|哪个|哪位|哪里|哪儿|哪一|哪年|哪天|什么|为何|为什么|怎么|怎样|如何|是否|有没有|请问|吗|呢|？|\?"
)
_EN_STOP = frozenset(
    "the a an of in on at to for and or is are was were be been how many much what which who whom when where "
    "why did do does with by from as that this these those it its into about than".split()
)


def _is_cjk(token: str) -> bool:
    return bool(re.match(rf"[{_CJK}]", token))


def bigrams(text: str) -> list[str]:
    """Character bigrams of CJK runs (a lone character stays a unigram), plus ASCII words and numbers."""
    tokens: list[str] = []
    for run in _TOKEN_RE.findall(text):
        if _is_cjk(run):
            tokens.extend(run[i : i + 2] for i in range(max(len(run) - 1, 1)))
        elif run.lower() not in _EN_STOP:
            tokens.append(run.lower())
    return tokens


def jieba_words(text: str) -> list[str]:
    """Words from jieba's search-engine mode, without punctuation and English stop words."""
    import jieba

    jieba.setLogLevel(60)
    words = (w.strip().lower() for w in jieba.lcut_for_search(text))
    return [w for w in words if w and _TOKEN_RE.fullmatch(w) and w not in _EN_STOP]


def tokenize(text: str, mode: str = "bigram") -> list[str]:
    """BM25 tokens for ``text`` in one of the modes ``bigram``, ``jieba`` or ``both``."""
    if mode == "bigram":
        return bigrams(text)
    if mode == "jieba":
        return jieba_words(text)
    if mode == "both":
        return bigrams(text) + ["w:" + w for w in jieba_words(text)]
    raise RagError(f"未知的 BM25 分词方式 {mode!r}，可选：bigram, jieba, both")


def query_text(question: str) -> str:
    """The question without question words, for keyword search."""
    return _QUESTION_WORDS.sub(" ", question)


COMMON_SHARE = 0.5  # a bigram in this share of all chunks is common to the corpus, not a content word


class BM25Index:
    """BM25 (bm25s) over the chunk texts with a Chinese-aware tokenizer; saved with the index generation."""

    def __init__(self, texts: Iterable[str], mode: str = "bigram", *, _loaded=None):
        import bm25s

        self.mode = mode
        if _loaded is not None:
            self._bm25, self._size = _loaded, int(_loaded.scores["num_docs"])
            return
        self._bm25 = bm25s.BM25()
        corpus = [tokenize(t, mode) or ["<empty>"] for t in texts]
        self._size = len(corpus)
        if corpus:
            self._bm25.index(corpus, show_progress=False)

    def scores(self, question: str) -> np.ndarray:
        tokens = tokenize(query_text(question), self.mode)
        if not tokens or not self._size:
            return np.zeros(self._size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)

    def save(self, folder: Path) -> None:
        """Write the index as ``bm25-<mode>.*`` files into ``folder`` (a generation being written)."""
        if self._size:
            self._bm25.save(folder, show_progress=False, **_bm25_names(self.mode))

    @classmethod
    def open(cls, folder: Path | None, texts: list[str], mode: str = "bigram") -> "BM25Index":
        """The index saved in ``folder`` for these texts, or one built now (older index, other tokenizer)."""
        names = _bm25_names(mode)
        if folder is not None and (folder / names["params_name"]).is_file():
            import bm25s

            try:
                loaded = bm25s.BM25.load(folder, show_progress=False, **names)
            except (OSError, ValueError) as exc:  # a generation replaced meanwhile, or a damaged file
                logger.warning("Rebuilding the keyword index in memory: the saved one did not load (%s)", exc)
            else:
                if int(loaded.scores["num_docs"]) == len(texts):
                    return cls((), mode, _loaded=loaded)
        return cls(texts, mode)


def _bm25_names(mode: str) -> dict[str, str]:
    """bm25s file names inside a generation folder, one set per tokenizer."""
    parts = {"data_name": "data.npy", "indices_name": "indices.npy", "indptr_name": "indptr.npy",
             "vocab_name": "vocab.json", "params_name": "params.json", "nnoc_name": "nonoccurrence.npy"}
    return {key: f"bm25-{mode}.{name}" for key, name in parts.items()}


def _top(scores: np.ndarray, n: int) -> np.ndarray:
    n = min(n, len(scores))
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    idx = np.argpartition(-scores, n - 1)[:n]
    return idx[np.argsort(-scores[idx], kind="stable")]


class Retriever:
    """Searches one loaded index generation."""

    def __init__(self, data: store.IndexData, embedder: Embedder, settings: Settings):
        self.data = data
        self.embedder = embedder
        self.settings = settings
        self.bm25 = BM25Index.open(data.folder, [c.text for c in data.chunks], settings.bm25_tokenizer)
        self._years: dict[str, str | None] = {}
        self._vocabulary: list = []  # built on the first non-Chinese question; shared by copies
        self._derived: dict[str, object] = {}  # shared by the per-settings copies of this retriever

    def all_chunks(self) -> list:
        """Every chunk of the index, for the tables derived from the whole corpus."""
        return self.data.chunks

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
        from . import facts

        if "facts" not in self._derived:
            raw = self.data.extras.get(facts.FILE_NAME)
            table = facts.FactTable.from_bytes(raw) if raw else facts.build(self.all_chunks(), self.embedder)
            self._derived["facts"] = table
        return self._derived["facts"]

    def document_year(self, source: str) -> str | None:
        """The year a document is about: the one it mentions most (None when it names no year)."""
        if source not in self._years:
            counts: dict[str, int] = {}
            for chunk in self.data.chunks:
                if chunk.source == source:
                    for year in YEAR_IN_TEXT.findall(chunk.text):
                        counts[year] = counts.get(year, 0) + 1
            self._years[source] = max(counts, key=counts.get) if counts else None
        return self._years[source]

    def dense(self, question: str, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Row ids and cosine scores of the ``n`` nearest chunks."""
        if not self.data.chunks:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        q = np.asarray(self.embedder.embed_query(question), dtype=np.float32)[None, :]
        scores, ids = self.data.faiss_index.search(q, min(n, len(self.data.chunks)))
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]

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
        """The ``top_k`` passages by reciprocal-rank fusion of dense and BM25 rankings."""
        s = self.settings
        top_k = top_k or s.top_k
        text = self.search_text(question)
        dense_ids, dense_scores = self.dense(text, s.candidates)
        bm25_all = self.bm25.scores(text)
        bm25_ids = _top(bm25_all, s.candidates)
        bm25_ids = bm25_ids[bm25_all[bm25_ids] > 0]
        dense_w, bm25_w = s.dense_weight, s.bm25_weight
        if not is_mostly_cjk(question):
            # BM25 searches the question's dictionary translation, which is noisier than Chinese words
            dense_w, bm25_w = s.translated_dense_weight, s.translated_bm25_weight
        fused: dict[int, float] = {}
        for rank, i in enumerate(dense_ids):
            fused[int(i)] = fused.get(int(i), 0.0) + dense_w / (s.rrf_k + rank + 1)
        for rank, i in enumerate(bm25_ids):
            fused[int(i)] = fused.get(int(i), 0.0) + bm25_w / (s.rrf_k + rank + 1)
        dense_by_id = {int(i): float(v) for i, v in zip(dense_ids, dense_scores)}
        order = sorted(fused, key=lambda i: (-fused[i], i))[:top_k]
        return [
            Passage(
                chunk=self.data.chunks[i],
                score=fused[i],
                rank=r + 1,
                dense_score=dense_by_id.get(i),
                bm25_score=float(bm25_all[i]),
            )
            for r, i in enumerate(order)
        ]


_lock = threading.Lock()
_vocabulary_lock = threading.Lock()
_retrievers: dict[tuple, Retriever] = {}


def get_retriever(settings: Settings | None = None, embedder: Embedder | None = None) -> Retriever:
    """A retriever over the current index generation; reloaded when the index changes on disk."""
    settings = settings or get_settings()
    if settings.vector_store == "milvus":
        from . import milvus_index

        return milvus_index.get_retriever(settings, embedder)
    gen = store.current_generation(settings.index_dir)
    if gen is None:
        raise RagError("还没有索引：请先运行 `rag ingest 文件或目录`。")
    # The loaded index, BM25 and model are shared by every settings object that agrees on them;
    # the fusion knobs are read from the caller's settings.
    key = (str(gen), settings.bm25_tokenizer, settings.embedding_model, str(settings.embedding_path), id(embedder))
    with _lock:
        if key not in _retrievers:
            for old in [k for k in _retrievers if k[0] != key[0]]:
                del _retrievers[old]  # an older generation is never asked for again
            data = store.load(settings.index_dir)
            # refuse a mismatched index before paying for the model load, then check the loaded model's dimension
            store.check_compatible(data.manifest, embedder.model_id if embedder else settings.embedding_model)
            embedder = embedder or get_query_embedder(data.manifest, settings)
            store.check_compatible(data.manifest, embedder.model_id, embedder.dim)
            _retrievers[key] = Retriever(data, embedder, settings)
        shared = copy.copy(_retrievers[key])
    shared.settings = settings
    return shared
