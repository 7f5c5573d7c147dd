"""Ingestion: files → documents → chunks → vectors → the saved index, doing only the work that changed."""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from . import store
from .chunking import split_document
from .documents import iter_files, load_document
from .embeddings import Embedder, get_embedder
from .errors import DocumentError, IndexMismatchError, RagError
from .retrieval import BM25Index
from .settings import Settings, get_settings
from .types import Chunk, Document

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]


@dataclass
class IngestReport:
    """What one ingest did."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file name, reason)
    chunks: int = 0  # chunks embedded in this run
    total_chunks: int = 0  # chunks in the index afterwards
    seconds: float = 0.0
    embed_seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


@dataclass(frozen=True)
class DocumentInfo:
    """One indexed document, as listed to users."""

    source: str
    chunks: int
    chars: int
    sha256: str
    ingested_at: float


def file_sha256(path: Path) -> str:
    """Hash of a file's bytes, streamed so a huge file doesn't fill memory."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def ingest(
    paths: Iterable[Path | str],
    *,
    rebuild: bool = False,
    settings: Settings | None = None,
    progress: Progress | None = None,
    embedder: Embedder | None = None,
) -> IngestReport:
    """Add, update or remove documents so the index matches ``paths`` (files or folders)."""
    settings = settings or get_settings()
    started = time.perf_counter()
    paths = [Path(p) for p in paths]
    report = IngestReport()
    with store.write_lock(settings.index_dir):
        data = None if rebuild else store.load(settings.index_dir)
        if data is None:
            embedder = embedder or get_embedder(settings)
            data = _empty(settings, embedder)
        _check_settings(data.manifest, settings, embedder.model_id if embedder else settings.embedding_model)
        # The model loads only when a document actually needs embedding.
        lazy = _LazyEmbedder(settings, embedder)
        _apply(data, paths, settings, lazy, report, progress or _no_progress)
        report.total_chunks = len(data.chunks)
        if report.changed or rebuild or store.current_generation(settings.index_dir) is None:
            data.manifest.index_type = settings.index_type
            _save(settings, data)
    report.seconds = time.perf_counter() - started
    return report


def _no_progress(fraction: float, message: str) -> None:
    pass


def _empty(settings: Settings, embedder: Embedder) -> store.IndexData:
    manifest = store.Manifest(
        model_id=embedder.model_id,
        dim=embedder.dim,
        chunk_size=settings.chunk_size,
        chunk_overlap=settings.chunk_overlap,
        index_type=settings.index_type,
        origin=getattr(embedder, "origin", ""),
    )
    return store.IndexData(manifest, [], np.zeros((0, embedder.dim), dtype=np.float32))


class _LazyEmbedder:
    """Loads the embedding model on first use and checks it against the manifest then."""

    def __init__(self, settings: Settings, embedder: Embedder | None):
        self._settings = settings
        self._embedder = embedder

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if self._embedder is None:
            self._embedder = get_embedder(self._settings)
        return self._embedder.embed_passages(texts)


def _save(settings: Settings, data: store.IndexData) -> None:
    """Build the search and keyword indexes and commit them with the rest as one new generation."""
    data.faiss_index = store.build_faiss(data.vectors, data.manifest.index_type, settings.hnsw_m,
                                         settings.ivf_nprobe, settings.hnsw_ef_search)
    keywords = BM25Index((c.text for c in data.chunks), settings.bm25_tokenizer)
    store.save(settings.index_dir, data, writers=[keywords.save])


def _check_settings(manifest: store.Manifest, settings: Settings, model_id: str) -> None:
    store.check_compatible(manifest, model_id)
    # "auto" picks the index by size on every write, so it agrees with any index it may have built
    auto = "auto" in (manifest.index_type, settings.index_type)
    built = (manifest.chunk_size, manifest.chunk_overlap, "auto" if auto else manifest.index_type)
    wanted = (settings.chunk_size, settings.chunk_overlap, "auto" if auto else settings.index_type)
    if built != wanted:
        raise IndexMismatchError(
            f"索引的分块/索引设置 {built} 与当前设置 {wanted} 不同；请运行 `rag ingest --rebuild` 重建索引。"
        )


# Chunks of several documents go to the model together: one call per short document runs tiny,
# padded batches and wakes the thread pool for little work (bench/README.md has the figures).
EMBED_GROUP_CHUNKS = 256


@dataclass
class _Pending:
    """A loaded and chunked document waiting for its vectors."""

    key: str
    doc: Document
    chunks: list[Chunk]
    updating: bool


def _apply(data, paths, settings, embedder, report, progress) -> None:
    files = list(iter_files(paths))
    seen: set[str] = set()
    max_bytes = int(settings.max_file_mb * 1024 * 1024)
    names = {e.source: k for k, e in data.manifest.documents.items()}  # display name → key, kept current
    pending: list[_Pending] = []
    waiting = 0  # chunks in pending
    for i, path in enumerate(files):
        progress(i / max(len(files), 1) * 0.9, path.name)
        key = str(path.resolve())
        if key in seen:  # the same file twice (a symlink): it is pending already
            continue
        seen.add(key)
        try:
            item = _prepare(data, path, key, max_bytes, names, report)
        except DocumentError as exc:
            report.skipped.append((exc.name, exc.reason))
            continue
        except OSError as exc:
            report.skipped.append((path.name, f"无法读取：{exc.strerror or exc}"))
            continue
        if item is not None:
            pending.append(item)
            waiting += len(item.chunks)
            if waiting >= EMBED_GROUP_CHUNKS:
                _embed_and_add(data, pending, embedder, report)
                pending, waiting = [], 0
    _embed_and_add(data, pending, embedder, report)
    for missing in _missing_under(data.manifest, paths, seen):
        _remove(data, missing)
        report.removed.append(Path(missing).name)
    progress(1.0, "完成")


