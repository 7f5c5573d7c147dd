"""rag: offline-first question answering over Chinese documents, with verified citations.

    from rag import answer
    a = answer("2024年形成了多少份协商报告？")
    print(a.text, a.citations)
"""

from __future__ import annotations

from importlib import import_module

from .errors import DocumentError, IndexBusyError, IndexMismatchError, LLMUnavailable, QuestionError, RagError
from .settings import Settings, get_settings
from .types import Answer, Chunk, Citation, Document, Passage

__version__ = "0.1.0"

# Heavy parts (torch, faiss, jieba) load on first use, so `import rag` stays cheap.
_LAZY = {
    "answer": "answering",
    "stream_answer": "answering",
    "warm_up": "answering",
    "ingest": "indexing",
    "ensure_index": "indexing",
    "list_documents": "indexing",
    "delete_document": "indexing",
    "IngestReport": "indexing",
    "DocumentInfo": "indexing",
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
