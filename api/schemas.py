"""The shapes of the API's requests and answers (they are also its OpenAPI schema).

The chat shapes are OpenAI's, plus three documented fields on the response and on the last stream
chunk: ``citations``, ``abstained`` and ``backend``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# --- chat ---


class ContentPart(BaseModel):
    """One part of a message's content; only ``text`` parts are read."""

    model_config = ConfigDict(extra="allow")
    type: str = "text"
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str = Field(description="user、assistant 或 system（system 消息不影响回答）")
    content: str | list[ContentPart] | None = None


class ChatRequest(BaseModel):
    """OpenAI's chat request; fields other than these (temperature, max_tokens, …) are accepted and ignored."""

    model_config = ConfigDict(extra="ignore")
    model: str = Field(description="回答方式：rag（auto：依次尝试已配置的 OpenAI 兼容服务、Ollama，都不可用时摘录作答）、rag-extractive、rag-ollama、rag-openai、rag-llamacpp")
    messages: list[ChatMessage] = Field(min_length=1, description="对话：最后一条是用户的提问，之前的用户与助手消息用于理解追问")
    stream: bool = Field(False, description="true：以 SSE（text/event-stream）按 OpenAI 的 chunk 格式发送")


class Citation(BaseModel):
    """What a marker ``[index]`` in the answer points at."""

    index: int = Field(description="回答中的标记 [index]")
    source: str = Field(description="文档名")
    start: int = Field(description="段落在清理后文档中的起始字符位置")
    end: int = Field(description="段落的结束字符位置（不含）")
    quote: str = Field(description="段落里支持这句回答的原句（可能为空）")


class AnswerFields(BaseModel):
    """What this API adds to OpenAI's response (and to the last stream chunk)."""

    citations: list[Citation] = Field(default_factory=list, description="回答里每个 [n] 指向的原文段落")
    abstained: bool = Field(False, description="true：文档里没有答案，回答说明了这一点（仍是正常回答）")
    backend: str = Field("", description="实际作答的后端：extractive、ollama、openai、llamacpp")


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str = Field(description="回答正文，保留 [n] 出处标记")


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop"] = "stop"


class ChatCompletion(AnswerFields):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]


class Delta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: Delta
    finish_reason: Literal["stop"] | None = None


class ChatCompletionChunk(BaseModel):
    """One SSE event; the last one (``finish_reason: "stop"``) also carries ``citations``, ``abstained``, ``backend``."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "rag"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


# --- errors ---


class ErrorDetail(BaseModel):
    message: str = Field(description="中文说明：出了什么问题、怎么解决")
    type: str
    param: str | None = None
    code: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


# --- documents ---


class DocumentCard(BaseModel):
    id: str = Field(description="文档 id（删除时用）")
    source: str = Field(description="文档名")
    chunks: int = Field(description="文本块数")
    chars: int = Field(description="清理后的字符数")
    sha256: str = Field(description="原文件的 sha256")
    ingested_at: float = Field(description="导入时间（Unix 秒）")


class DocumentList(BaseModel):
    object: Literal["list"] = "list"
    data: list[DocumentCard]


class Skipped(BaseModel):
    name: str
    reason: str


class UploadResult(BaseModel):
    added: list[str] = Field(description="新加入的文档")
    updated: list[str] = Field(description="内容有变、已重新导入的文档")
    unchanged: list[str] = Field(description="内容没变的文档")
    skipped: list[Skipped] = Field(description="没有导入的文件和原因（这些文件什么都没有改变）")
    data: list[DocumentCard] = Field(description="导入后知识库里的全部文档")


class Deleted(BaseModel):
    id: str
    source: str
    deleted: Literal[True] = True


ERRORS = {status: {"model": ErrorBody, "description": text} for status, text in (
    (400, "请求有误"), (401, "缺少或错误的 API 密钥"), (403, "来自其他网站的浏览器请求"),
    (413, "请求太大"), (503, "后端或知识库暂时不可用"),
)}
