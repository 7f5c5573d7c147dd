"""What the page's buttons do: ask a question, upload, list and delete documents, list models."""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from rag import delete_document, ensure_index, list_documents, stream_answer, warm_up
from rag.errors import IndexBusyError, LLMUnavailable, QuestionError, RagError
from rag.settings import Settings
from rag.types import Answer
from ui import render, worker

# Index writes run in a child process (ui.worker): the full embedding model never stays in the page's memory.
ingest = worker.ingest

log = logging.getLogger(__name__)

Message = dict  # {"role": "user" | "assistant", "content": ...}
Progress = Callable[[float, str], None]


def warn(message: str) -> None:
    """A toast in the page (outside a page event: a Python warning)."""
    import gradio as gr

    gr.Warning(message, title="提示")


def _unchanged() -> dict:
    """Gradio's "leave this output as it is" (``gr.skip()``), without importing Gradio here."""
    return {"__type__": "update"}


def error_text(exc: Exception) -> str:
    """A friendly Chinese line for an error (secrets masked); the stack trace stays in the server log."""
    from rag.llm.redact import redact

    return redact(_error_text(exc))


def _error_text(exc: Exception) -> str:
    if isinstance(exc, LLMUnavailable):
        return f"大模型暂时不可用：{exc}\n可以在右侧把「回答方式」换成「抽取式」后再问一次。"
    if isinstance(exc, QuestionError):
        return f"这个问题无法处理：{exc}"
    if isinstance(exc, IndexBusyError):
        return "知识库正在更新，请稍后再试。"
    if isinstance(exc, RagError):
        return f"出错了：{exc}"
    log.error("unexpected error", exc_info=exc)
    return "抱歉，系统出了意外错误，详情已记录在服务器日志中。"


def model_backend(backend: str | None, settings: Settings) -> str | None:
    """Which server the model box picks for: ``openai`` (also under ``auto`` once configured), ``ollama``, or None."""
    from rag.llm import openai_configured

    backend = backend or settings.backend
    if backend == "openai" or (backend == "auto" and openai_configured(settings)):
        return "openai"
    return "ollama" if backend in ("auto", "ollama") else None


def chosen_model(backend: str | None, model: str | None, settings: Settings) -> str:
    """The model the box names, else the configured one of the server it picks for."""
    default = settings.openai_model if model_backend(backend, settings) == "openai" else settings.ollama_model
    return (model or "").strip() or default


def answer_options(backend: str | None, model: str | None, settings: Settings) -> dict:
    """Keyword arguments for ``stream_answer``: the backend and the settings carrying the chosen model."""
    field = "openai_model" if model_backend(backend, settings) == "openai" else "ollama_model"
    return {"backend": backend or None, "settings": _with_model(settings, field, chosen_model(backend, model, settings))}


_model_settings: dict[tuple[int, str, str], Settings] = {}


def _with_model(settings: Settings, field: str, model: str) -> Settings:
    # One copy per model, reused: the library caches its retriever per settings object.
    if model == getattr(settings, field):
        return settings
    key = (id(settings), field, model)
    if key not in _model_settings:
        if len(_model_settings) >= 16:  # names are free text: keep the cache small
            _model_settings.clear()
        _model_settings[key] = settings.model_copy(update={field: model})
    return _model_settings[key]


def ask(
    question: str,
    chat: list[Message] | None,
    history: list[Message] | None,
    backend: str | None,
    model: str | None,
    *,
    settings: Settings,
    notes_seen: set[str] | None = None,
) -> Iterator[tuple]:
    """Answer one chat turn; yields ``(chat, history, status)`` as the answer streams in.

    ``notes_seen``: the session's notes (``render.SESSION_NOTES``) already shown; they are not
    repeated, and the ones this answer shows are added to the set.
    """
    question = (question or "").strip()
    chat, history = list(chat or []), list(history or [])
    if not question:
        warn("请先输入问题，例如：2024年形成了多少份协商报告？")
        yield chat, history, _unchanged()
        return
    turn = sum(1 for m in chat if m.get("role") == "assistant") + 1
    shown = render.format_question(question)  # the chat renders Markdown and HTML; a question is plain text
    chat += [{"role": "user", "content": shown}, {"role": "assistant", "content": _waiting()}]
    yield chat, history, "正在查找资料、组织回答…"
    answer, streamed = None, ""
    try:
        for piece in stream_answer(question, history, **answer_options(backend, model, settings)):
            if isinstance(piece, Answer):
                answer = piece
                break
            streamed += piece
            chat = _replace_last(chat, render.format_streaming(streamed))
            yield chat, history, "正在生成回答…"
    except Exception as exc:  # every failure becomes a line in the chat, never a traceback
        chat = _replace_last(chat, render.format_error(error_text(exc)))
        yield chat, history, "上一个问题没有回答成功。"
        return
    if answer is None:
        chat = _replace_last(chat, render.format_error(error_text(RagError("没有得到回答。"))))
        yield chat, history, "上一个问题没有回答成功。"
        return
    model = chosen_model(backend, model, settings)
    seen = notes_seen if notes_seen is not None else set()
    notes = [] if SKIPPED_SERVER in seen else _skipped_server(answer, backend, settings)
    hide = seen | (render.SESSION_NOTES if notes else set())  # it says why no model answered, more exactly
    chat = _replace_last(chat, render.format_answer(answer, turn, model, hide=hide, notes=notes))
    seen.update(render.SESSION_NOTES.intersection(answer.flags))
    if notes:
        seen.add(SKIPPED_SERVER)
    history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.text}]
    yield chat, history, render.format_status(answer, model)


