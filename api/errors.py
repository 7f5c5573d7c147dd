"""Every failure of the API as an OpenAI-style JSON error object with a Chinese message.

``{"error": {"message", "type", "param", "code"}}``: the shape the ``openai`` client and the chat
front-ends parse. The message says what went wrong and how to fix it; it never carries a traceback,
and every text that could hold server output is masked by ``rag.llm.redact`` first.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from rag.errors import DocumentError, IndexBusyError, LLMUnavailable, QuestionError, RagError
from rag.llm.redact import redact

log = logging.getLogger(__name__)

# OpenAI's error types, by HTTP status
TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
         404: "not_found_error", 405: "invalid_request_error", 413: "invalid_request_error",
         500: "server_error", 503: "server_error"}
INTERNAL = "服务器内部错误，详情已记录在服务器日志中；请稍后重试。"
BUSY_RETRY_SECONDS = 2
MAX_SHOWN = 100  # a path or name repeated in a message is cut to this many characters


class ApiError(Exception):
    """An error the API answers with: HTTP status, Chinese message, and OpenAI's ``code`` / ``param``."""

    def __init__(self, status: int, message: str, *, code: str | None = None, param: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.param = status, message, code, param
        self.headers = headers or {}

    def body(self) -> dict:
        """The JSON body: ``{"error": {...}}``."""
        return error_body(self.status, self.message, code=self.code, param=self.param)

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def error_body(status: int, message: str, *, code: str | None = None, param: str | None = None) -> dict:
    """An OpenAI-style error object (the message masked of anything shaped like a secret)."""
    return {"error": {"message": redact(message), "type": TYPES.get(status, "server_error"),
                      "param": param, "code": code}}


def from_exception(exc: BaseException) -> ApiError:
    """The API error for anything raised while answering or indexing; unexpected ones are logged, not shown."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, QuestionError):
        return ApiError(400, f"这个问题无法处理：{exc}", code="invalid_question", param="messages")
    if isinstance(exc, DocumentError):
        return ApiError(400, str(exc), code="invalid_document")
    if isinstance(exc, LLMUnavailable):
        return ApiError(503, f"大模型暂时不可用：{exc}（也可以改用模型 rag-extractive：不用大模型，直接从原文摘录作答。）",
                        code="backend_unavailable")
    if isinstance(exc, IndexBusyError):
        return ApiError(503, "知识库正在更新，请稍后再试。", code="index_busy",
                        headers={"Retry-After": str(BUSY_RETRY_SECONDS)})
    if isinstance(exc, RagError):  # a damaged or mismatched index, a bad setting: the message names the fix
        return ApiError(503, f"服务暂时无法回答：{exc}", code="service_unavailable")
    log.error("unexpected error in the API", exc_info=exc)
    return ApiError(500, INTERNAL, code="internal_error")


# --- request validation: pydantic's findings in Chinese, without echoing what was sent ---

_EXPECTED = {
    "missing": "缺少这个字段",
    "string_type": "应为字符串",
    "list_type": "应为数组",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "too_short": "至少需要 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "string_too_long": "最多 {max_length} 个字符",
    "json_invalid": "不是有效的 JSON",
    "literal_error": "可选值：{expected}",
    "union_tag_invalid": "类型不对",
}


def validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    """One Chinese line for the first problem of a request that does not fit the schema, and the field."""
    errors = exc.errors()
    if not errors:
        return "请求格式有误。", None
    first = errors[0]
    loc = [str(part) for part in first.get("loc", ()) if part not in _NOT_FIELDS and "[" not in str(part)]
    field = "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in loc).lstrip(".") or None
    if first.get("type") == "json_invalid":
        return "请求体不是有效的 JSON；请检查引号、逗号和括号，并使用 UTF-8 编码。", None
    reason = _EXPECTED.get(first.get("type", ""), "值无效").format_map(_Context(first.get("ctx") or {}))
    where = f"字段 {field[:MAX_SHOWN]} " if field else ""
    return f"请求格式有误：{where}{reason}。请对照 /api/openapi.json 里的接口说明修改请求。", field


# where a value was sent, and the names pydantic gives the branches of a union (``str``, ``list[...]``)
_NOT_FIELDS = {"body", "query", "path", "header", "str", "int", "float", "bool", "none"}


class _Context(dict):
    def __missing__(self, key: str) -> str:
        return "?"


def install(app: FastAPI) -> None:
    """Route every exception the app can raise to a JSON error object."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        message, field = validation_message(exc)
        return ApiError(400, message, code="invalid_request", param=field).response()

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        # FastAPI's own: an unreadable body (400); routing is answered by the catch-all routes
        status = exc.status_code if exc.status_code in TYPES else 400
        message = "请求体无法解析；请检查 Content-Type 与请求内容是否一致。" if status == 400 else INTERNAL
        return ApiError(status, message, code="invalid_request" if status == 400 else None,
                        headers=dict(exc.headers or {})).response()

    @app.exception_handler(RagError)
    async def _library(request: Request, exc: RagError) -> JSONResponse:
        return from_exception(exc).response()

    @app.exception_handler(Exception)  # a bug: logged here, and a generic line for the client
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return from_exception(exc).response()