def _prepare(data, path: Path, key: str, max_bytes: int, names: dict[str, str], report: IngestReport):
    """The new or changed document at ``path``, chunked; None when it is unchanged."""
    if path.is_file() and path.stat().st_size > max_bytes:
        raise DocumentError(path.name, f"文件过大（{path.stat().st_size / 1048576:.1f} MB，上限 {max_bytes / 1048576:.0f} MB）")
    entry = data.manifest.documents.get(key)
    if entry is not None and path.is_file() and file_sha256(path) == entry.sha256:
        report.unchanged.append(entry.source)
        return None
    doc = load_document(path, max_bytes=max_bytes)
    source = _unique_source(names, key, doc.source)
    doc = Document(source=source, text=doc.text, sha256=doc.sha256, path=key, encoding=doc.encoding)
    chunks = split_document(doc, data.manifest.chunk_size, data.manifest.chunk_overlap)
    if not chunks:
        raise DocumentError(path.name, "清理后没有可用的文本")
    names[source] = key  # taken from now on, though not yet in the manifest
    return _Pending(key, doc, chunks, updating=entry is not None)


def _embed_and_add(data: store.IndexData, pending: list[_Pending], embedder, report: IngestReport) -> None:
    """Embed the chunks of ``pending`` in one call and add them; updated documents lose their old chunks."""
    if not pending:
        return
    t0 = time.perf_counter()
    vectors = embedder.embed_passages([c.text for item in pending for c in item.chunks])
    report.embed_seconds += time.perf_counter() - t0
    _remove(data, *(item.key for item in pending if item.updating))
    # One copy of the matrix per group: a copy per document made large ingests quadratic.
    data.chunks.extend(c for item in pending for c in item.chunks)
    data.vectors = np.vstack([data.vectors, np.asarray(vectors, dtype=np.float32)])
    for item in pending:
        _record(data, item.key, item.doc, len(item.chunks))
        report.chunks += len(item.chunks)
        (report.updated if item.updating else report.added).append(item.doc.source)


def _unique_source(names: dict[str, str], key: str, name: str) -> str:
    """The display name of a document; a second file with the same name gets its folder prefixed."""
    if names.get(name, key) == key:
        return name
    return f"{Path(key).parent.name}/{name}"


def _record(data: store.IndexData, key: str, doc: Document, chunks: int) -> None:
    data.manifest.documents[key] = store.DocumentEntry(
        source=doc.source,
        path=key,
        sha256=doc.sha256,
        chars=len(doc.text),
        chunks=chunks,
        encoding=doc.encoding,
        ingested_at=time.time(),
    )


def _remove(data: store.IndexData, *keys: str) -> None:
    if not keys:
        return
    sources = {data.manifest.documents.pop(key).source for key in keys}
    keep = [i for i, c in enumerate(data.chunks) if c.source not in sources]
    data.chunks = [data.chunks[i] for i in keep]
    data.vectors = data.vectors[keep]


def _missing_under(manifest: store.Manifest, paths: list[Path], seen: set[str]) -> list[str]:
    """Indexed documents inside a folder being ingested whose file is gone."""
    folders = [p.resolve() for p in paths if p.is_dir()]
    gone = []
    for key in manifest.documents:
        if key in seen or Path(key).exists():
            continue
        if any(Path(key).is_relative_to(folder) for folder in folders):
            gone.append(key)
    return gone


def list_documents(settings: Settings | None = None) -> list[DocumentInfo]:
    """The documents in the saved index, by name."""
    settings = settings or get_settings()
    manifest = store.read_manifest(settings.index_dir)
    if manifest is None:
        return []
    docs = [DocumentInfo(e.source, e.chunks, e.chars, e.sha256, e.ingested_at) for e in manifest.documents.values()]
    return sorted(docs, key=lambda d: d.source)


def delete_document(source: str, settings: Settings | None = None) -> bool:
    """Remove one document (by the name shown to users) and its chunks; False when it isn't indexed."""
    settings = settings or get_settings()
    with store.write_lock(settings.index_dir):
        data = store.load(settings.index_dir)
        if data is None:
            return False
        keys = [k for k, e in data.manifest.documents.items() if e.source == source]
        if not keys:
            return False
        for key in keys:
            _remove(data, key)
        _save(settings, data)
    return True


def ensure_index(settings: Settings | None = None, progress: Progress | None = None) -> IngestReport | None:
    """Build the index from the sample corpus when none exists yet; None when one is already there."""
    settings = settings or get_settings()
    if store.current_generation(settings.index_dir) is not None:
        return None
    if not Path(settings.corpus_dir).exists():
        raise RagError(f"还没有索引，且默认语料目录 {settings.corpus_dir} 不存在；请先运行 `rag ingest 文件或目录`。")
    log.info("no index yet: building it from %s", settings.corpus_dir)
    return ingest([settings.corpus_dir], settings=settings, progress=progress)
