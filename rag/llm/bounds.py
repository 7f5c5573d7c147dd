"""Bounds on what a model server sends back: stop sequences, a token and a character cap, an overall deadline.

Whatever arrives is untrusted: a server may never finish, send a million characters in one piece, or echo
its chat template's control tokens as text. ``bounded`` wraps any backend's stream and ends it cleanly;
``Bounded.reason`` says why it ended early (``None`` when the model finished on its own).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator

from rag.errors import LLMUnavailable

# Chat-template control tokens of the common model families: text after them is not the answer.
TEMPLATE_STOPS = (
    "<|im_end|>", "<|im_start|>", "<|endoftext|>", "<|eot_id|>", "<|start_header_id|>", "<|end|>",
    "<|user|>", "<|assistant|>", "<end_of_turn>", "<start_of_turn>", "</s>", "<|end_of_text|>",
)
# The OpenAI API takes at most four stop sequences; servers that take more get the rest cut client-side.
OPENAI_STOPS = ("<|im_end|>", "<|endoftext|>", "<end_of_turn>", "<|eot_id|>")
TOKEN_MARGIN = 8  # a server may count a few pieces more than tokens (an empty first delta, a role piece)

DEADLINE = "deadline"
TOO_MANY_TOKENS = "max-tokens"
TOO_MANY_CHARS = "max-chars"
STOP_SEQUENCE = "stop-sequence"


class Bounded:
    """The pieces of a stream, cut at a stop sequence, a cap or the deadline; iterate it once."""

    def __init__(self, start: Callable[[], Iterator[str]], *, max_tokens: int, max_chars: int,
                 deadline: float, stops=TEMPLATE_STOPS):
        self._start = start
        self.max_tokens = max_tokens + TOKEN_MARGIN
        self.max_chars = max_chars
        self.deadline = deadline
        self.stops = tuple(s for s in stops if s)
        self.reason: str | None = None  # why the stream was cut (None: the model finished by itself)
        self.chars = 0
        self._seen: list[str] = []

    @property
    def text(self) -> str:
        """Everything yielded so far."""
        return "".join(self._seen)

    def __iter__(self) -> Iterator[str]:
        held = ""  # text that may be the start of a stop sequence, kept until the next piece decides
        keep = max((len(s) for s in self.stops), default=1) - 1
        tokens = 0
        stream = _within(self._start, self.deadline, self)
        try:
            yield from self._cut(stream, held, keep, tokens)
        finally:
            stream.close()  # tells the worker to hang up at once

    def _cut(self, stream: Iterator[str], held: str, keep: int, tokens: int) -> Iterator[str]:
        for piece in self._capped(stream, held, keep, tokens):
            self._seen.append(piece)
            yield piece

    def _capped(self, stream: Iterator[str], held: str, keep: int, tokens: int) -> Iterator[str]:
        for piece in stream:
            tokens += 1
            text = held + piece
            cut = _first_stop(text, self.stops)
            if cut is not None:
                text, self.reason = text[:cut], STOP_SEQUENCE
            room = self.max_chars - self.chars
            if len(text) > room:
                text, self.reason = text[:room], TOO_MANY_CHARS
            if self.reason is None and tokens > self.max_tokens:
                self.reason = TOO_MANY_TOKENS
            if self.reason is not None:
                if text:
                    self.chars += len(text)
                    yield text
                return
            held = _partial_stop_tail(text, self.stops, keep)
            out = text[: len(text) - len(held)]
            if out:
                self.chars += len(out)
                yield out
        if held:
            self.chars += len(held)
            yield held


def bounded(start: Callable[[], Iterator[str]], *, max_tokens: int, max_chars: int, deadline_seconds: float,
            stops=TEMPLATE_STOPS) -> Bounded:
    """``start()``'s pieces within the caps, ending by ``deadline_seconds`` from now whatever the server does."""
    return Bounded(start, max_tokens=max_tokens, max_chars=max_chars,
                   deadline=time.monotonic() + deadline_seconds, stops=stops)


def _first_stop(text: str, stops) -> int | None:
    found = [i for i in (text.find(s) for s in stops) if i >= 0]
    return min(found) if found else None


def _partial_stop_tail(text: str, stops, keep: int) -> str:
    """The longest end of ``text`` that begins some stop sequence (held back until the next piece)."""
    for n in range(min(keep, len(text)), 0, -1):
        tail = text[-n:]
        if any(s.startswith(tail) for s in stops):
            return tail
    return ""


_DONE = object()


def _within(start: Callable[[], Iterator[str]], deadline: float, state: Bounded) -> Iterator[str]:
    """Run the stream in a worker thread so a silent or endless server cannot hold the caller past ``deadline``.

    At the deadline the caller gets what arrived so far; the worker hangs up on the server as soon as the
    next piece (or its read timeout) comes, and never blocks anyone meanwhile.
    """
    pieces: queue.Queue = queue.Queue(maxsize=256)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                pieces.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        stream = None
        try:
            stream = start()
            for piece in stream:
                if stop.is_set() or (piece and not put(piece)):
                    break
        except BaseException as e:  # surfaced to the caller, never lost in the thread
            put(e)
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                try:
                    close()  # hanging up stops the generation on the server
                except Exception:
                    pass
            put(_DONE)

    thread = threading.Thread(target=work, name="llm-stream", daemon=True)
    thread.start()
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                state.reason = DEADLINE
                return
            try:
                item = pieces.get(timeout=remaining)
            except queue.Empty:
                state.reason = DEADLINE
                return
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                if isinstance(item, LLMUnavailable):
                    raise item
                raise LLMUnavailable(
                    f"大模型服务返回了无法处理的数据（{type(item).__name__}）。请确认服务正常后重试，或改用 extractive 后端。"
                ) from None
            yield item
    finally:
        stop.set()
