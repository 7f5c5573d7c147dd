"""Which documents an eval run asks against: the configured index for the sample corpus, a fresh one for another.

The sample corpus is what ``rag`` indexes by default, so its questions go through ``rag.answer`` as a user's
would. Any other corpus (``dataset.CORPORA``) gets an index of its own, built in a temporary folder for the
run, so it never touches the user's index and is never stale when its documents or the chunking change.
"""

from __future__ import annotations

import functools
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from eval.dataset import CORPORA, item_corpus

SAMPLE = "sample"


def group_by_corpus(items: list[dict]) -> dict[str, list[dict]]:
    """The items of each corpus, corpora in order of first appearance, items in set order."""
    groups: dict[str, list[dict]] = {}
    for item in items:
        groups.setdefault(item_corpus(item), []).append(item)
    return groups


def corpus_settings(corpus: str, index_dir: Path) -> Any:
    """The process settings with the index in ``index_dir`` and the documents of ``corpus``."""
    from rag.settings import get_settings  # imported late: the eval tooling must load without the models

    return get_settings().model_copy(update={"index_dir": Path(index_dir), "corpus_dir": CORPORA[corpus]})


@contextmanager
def answering(corpus: str, answer_fn: Callable[..., Any] | None = None) -> Iterator[Callable[..., Any]]:
    """An ``answer(question, history=..., backend=..., top_k=...)`` function over ``corpus``.

    A given ``answer_fn`` (a test's fake) is used as it is for every corpus. Otherwise the sample
    corpus uses ``rag.answer`` with the configured settings, and another corpus ``rag.answer`` over an
    index built from its folder before the first question (so no question's latency includes the build).
    """
    if answer_fn is not None:
        yield answer_fn
        return
    from rag import answer

    if corpus == SAMPLE:
        yield answer
        return
    from rag.index.ingestion import ensure_index

    with tempfile.TemporaryDirectory(prefix=f"rag-eval-{corpus}-") as tmp:
        settings = corpus_settings(corpus, Path(tmp) / "index")
        ensure_index(settings)
        yield functools.partial(answer, settings=settings)
