"""``/api/documents``: list the indexed documents, upload files (multipart), delete one by id.

Uploads take the page's limits and checks: the whole request at most ``UPLOAD_CAP_FACTOR`` ×
``RAG_MAX_FILE_MB`` (``api.guard``), each file at most ``RAG_MAX_FILE_MB`` and of a supported type
(the ingest's checks, with its Chinese reasons). Index writes from this API run one at a time.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, File, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from api import schemas, uploads
from api.errors import ApiError
from rag import delete_document, list_documents

router = APIRouter(prefix="/api/documents", tags=["documents"])
MAX_ID_CHARS = 64


def _card(doc) -> schemas.DocumentCard:
    return schemas.DocumentCard(id=doc.doc_id, source=doc.source, chunks=doc.chunks, chars=doc.chars,
                                sha256=doc.sha256, ingested_at=doc.ingested_at)


async def _cards(settings) -> list[schemas.DocumentCard]:
    return [_card(d) for d in await run_in_threadpool(list_documents, settings)]


def _write_lock(request: Request) -> asyncio.Lock:
    return request.app.state.index_writes


@router.get("", response_model=schemas.DocumentList, responses=schemas.ERRORS, summary="已收录的文档")
async def documents(request: Request) -> schemas.DocumentList:
    return schemas.DocumentList(data=await _cards(request.app.state.settings))


@router.post("", response_model=schemas.UploadResult, responses=schemas.ERRORS,
             summary="上传文档（multipart/form-data，字段名 files，可多个）")
async def upload(request: Request, files: list[UploadFile] = File(description=".txt .md .pdf .docx .html .htm .xhtml 文件")) -> schemas.UploadResult:
    settings = request.app.state.settings
    sent = [(f.filename, f.file) for f in files]
    try:
        async with _write_lock(request):
            report = await run_in_threadpool(uploads.receive, sent, settings)
    finally:
        for f in files:
            await f.close()
    if not (report.added or report.updated or report.unchanged):
        reasons = "；".join(f"{name}（{reason}）" for name, reason in report.skipped) or "没有收到文件"
        raise ApiError(400, f"未添加：{reasons}。知识库没有任何改动。", code="invalid_document", param="files")
    return schemas.UploadResult(
        added=report.added, updated=report.updated, unchanged=report.unchanged,
        skipped=[schemas.Skipped(name=name, reason=reason) for name, reason in report.skipped],
        data=await _cards(settings),
    )


@router.delete("/{doc_id}", response_model=schemas.Deleted, responses={**schemas.ERRORS, 404: {"model": schemas.ErrorBody, "description": "没有这篇文档"}},
               summary="按 id 删除一篇文档")
async def delete(doc_id: str, request: Request) -> schemas.Deleted:
    settings = request.app.state.settings
    async with _write_lock(request):
        known = len(doc_id) <= MAX_ID_CHARS and any(d.doc_id == doc_id for d in await run_in_threadpool(list_documents, settings))
        removed = await run_in_threadpool(delete_document, doc_id, settings) if known else None
    if removed is None:
        raise ApiError(404, f"知识库中没有 id 为 {doc_id[:MAX_ID_CHARS]!r} 的文档；GET /api/documents 可列出全部文档和 id。",
                       code="document_not_found", param="doc_id")
    uploads.remove_copy(removed.path, settings)
    return schemas.Deleted(id=removed.doc_id, source=removed.source)
