"""Index writes in a child process, so the page keeps only the memory it needs to answer.

Answering embeds questions with the light query-path model; building an index needs the full embedding
model (torch), over a gigabyte more. Built in a spawned child process, that memory goes away with the
child instead of staying in the page's server for as long as it runs. Progress and the outcome come
back over a queue; an error arrives as the same exception (or as a ``RagError`` with its message).
"""

from __future__ import annotations

import logging
import multiprocessing
import pickle
import queue as queues
from collections.abc import Callable, Sequence
from pathlib import Path

from rag.errors import RagError
from rag.settings import Settings

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
POLL_SECONDS = 0.5


def ingest(paths: Sequence[str | Path], *, settings: Settings, progress: Progress | None = None):
    """``rag.ingest(paths)`` in a child process; its ``IngestReport``."""
    return _in_child("ingest", [str(p) for p in paths], settings, progress)


def ensure_index(settings: Settings, progress: Progress | None = None):
    """``rag.ensure_index`` in a child process: the sample index when there is none (its report), else None."""
    return _in_child("ensure", [], settings, progress)


def shareable(settings: Settings) -> bool:
    """Whether another process may write the index while this one reads it: not so for an embedded
    Milvus Lite database, which one process at a time may open (its writes stay in this process)."""
    if settings.vector_store != "milvus":
        return True
    from rag.index.milvus_client import is_embedded, uri_of

    return not is_embedded(uri_of(settings))


def _in_child(job: str, paths: list[str], settings: Settings, progress: Progress | None):
    if not shareable(settings):
        return _job(job, paths, settings, progress)
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: nothing of the page's state is copied
    messages = context.Queue()
    child = context.Process(target=_run, args=(job, paths, settings, messages), daemon=True, name=f"rag-{job}")
    child.start()
    try:
        while True:
            try:
                kind, value = messages.get(timeout=POLL_SECONDS)
            except queues.Empty:
                if not child.is_alive():
                    raise RagError(
                        f"建立索引的进程意外退出（退出码 {child.exitcode}），索引保持原样。"
                        "可能是内存不足；请查看服务器日志后重试。"
                    ) from None
                continue
            if kind == "progress":
                if progress is not None:
                    progress(*value)
            elif kind == "error":
                raise value
            else:
                return value
    finally:
        child.join(timeout=30)
        if child.is_alive():  # the page stopped waiting (e.g. the request was cancelled): so does the work
            child.terminate()
            child.join(timeout=10)


def _job(job: str, paths: list[str], settings: Settings, progress: Progress | None):
    from rag.index.ingestion import ensure_index as ensure
    from rag.index.ingestion import ingest as add

    if job == "ensure":
        return ensure(settings, progress=progress)
    return add([Path(p) for p in paths], settings=settings, progress=progress)


def _run(job: str, paths: list[str], settings: Settings, messages) -> None:
    """In the child: do the job, sending progress, then ``("done", report)`` or ``("error", exception)``."""

    def progress(fraction: float, message: str) -> None:
        messages.put(("progress", (fraction, message)))

    try:
        messages.put(("done", _job(job, paths, settings, progress)))
    except Exception as exc:  # sent back whole when it survives pickling, else as its message
        if not isinstance(exc, RagError):
            log.exception("building the index failed")
        messages.put(("error", _portable(exc)))


def _portable(exc: Exception) -> Exception:
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return RagError(str(exc)) if isinstance(exc, RagError) else RuntimeError(f"{type(exc).__name__}: {exc}")
