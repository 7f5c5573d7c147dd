"""``stream_answer`` on a bounded pool of worker threads, seen from the event loop as a few events.

The pipeline blocks (retrieval, a model server), so it runs on at most ``workers`` threads; further
questions wait their turn. The loop hears ``started`` once the pipeline has chosen its backend, opened
the index and begun to answer (so a missing model or a damaged index is still a plain HTTP error),
then the verified ``Answer`` or the exception. A run whose client went away is cancelled: a queued
one never starts, a running one stops at the next piece (closing the model's stream).
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from rag import stream_answer
from rag.errors import RagError
from rag.settings import Settings
from rag.types import Answer

STARTED, ANSWER, ERROR = "started", "answer", "error"


class AnswerPool:
    """The worker threads that answer; ``close()`` on shutdown."""

    def __init__(self, workers: int) -> None:
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rag-answer")

    def start(self, question: str, history: list[dict], backend: str, settings: Settings) -> AnswerRun:
        run = AnswerRun(asyncio.get_running_loop())
        self.executor.submit(run.work, question, history, backend, settings)
        return run

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)


class AnswerRun:
    """One question being answered: ``await next_event(timeout)`` → ``(kind, value)``; ``cancel()`` when abandoned."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.events: asyncio.Queue = asyncio.Queue()
        self.cancelled = threading.Event()

    async def next_event(self, timeout: float | None = None) -> tuple[str, object]:
        """The next event; ``TimeoutError`` when none came within ``timeout`` seconds."""
        return await asyncio.wait_for(self.events.get(), timeout)

    def cancel(self) -> None:
        self.cancelled.set()

    def work(self, question: str, history: list[dict], backend: str, settings: Settings) -> None:
        """Runs on a worker thread."""
        if self.cancelled.is_set():
            return
        try:
            if not self._answer(question, history, backend, settings):
                self._put(ERROR, RagError("没有得到回答。"))
        except BaseException as exc:  # every failure reaches the client as an error object
            self._put(ERROR, exc)

    def _answer(self, question, history, backend, settings) -> bool:
        """Stream the pipeline, telling the loop when it started and what it answered; False if it never did."""
        stream = stream_answer(question, history, backend=backend, settings=settings)
        started = False
        try:
            for item in stream:
                if self.cancelled.is_set():
                    return True
                if isinstance(item, Answer):
                    self._put(ANSWER, item)
                    return True
                if not started:
                    started = True
                    self._put(STARTED, None)
        finally:
            stream.close()  # a cancelled run hangs up on the model server
        return False

    def _put(self, kind: str, value: object) -> None:
        try:
            self.loop.call_soon_threadsafe(self.events.put_nowait, (kind, value))
        except RuntimeError:  # the server stopped while this question was answered
            pass
