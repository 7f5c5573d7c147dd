"""A model's reply, vetted: plain text, valid markers, only complete and supported sentences, and why it was cut.

``clean`` runs first (before the abstention and empty-answer checks), ``supported`` after the missing markers
are added; the numbers, figures and people are then checked by the pipeline as for any answer.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace
from typing import Sequence

from rag.answering import support
from rag.answering.citations import add_missing_markers, keep_valid_markers, strip_markers
from rag.answering.plaintext import changed, plain
from rag.llm.bounds import DEADLINE, STOP_SEQUENCE, Bounded, bounded
from rag.settings import Settings
from rag.types import Answer, Passage

log = logging.getLogger(__name__)

# The last complete sentence of a reply cut short (its markers included).
_COMPLETE = re.compile(r"^.*[。！？!?；;](?:[ \t]*\[\d+\])*", re.S)


@dataclass
class Vetted:
    """The reply's checked text, its flags, a note for the reader, and what to do with it.

    ``abstained``: the model said the documents do not tell; ``why``: the flag for answering by extraction
    instead (None: the text stands, pending the pipeline's checks of numbers, figures and people).
    """

    text: str
    flags: list[str] = field(default_factory=list)
    note: str = ""
    abstained: bool = False
    why: str | None = None

    def noted(self, answer: Answer) -> Answer:
        """``answer`` with the note saying why it is partial or extracted (unchanged without one)."""
        return replace(answer, text=f"{answer.text}{self.note}") if self.note else answer


def bounded_chat(llm, messages: list[dict], settings: Settings, max_tokens: int | None = None) -> Bounded:
    """The model's reply to ``messages`` within the settings' token and character caps and deadline
    (``max_tokens`` given: a short reply such as a rewritten question, greedy)."""
    tokens = max_tokens or settings.llm_max_tokens
    temperature = settings.llm_temperature if max_tokens is None else 0.0
    return bounded(lambda: llm.chat(messages, max_tokens=tokens, temperature=temperature),
                   max_tokens=tokens, max_chars=settings.llm_max_chars, deadline_seconds=settings.llm_deadline)


def vet(stream: Bounded, passages: Sequence[Passage], deadline: float, echoed_header: re.Pattern,
        abstain: re.Pattern) -> Vetted:
    """Everything the pipeline needs to know about a finished (or cut) reply before checking its numbers."""
    text, flags = clean(stream.text, len(passages), echoed_header)
    cut, note = cut_note(stream.reason, deadline)
    flags += cut
    if abstain.search(text):
        return Vetted(text, flags, note, abstained=True)
    if len(re.findall(r"\w", strip_markers(text))) < 2:
        # a small model may only echo the prompt's passage headers: nothing to verify, so extract
        return Vetted(text, flags, note, why="empty-llm-answer")
    checked = supported(add_missing_markers(text, passages), passages, stream.reason)
    flags += checked.flags
    if checked.text is None:
        return Vetted(text, flags, note, why="unsupported-claim" if "unsupported-claim" in flags else "llm-truncated")
    return Vetted(checked.text, flags, note)


def clean(raw: str, n_passages: int, echoed_header: re.Pattern) -> tuple[str, list[str]]:
    """The reply without markup, template tokens, echoed passage headers or markers pointing nowhere."""
    text = plain(raw)
    flags = ["llm-markup-removed"] if changed(raw, text) else []
    return keep_valid_markers(echoed_header.sub("", text).strip(), n_passages), flags


def cut_note(reason: str | None, deadline: float) -> tuple[list[str], str]:
    """Flags and a one-line note for a reply that did not end by itself."""
    if reason == DEADLINE:
        return ["llm-deadline"], (f"（大模型没有在 {deadline:g} 秒内答完，只保留了核对过的部分；"
                                  "可调大 RAG_LLM_DEADLINE 或换用更快的模型。）")
    if reason in (None, STOP_SEQUENCE):
        return [], ""
    return ["llm-truncated"], ""  # the caps: the reader sees the answer end; the flag says why


@dataclass
class _Checked:
    text: str | None
    flags: list[str]


def supported(text: str, passages: Sequence[Passage], reason: str | None) -> _Checked:
    """Drop an unfinished last sentence of a cut reply, then every sentence its cited passage does not support."""
    if reason not in (None, STOP_SEQUENCE):
        whole = _COMPLETE.match(text)
        text = whole.group(0) if whole else ""
        if not text:
            return _Checked(None, [])
    result = support.check(text, passages)
    flags = []
    if result.dropped:
        flags.append("unsupported-claim")
        for sentence, why in result.dropped:
            log.info("dropped an unsupported sentence (%s): %s", why, sentence[:200])
    if not support.content_tokens(result.text) or _only_connectives(result):
        return _Checked(None, flags)
    return _Checked(result.text, flags)


def _only_connectives(result: support.Support) -> bool:
    """Every sentence that said something was dropped: what is left ("是的。") answers nothing."""
    return bool(result.dropped) and all(len(support.content_tokens(s)) < support.MIN_CONTENT for s in result.kept)
