"""rag: offline-first question answering over Chinese documents, with verified citations.

    from rag import answer
    a = answer("2024年形成了多少份协商报告？")
    print(a.text, a.citations)
"""

from __future__ import annotations

from importlib import import_module

from rag.errors import DocumentError, IndexBusyError, IndexMismatchError, LLMUnavailable, QuestionError, RagError
from rag.settings import Settings, get_settings
from rag.types import Answer, Chunk, Citation, Document, Passage

__version__ = "0.1.0"

# Heavy parts (torch, faiss, jieba) load on first use, so `import rag` stays cheap.
_LAZY = {
    "answer": "answering.pipeline",
    "stream_answer": "answering.pipeline",
    "warm_up": "answering.pipeline",
    "ingest": "index.ingestion",
    "ensure_index": "index.ingestion",
    "list_documents": "index.ingestion",
    "delete_document": "index.ingestion",
    "IngestReport": "index.ingestion",
    "DocumentInfo": "index.ingestion",
}

__all__ = [
    "Answer", "Chunk", "Citation", "Document", "Passage", "Settings", "get_settings",
    "RagError", "DocumentError", "IndexBusyError", "IndexMismatchError", "LLMUnavailable", "QuestionError",
    *_LAZY,
]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'rag' has no attribute {name!r}")
