"""Turn answers, reports and document lists into the HTML and Markdown the page shows (pure, no Gradio)."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterable, Sequence

from rag.types import Answer, Citation, Passage

BACKEND_LABELS = {
    "auto": "自动选择",
    "ollama": "Ollama",
    "openai": "OpenAI 兼容服务",
    "llamacpp": "llama.cpp（本地小模型）",
    "extractive": "抽取式（不用大模型）",
}

# Flags the library sets on an answer, as a reader should see them ("" = the answer text says it already).
FLAG_NOTES = {
    "auto-extractive": "没有就绪的大模型服务（Ollama 或已配置的 OpenAI 兼容服务），本次直接从原文摘录作答。",
    "fallback-extractive": "大模型的回答未能通过原文核对，已改为直接从原文摘录作答。",
    "unsupported-number": "答案中有数字未能在引用段落中找到，请核对原文。",
    "unsupported-claim": "大模型回答中有句子在所引段落里找不到依据，已删去。",
    "llm-truncated": "大模型的回答超过长度上限，已截断，只保留完整且核对过的句子。",
    "llm-markup-removed": "大模型的回答里有图片、链接或网页代码，已去掉，只显示文字。",
    "llm-deadline": "",
    "evidence-gap": "",
    "no-evidence": "",
}
# A note made redundant by another one on the same answer.
_IMPLIED = {"unsupported-number": "fallback-extractive", "unsupported-claim": "fallback-extractive"}
# Notes about the session rather than about one answer: a reader needs them once, under the first answer.
SESSION_NOTES = frozenset({"auto-extractive"})
# What kind of answer it was, for the side panel (the first flag found); other flags are for developers only.
STATUS_NOTES = (
    ("other-year", "文档里没有所问年份的这个数字，回答给出的是另一年份的，供参考。"),
    ("near-miss", "文档里没有所问的那个数字，回答给出的是最接近的相关数字，供参考。"),
    ("several-facts", "问题里问了几件事，已分别查找，各自标注出处。"),
    ("evidence-gap", "资料里没有找到能回答这个问题的内容。"),
    ("no-evidence", "资料里没有找到能回答这个问题的内容。"),
)

_MARKER = re.compile(r"\[(\d+)\]")


def source_anchor(turn: int, index: int) -> str:
    """The element id of source ``[index]`` under answer number ``turn`` (unique on the page)."""
    return f"rag-src-{turn}-{index}"


def backend_label(backend: str, model: str = "") -> str:
    """A reader-friendly name for the backend that answered, with the served model when known."""
    label = BACKEND_LABELS.get(backend, backend or "未知")
    return f"{label} · {model}" if model and backend in ("ollama", "openai") else label


def format_seconds(seconds: float) -> str:
    """Seconds for a person: ``0.12 秒``, ``3.4 秒``, ``85 秒``."""
    # A no-break space keeps the number and its unit on one line in the narrow side panel.
    if seconds < 1:
        return f"{seconds:.2f}\u00a0秒"
    return f"{seconds:.1f}\u00a0秒" if seconds < 10 else f"{seconds:.0f}\u00a0秒"


def format_timings(answer: Answer) -> str:
    """``检索 0.12 秒 · 生成 3.4 秒`` from ``answer.timings`` (missing parts are left out)."""
    names = (("retrieval", "检索"), ("generation", "生成"))
    parts = [f"{label}\u00a0{format_seconds(answer.timings[key])}" for key, label in names if key in answer.timings]
    return " · ".join(parts)


CURSOR = '<span class="rag-cursor"></span>'


def answer_block(inner_html: str) -> str:
    """An answer's text as one HTML block: Markdown is not parsed inside it, so a model's ``![x](url)``,
    ``[a](url)`` or bare address stays text (the page fetches and links nothing a model wrote)."""
    return f'<div class="rag-answer">{inner_html}</div>'


def text_html(text: str) -> str:
    """Plain text as HTML: escaped, line breaks kept (a blank line would end the answer's HTML block)."""
    return html.escape(text, quote=False).replace("\r", "").replace("\n", "<br>")


def link_markers(text: str, cited: Iterable[int], turn: int) -> str:
    """Escape ``text`` and turn each cited marker ``[n]`` into a link to its source block."""
    cited = set(cited)

    def link(match: re.Match[str]) -> str:
        index = int(match.group(1))
        if index not in cited:
            return match.group(0)
        return f'<a class="rag-cite" href="#{source_anchor(turn, index)}" title="查看来源 [{index}]">[{index}]</a>'

    return _MARKER.sub(link, text_html(text))


def highlight(text: str, quote: str) -> str:
    """Escaped ``text`` with the first occurrence of ``quote`` wrapped in ``<mark>``, line breaks kept."""
    start = text.find(quote) if quote else -1
    if start < 0:
        return _html_lines(text)
    end = start + len(quote)
    return _html_lines(text[:start]) + "<mark>" + _html_lines(quote) + "</mark>" + _html_lines(text[end:])


def _html_lines(text: str) -> str:
    # No raw newlines: a blank line would end the Markdown HTML block and break the card.
    return re.sub(r"\s*\n\s*", "<br>", html.escape(text))


def passage_for(citation: Citation, passages: Sequence[Passage]) -> Passage | None:
    """The retrieved passage a citation was taken from: same file, overlapping span (or same text)."""
    same_file = [p for p in passages if p.source == citation.source]
    for passage in same_file:
        if passage.chunk.start < citation.end and citation.start < passage.chunk.end:
            return passage
    return next((p for p in same_file if citation.text in p.text or p.text in citation.text), None)


def format_source(citation: Citation, passage: Passage | None, turn: int) -> str:
    """One source card: a ``<details>`` block labelled ``[n]`` with file, relevance rank, quote and full passage."""
    rank = ""
    if passage is not None:  # a rank a reader can use; the fused score itself means nothing to a reader
        rank = (
            f'<span class="rag-rank" title="为这个问题找到的段落按相关度排序，这一段排第 {passage.rank}">'
            f"相关度第 {passage.rank}</span>"
        )
    quote = citation.quote.strip()
    preview = f'<span class="rag-quote">{_html_lines(quote)}</span>' if quote else ""
    return (
        f'<details class="rag-source" id="{source_anchor(turn, citation.index)}">'
        f'<summary><span class="rag-head"><span class="rag-marker">[{citation.index}]</span>'
        f'<span class="rag-file">{html.escape(citation.source)}</span>{rank}</span>{preview}</summary>'
        f'<div class="rag-passage">{highlight(citation.text, quote)}</div></details>'
    )


def format_sources(answer: Answer, turn: int = 0) -> str:
    """The sources under an answer as one line of HTML (empty when nothing is cited)."""
    if not answer.citations:
        return ""
    cards = "".join(format_source(c, passage_for(c, answer.passages), turn) for c in answer.citations)
    title = f'<div class="rag-sources-title">引用来源 · {len(answer.citations)} 处（点开查看原文）</div>'
    return f'<div class="rag-sources">{title}{cards}</div>'


def format_meta(answer: Answer, model: str = "") -> str:
    """A muted line under an answer: who answered and how long it took."""
    parts = [backend_label(answer.backend, model)] if answer.backend else []
    timings = format_timings(answer)
    if timings:
        parts.append(timings)
    return f'<div class="rag-meta">{html.escape(" · ".join(parts))}</div>' if parts else ""


def format_notes(answer: Answer, hide: Iterable[str] = (), extra: Iterable[str] = ()) -> str:
    """Warnings the reader should see next to the answer: ``extra`` first, then known flags' (except ``hide``)."""
    flags, hide = set(answer.flags), set(hide)
    notes = dict.fromkeys([*extra, *(
        FLAG_NOTES[f]
        for f in answer.flags
        if FLAG_NOTES.get(f) and _IMPLIED.get(f) not in flags and f not in hide
    )])
    return "".join(f'<div class="rag-note">{html.escape(note)}</div>' for note in notes)


def format_answer(answer: Answer, turn: int = 0, model: str = "", hide: Iterable[str] = (),
                  notes: Iterable[str] = ()) -> str:
    """The whole chat message for a finished answer: text with linked markers, ``notes`` and the flags' notes
    (but ``hide``), sources, meta."""
    text = link_markers(answer.text.strip(), (c.index for c in answer.citations), turn)
    extras = format_notes(answer, hide, notes) + format_sources(answer, turn) + format_meta(answer, model)
    body = answer_block(text) if text else "（没有生成回答）"
    # The blank line separates the Markdown answer from the single-line HTML block after it.
    return f"{body}\n\n{extras}" if extras else body


def format_question(question: str) -> str:
    """A question as the chat shows it: markup and Markdown appear exactly as typed, never rendered."""
    return escape_md(question)


def format_streaming(text: str) -> str:
    """A half-written answer while it streams (plain text, like the finished one), with a blinking cursor."""
    return answer_block(text_html(text) + CURSOR)


def format_stopped() -> str:
    """The mark left on an answer the user stopped."""
    return '<span class="rag-stopped">（已停止生成）</span>'


def format_error(message: str) -> str:
    """An error line in the chat."""
    return f'<div class="rag-error">{_html_lines(message)}</div>'


def format_status(answer: Answer, model: str = "") -> str:
    """Markdown for the side panel: backend, timings, and how a follow-up question was understood."""
    lines = [f"**回答方式：** {backend_label(answer.backend, model)}"]
    for key, label in (("retrieval", "检索用时"), ("generation", "生成用时")):
        if key in answer.timings:
            lines.append(f"**{label}：** {format_seconds(answer.timings[key])}")
    standalone = answer.standalone_question.strip()
    if standalone and standalone != answer.question.strip():
        lines.append(f"**检索时理解为：** {escape_md(standalone)}")
    said = next((note for flag, note in STATUS_NOTES if flag in answer.flags), None)
    if said:
        lines.append(f"**说明：** {said}")
    return "\n\n".join(lines)


def escape_md(text: str) -> str:
    """Text that Markdown shows as-is (no emphasis, links or HTML)."""
    return html.escape(re.sub(r"([\\`*_\[\]#|])", r"\\\1", text), quote=False)


DOCUMENT_HEADERS = ["文件名", "文本块", "字数", "导入时间"]


def documents_rows(documents: Iterable) -> list[list]:
    """Rows for the documents table: name, chunks, characters, when it was ingested."""
    return [[d.source, d.chunks, d.chars, _when(getattr(d, "ingested_at", None))] for d in documents]


def _when(timestamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp)) if timestamp else ""


