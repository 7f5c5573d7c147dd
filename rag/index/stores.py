"""Which store holds the index: one line per store, chosen by ``RAG_VECTOR_STORE``."""

from __future__ import annotations

from importlib import import_module

from rag.errors import SettingsError
from rag.index.base import VectorStore
from rag.settings import Settings, get_settings

# name → "module:class"; a store's module is imported only when it is chosen (Milvus needs its extra)
STORES = {
    "faiss": "rag.index.faiss_store:FaissStore",
    "milvus": "rag.index.milvus_store:MilvusStore",
}


def open_store(settings: Settings | None = None) -> VectorStore:
    """The configured store (cheap: nothing is read or connected until it is used)."""
    settings = settings or get_settings()
    target = STORES.get(settings.vector_store)
    if target is None:
        raise SettingsError(f"未知的向量库 {settings.vector_store!r}；可选：{', '.join(STORES)}")
    module, _, cls = target.partition(":")
    return getattr(import_module(module), cls)(settings)
