"""Whether the saved index was made by the current text pipeline, looked at once per process.

Cleaning, chunking and answer-unit splitting change between releases (``manifest.PIPELINE_VERSION``).
An index made by an older pipeline still answers, without the improvements; the next ``rag ingest``
of its files makes those documents again. An index holding only the sample corpus is cheap to make
again, so ``ingestion.ensure_index`` refreshes it on its own; for the user's own documents one line
names the fix.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

from rag.errors import RagError
from rag.index.base import VectorStore
from rag.index.manifest import Manifest, stale_documents
from rag.index.stores import open_store
from rag.settings import Settings

log = logging.getLogger(__name__)

SAMPLE, OWN = "sample", "own"  # what a stale index holds: only the sample corpus, or the user's own documents
REFRESHING = "示例文档的索引由旧版本的文本处理生成：正在按新版重新处理（约需半分钟，只有这一次）…"

_looked_at: set[str] = set()  # the indexes this process has looked at, by where they are


def stale_kind(settings: Settings, store: VectorStore | None = None) -> str | None:
    """``SAMPLE`` or ``OWN`` when an older text pipeline made some of the index; None when it is current,
    absent or unreadable (asking about an unreadable index names its fix)."""
    manifest = _manifest(store or open_store(settings))
    if manifest is None or not stale_documents(manifest):
        return None
    return SAMPLE if _only_sample(manifest, settings) else OWN


def check_once(store: VectorStore, settings: Settings, notify: Callable[[str], None]) -> bool:
    """The first time this process asks about this index: True when it holds only the sample corpus and is
    stale (the caller makes it again); a stale index of the user's own documents gets ``notify(notice)``."""
    where = f"{store.name}:{store.where()}"
    if where in _looked_at:
        return False
    _looked_at.add(where)
    manifest = _manifest(store)
    if manifest is None or not stale_documents(manifest):
        return False
    if _only_sample(manifest, settings):
        return True
    notify(notice(manifest))
    return False


def notice(manifest: Manifest) -> str:
    """One line for users: which documents an older text pipeline made, and how to make them again."""
    stale = stale_documents(manifest)
    names = "、".join(e.source for e in stale[:3]) + ("等" if len(stale) > 3 else "")
    return (f"提示：索引里有 {len(stale)} 篇文档（{names}）由旧版本的文本处理（清理、分块、回答单元）生成，回答仍可用，"
            "但用不上新版的改进；用 `rag ingest 文件或目录` 再次导入它们原来的文件或目录即可按新版重新处理。")


def _manifest(store: VectorStore) -> Manifest | None:
    try:
        return store.read_manifest()
    except (RagError, OSError) as exc:  # damaged or of another format: the question path says so, with its fix
        log.debug("index not looked at: %s", exc)
        return None


def _only_sample(manifest: Manifest, settings: Settings) -> bool:
    corpus = Path(settings.corpus_dir).resolve()
    return bool(manifest.documents) and all(Path(key).is_relative_to(corpus) for key in manifest.documents)
