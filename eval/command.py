"""``rag eval``: the eval runner as a command of ``rag`` (a ``rag.commands`` entry point); arguments as ``python -m eval``.

Its questions are about the sample documents, so it scores an index of exactly those: one of its own
in the cache folder, kept up to date with ``data/sample`` and built the first time. The user's index
(with their own documents in it) is never read or changed, so the score is the same on every machine.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

HELP = "在评测集上衡量回答质量（参数同 python -m eval；用只含示例文档的单独索引，不读你的索引）"
RAW = True  # its arguments go to the runner untouched
INDEX_FOLDER = "eval-index"  # under the cache folder (RAG_CACHE_DIR)


def run(argv: list[str]) -> int:
    from eval.run import _parser, main

    args = _parser().parse_args(argv)  # --help and argument errors are answered before any index work
    if args.corpus not in ("sample", "all"):  # other corpora get a fresh index each run (eval/corpora.py)
        return main(argv)
    with sample_index():
        return main(argv)


@contextmanager
def sample_index() -> Iterator[Path]:
    """While inside: the configured index is the eval's own index of the sample corpus (built or updated first)."""
    from rag.settings import get_settings

    settings = get_settings()
    folder = Path(settings.cache_dir) / INDEX_FOLDER
    saved = {name: os.environ.get(name) for name in ("RAG_INDEX_DIR", "RAG_CORPUS_DIR")}
    os.environ["RAG_INDEX_DIR"], os.environ["RAG_CORPUS_DIR"] = str(folder), str(_sample_corpus())
    get_settings.cache_clear()
    try:
        from rag.index.stores import open_store

        first = "" if open_store(get_settings()).holds_index() else "；第一次要先建立，约需半分钟…"
        print(f"评测只用示例文档，索引单独放在 {folder}（你的索引 {settings.index_dir} 不会被读取或改动）{first}",
              file=sys.stderr, flush=True)
        report = _update(get_settings())
        print(f"\r评测索引已就绪：{report.total_chunks} 个文本块。{' ' * 30}", file=sys.stderr, flush=True)
        yield folder
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()


def _sample_corpus() -> Path:
    from eval.dataset import DEFAULT_CORPUS

    return DEFAULT_CORPUS


def _update(settings):
    """Bring the eval's index in line with the sample folder (only what changed); rebuilt when settings differ."""
    from rag.errors import IndexMismatchError
    from rag.index.ingestion import ingest

    def progress(fraction: float, message: str) -> None:
        print(f"\r  {fraction:4.0%} {message[:40]:<40}", end="", file=sys.stderr, flush=True)

    try:
        return ingest([settings.corpus_dir], settings=settings, progress=progress)
    except IndexMismatchError:  # built with another model or chunking than is configured now
        return ingest([settings.corpus_dir], settings=settings, progress=progress, rebuild=True)