SKIPPED_SERVER = "skipped-openai-server"  # in notes_seen: the note below was shown in this session


def _skipped_server(answer: Answer, backend: str | None, settings: Settings) -> list[str]:
    """The note for an ``auto`` answer given without the configured OpenAI-compatible server (none otherwise)."""
    from rag.llm.openai import skipped_server_note

    note = skipped_server_note(settings, backend, answer.backend, answer.flags)
    return [f"{note}请检查 RAG_OPENAI_BASE_URL 和该服务；在右侧「回答方式」选「OpenAI 兼容服务」再问一次，可以看到具体原因。"
            ] if note else []


def _replace_last(chat: list[Message], content: str) -> list[Message]:
    # A new list each time: every yielded state stays as it was when it was shown.
    return [*chat[:-1], {"role": "assistant", "content": content}]


def _waiting() -> str:
    return '<span class="rag-waiting">正在查找资料、组织回答…</span>'


def mark_stopped(chat: list[Message] | None) -> list[Message]:
    """After the user pressed stop: keep what was written so far and say that it was stopped."""
    chat = list(chat or [])
    if chat and chat[-1].get("role") == "assistant":
        text = message_text(chat[-1])
        if "rag-waiting" in text or "rag-cursor" in text:
            if "rag-cursor" in text:  # the mark takes the cursor's place, inside the answer's block
                chat = _replace_last(chat, text.replace(render.CURSOR, render.format_stopped()))
            else:
                chat = _replace_last(chat, render.format_stopped())
    return chat


def message_text(message: Message) -> str:
    """The text of a chat message, whether its content is a string or Gradio's list of parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    parts = content if isinstance(content, list) else [content]
    return "".join(p.get("text", "") for p in parts if isinstance(p, dict))


def prepare_index(settings: Settings) -> None:
    """Build the index from the sample corpus on first start (in a child process), then load the query path,
    saying what it does at each step, so the page opens with something to ask."""
    from rag.index import freshness
    from rag.index.stores import open_store

    try:
        missing = not open_store(settings).holds_index()
    except RagError:
        missing = True  # ensure_index names the problem and its fix
    stale = None if missing else freshness.stale_kind(settings)  # made by an older text pipeline
    if missing or stale == freshness.SAMPLE:
        print("首次启动：正在从示例文档建立索引（约需半分钟，只有这一次）…" if missing else freshness.REFRESHING, flush=True)
        try:
            report = worker.ensure_index(settings, progress=_print_progress)
        except RagError as exc:  # the page still opens; a damaged index is named with its fix on every question
            print(f"\n{exc}", flush=True)
            log.warning("index not ready: %s", exc)
            return
        if report is not None and missing:
            print(f"\n已从示例文档建立索引：{len(report.added)} 篇文档，{report.total_chunks} 个文本块。", flush=True)
        elif report is not None:
            print(f"\n已按新版重新处理示例文档：{len(report.refreshed)} 篇，{report.total_chunks} 个文本块。", flush=True)
    elif stale == freshness.OWN:
        ensure_index(settings, notify=lambda line: print(line, flush=True))  # the line naming the fix, once
    print("正在加载嵌入模型和索引…", flush=True)
    try:
        warm_up(settings)  # the model and tokenizers load now, not on the first user's question
    except RagError as exc:  # e.g. an index built with another model: the page says so when asked
        log.warning("could not warm up: %s", exc)


def _print_progress(fraction: float, message: str) -> None:
    print(f"\r  {fraction:4.0%} {message[:40]:<40}", end="", flush=True)


def documents_view(settings: Settings) -> tuple[list[list], list[str], str]:
    """The documents table rows, the names for the delete picker, and the one-line summary."""
    try:
        documents = list_documents(settings=settings)
    except RagError as exc:  # e.g. a damaged index: the summary line says what is wrong and the fix
        return [], [], render.escape_md(str(exc))
    return render.documents_rows(documents), [d.source for d in documents], render.format_index_summary(documents)


def handle_upload(
    files: Sequence[str] | None, *, settings: Settings, progress: Progress | None = None
) -> tuple[str, list[list]]:
    """Copy uploaded files into the uploads folder and index them; rejected files change nothing."""
    paths = [Path(f) for f in files or []]
    if not paths:
        return "请选择要上传的文件。", documents_view(settings)[0]
    staged = _stage(paths, Path(settings.uploads_dir))
    try:
        report = ingest([target for target, _ in staged], settings=settings, progress=progress)
    except Exception as exc:  # nothing was added: put the uploads folder back as it was
        unstage(staged, {target.name for target, _ in staged})
        message = error_text(exc)
        warn(message)
        return render.format_error(message), documents_view(settings)[0]
    unstage(staged, {name for name, _ in report.skipped})
    if report.skipped:
        warn("；".join(f"{name} 未添加：{reason}" for name, reason in report.skipped))
    return render.format_report(report), documents_view(settings)[0]


def _stage(paths: Sequence[Path], uploads: Path) -> list[tuple[Path, Path | None]]:
    """Copy each upload under its own name, keeping a backup of any file it replaces."""
    uploads.mkdir(parents=True, exist_ok=True)
    staged = []
    for path in paths:
        target = uploads / Path(path.name).name
        backup = None
        if target.exists():
            backup = Path(tempfile.mkdtemp(prefix="rag-upload-")) / target.name
            shutil.copy2(target, backup)
        shutil.copyfile(path, target)
        staged.append((target, backup))
    return staged


def unstage(staged: Sequence[tuple[Path, Path | None]], rejected: set[str]) -> None:
    """Put back what a rejected upload replaced (or remove it), and drop the backups (the page's and the API's)."""
    for target, backup in staged:
        if target.name in rejected:
            if backup is not None:
                shutil.copy2(backup, target)
            else:
                target.unlink(missing_ok=True)
        if backup is not None:
            shutil.rmtree(backup.parent, ignore_errors=True)


def handle_delete(source: str | None, *, settings: Settings) -> tuple[str, list[list]]:
    """Remove one document from the index, and its uploaded copy if it came through this page."""
    if not source:
        return "请先在列表中选择要删除的文档。", documents_view(settings)[0]
    try:
        removed = delete_document(source, settings=settings)
    except Exception as exc:
        return render.format_error(error_text(exc)), documents_view(settings)[0]
    _remove_upload_copy(removed, Path(settings.uploads_dir))
    name = render.escape_md(source)
    message = f"已删除 **{name}**。" if removed else f"知识库中没有 **{name}**，无需删除。"
    return message, documents_view(settings)[0]


def _remove_upload_copy(removed, uploads: Path) -> None:
    """Delete the removed document's own file when it is a copy in the uploads folder (never a namesake)."""
    path = Path(getattr(removed, "path", "") or "")
    if path.name and path.parent == uploads.resolve():
        path.unlink(missing_ok=True)


