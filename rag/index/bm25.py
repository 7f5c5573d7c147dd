"""The keyword index: BM25 (bm25s) over the chunks (``Chunk.indexed``), saved with each index generation."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterable

import numpy as np

from rag.text.tokens import query_text, tokenize

logger = logging.getLogger(__name__)


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
