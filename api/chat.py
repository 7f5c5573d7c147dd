"""``POST /v1/chat/completions`` and ``GET /v1/models``: the RAG's answers in OpenAI's format.

The last user message is the question; the user and assistant messages before it are the history
that follow-ups are rewritten from (as on the page); system messages never change the answer.
Text keeps its ``[n]`` markers, and ``citations`` / ``abstained`` / ``backend`` ride along.

Streaming sends only verified text. An LLM's raw reply can still change (a number it cannot back
is replaced by the extractive answer, a marker to a passage it was never given is dropped), so the
stream opens with the assistant's role at once, keeps the connection alive with SSE comments while
the answer is written and checked, then sends the checked text sentence by sentence and, last, the
citations.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from api import schemas
from api.errors import ApiError, error_body, from_exception
from api.runner import ANSWER, ERROR, AnswerRun
from rag.llm import BACKEND_NAMES
from rag.question.analysis import validate
from rag.types import Answer

router = APIRouter(tags=["chat"])
PREFIX = "rag"
KEEPALIVE_SECONDS = 5.0  # an SSE comment this often while the answer is written: proxies keep the line open
DISCONNECT_POLL_SECONDS = 1.0
_PIECE = re.compile(r"[^。！？!?；;\n]*(?:[。！？!?；;\n]+|$)")


def model_ids() -> dict[str, str]:
    """Model id → backend: ``rag`` is ``auto``, ``rag-<name>`` each other backend."""
    return {(PREFIX if name == "auto" else f"{PREFIX}-{name}"): name for name in BACKEND_NAMES}


def backend_for(model: str) -> str:
    ids = model_ids()
    if model not in ids:
        raise ApiError(404, f"没有模型 {model[:100]!r}；可用的模型：{'、'.join(ids)}（GET /v1/models 可列出）。",
                       code="model_not_found", param="model")
    return ids[model]


@router.get("/v1/models", response_model=schemas.ModelList, responses=schemas.ERRORS, summary="可用的模型（回答方式）")
async def list_models(request: Request) -> schemas.ModelList:
    created = request.app.state.started
    return schemas.ModelList(data=[schemas.ModelCard(id=m, created=created) for m in model_ids()])


@router.get("/v1/models/{model}", response_model=schemas.ModelCard, responses=schemas.ERRORS, summary="一个模型")
async def get_model(model: str, request: Request) -> schemas.ModelCard:
    backend_for(model)
    return schemas.ModelCard(id=model, created=request.app.state.started)


@router.post(
    "/v1/chat/completions",
    response_model=schemas.ChatCompletion,
    responses={**schemas.ERRORS, 200: {"description": "stream 为 false：一个 JSON；为 true：SSE，每个事件是一个 "
                                                     "ChatCompletionChunk，最后是 data: [DONE]",
                                      "content": {"text/event-stream": {}}}},
    summary="提问：按 OpenAI 的格式回答，带出处",
)
async def chat_completions(body: schemas.ChatRequest, request: Request):
    settings = request.app.state.settings
    backend = backend_for(body.model)
    question, history = conversation(body.messages)
    question = validate(question, settings.max_question_chars)
    head = {"id": f"chatcmpl-{uuid.uuid4().hex}", "created": int(time.time()), "model": body.model}
    run = request.app.state.answers.start(question, history, backend, settings)
    try:
        kind, value = await _next_event(run, request)  # the pipeline started: its backend and index are ready
        if kind == ERROR:
            raise from_exception(value)
        if body.stream:  # from here on the stream carries the rest, errors included
            return StreamingResponse(_events(run, (kind, value), head), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        while kind != ANSWER:
            kind, value = await _next_event(run, request)
            if kind == ERROR:
                raise from_exception(value)
    except BaseException:
        run.cancel()
        raise
    return completion(value, head)


def conversation(messages: list[schemas.ChatMessage]) -> tuple[str, list[dict]]:
    """The question (the last user message) and the user/assistant turns before it."""
    turns = [(m.role, text_of(m.content)) for m in messages if m.role in ("user", "assistant")]
    if not turns or turns[-1][0] != "user":
        raise ApiError(400, "最后一条消息应是用户的提问（role 为 user）。", code="invalid_request", param="messages")
    history = [{"role": role, "content": text} for role, text in turns[:-1] if text.strip()]
    return turns[-1][1], history


def text_of(content: str | list[schemas.ContentPart] | None) -> str:
    """A message's text: the string, or its text parts joined (images and other parts are not read)."""
    if isinstance(content, str):
        return content
    return "".join(part.text or "" for part in content or [] if part.type == "text")


async def _next_event(run: AnswerRun, request: Request) -> tuple[str, object]:
    """The run's next event; a client that hung up meanwhile cancels the run."""
    while True:
        try:
            return await run.next_event(DISCONNECT_POLL_SECONDS)
        except TimeoutError:
            if await request.is_disconnected():
                run.cancel()
                raise ApiError(400, "客户端已断开连接。", code="client_closed") from None


def answer_fields(answer: Answer) -> dict:
    citations = [schemas.Citation(index=c.index, source=c.source, start=c.start, end=c.end, quote=c.quote)
                 for c in answer.citations]
    return {"citations": citations, "abstained": answer.abstained, "backend": answer.backend}


def completion(answer: Answer, head: dict) -> schemas.ChatCompletion:
    message = schemas.AssistantMessage(content=answer.text)
    return schemas.ChatCompletion(**head, choices=[schemas.Choice(message=message)], **answer_fields(answer))


def pieces(text: str) -> list[str]:
    """The answer cut after each sentence's end (a marker like [12] is never split)."""
    return [p for p in _PIECE.findall(text) if p] or [text]


def _chunk(head: dict, delta: schemas.Delta, finish: str | None = None, extra: dict | None = None) -> str:
    chunk = schemas.ChatCompletionChunk(**head, choices=[schemas.ChunkChoice(delta=delta, finish_reason=finish)])
    payload = chunk.model_dump(exclude_none=True)
    payload["choices"][0].setdefault("finish_reason", None)
    if extra:
        payload.update(schemas.AnswerFields(**extra).model_dump())
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"


async def _events(run: AnswerRun, event: tuple[str, object], head: dict) -> AsyncIterator[str]:
    """The SSE stream: the role, keep-alives until the checked answer, its sentences, the citations, [DONE]."""
    try:
        yield _chunk(head, schemas.Delta(role="assistant", content=""))
        kind, value = event
        while kind != ANSWER:
            if kind == ERROR:  # the stream has begun: the error is an event the openai client raises
                error = from_exception(value)
                yield f"data: {json.dumps(error_body(error.status, error.message, code=error.code), ensure_ascii=False)}\n\n"
                return
            try:
                kind, value = await run.next_event(KEEPALIVE_SECONDS)
            except TimeoutError:
                yield ": 正在生成并核对回答\n\n"
        for piece in pieces(value.text):
            yield _chunk(head, schemas.Delta(content=piece))
        yield _chunk(head, schemas.Delta(), "stop", answer_fields(value))
        yield "data: [DONE]\n\n"
    finally:
        run.cancel()  # the client went away (or the answer is done): a running pipeline stops