def list_models(settings: Settings, backend: str | None = None) -> list[str]:
    """The models of the server the model box picks for (Ollama's, or ``/v1/models``), the configured one first.

    Just the configured model when the server is down: a missing server must never break the page.
    """
    return _default_first(chosen_model(backend, None, settings), server_models(settings, backend))


def _default_first(default: str, models: list[str]) -> list[str]:
    return [m for m in [default, *(m for m in models if m != default)] if m]


def server_models(settings: Settings, backend: str | None = None) -> list[str]:
    """The models the server the model box picks for lists: none when it is down (or has no model yet)."""
    kind = model_backend(backend, settings) or "ollama"
    try:
        from rag.llm import OllamaLLM, OpenAILLM

        return list((OpenAILLM if kind == "openai" else OllamaLLM)(settings).list_models())
    except Exception:
        log.info("could not list %s models", kind, exc_info=True)
        return []


def model_box(backend: str | None, settings: Settings) -> tuple[str | None, list[str], str]:
    """What the side panel shows for ``backend``: the model box's server (None: no box), its models, and a note.

    ``auto`` with no server answering offers no model to choose, only a note saying how it will answer;
    a server chosen by name keeps its box (a model name can still be typed) with a note on starting it.
    """
    kind = model_backend(backend, settings)
    if kind is None:
        return None, [], ""
    found = server_models(settings, backend)
    if found:
        return kind, _default_first(chosen_model(backend, None, settings), found), ""
    if kind == "openai":
        url = settings.openai_base_url.strip()
        note = f"已配置的 OpenAI 兼容服务（{url}）连不上，或没有列出任何模型。"
        note += "「自动选择」会改用 Ollama 或直接从原文摘录作答；" if backend == "auto" else ""
        note += "请检查 RAG_OPENAI_BASE_URL，并确认该服务正在运行。"
    elif backend == "auto":
        note = ("没有找到可用的 Ollama 服务（没有运行，或还没有拉取模型），「自动选择」会直接从原文摘录作答。"
                f"想用大模型回答：安装 Ollama 后运行 `ollama serve` 和 `ollama pull {settings.ollama_model}`，再刷新本页。")
    else:
        note = (f"没有从 Ollama 服务（{settings.ollama_host}）取得模型：请先运行 `ollama serve` "
                f"和 `ollama pull {settings.ollama_model}`，或换一种回答方式。")
    return (None if backend == "auto" else kind), [chosen_model(backend, None, settings)], note