def format_index_summary(documents: Sequence) -> str:
    """One line about the knowledge base, e.g. ``知识库：2 篇文档 · 44 个文本块``."""
    if not documents:
        return "知识库还是空的，请先在「文档管理」页上传文件。"
    chunks = sum(d.chunks for d in documents)
    stale = sum(getattr(d, "stale", False) for d in documents)  # made by an older text pipeline
    note = f" · 其中 {stale} 篇由旧版本处理，重新导入原文件即可按新版处理" if stale else ""
    return f"知识库：{len(documents)} 篇文档 · {chunks} 个文本块{note}"


_OUTCOMES = (
    ("added", "rag-ok", "已添加"),
    ("updated", "rag-ok", "已更新"),
    ("unchanged", "rag-same", "内容未变"),
    ("removed", "rag-same", "已移除"),
)


def format_report(report) -> str:
    """What an ingest did, one line per outcome, rejected files first (HTML inside Markdown)."""
    lines = [_outcome("rag-bad", "未添加", f"{name}：{reason}") for name, reason in report.skipped]
    for field, css, label in _OUTCOMES:
        names = getattr(report, field)
        if names:
            lines.append(_outcome(css, label, "、".join(names)))
    if report.added or report.updated:
        total = getattr(report, "total_chunks", 0)
        summary = f"本次处理 {report.chunks} 个文本块" + (f"，知识库共 {total} 个" if total else "")
        lines.append(f'<div class="rag-outcome">{summary}，用时 {format_seconds(report.seconds)}。</div>')
    return "".join(lines) or '<div class="rag-outcome">没有需要处理的文件。</div>'


def _outcome(css: str, label: str, text: str) -> str:
    return f'<div class="rag-outcome"><span class="rag-tag {css}">{label}</span>{html.escape(text)}</div>'
