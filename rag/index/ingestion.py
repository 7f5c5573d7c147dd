"""Ingestion: files → documents → chunks → vectors → the saved index, doing only the work that changed."""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from rag.documents.chunking import split_document
from rag.documents.loaders import iter_files, load_document
from rag.embedding.models import Embedder, get_embedder
from rag.errors import DocumentError, IndexMismatchError, RagError
from rag.index import facts, freshness, generations, unit_table
from rag.index.base import Change
from rag.index.ingest_embedder import IngestEmbedder
from rag.index.ingest_meter import Meter
from rag.index.manifest import (PIPELINE_VERSION, DocumentEntry, Manifest, check_compatible, check_precision,
                                check_unit_vectors, document_id, stale_documents)
from rag.index.stores import open_store
from rag.settings import Settings, get_settings
from rag.types import Chunk

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]


@dataclass
class IngestReport:
    """What one ingest did."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    refreshed: list[str] = field(default_factory=list)  # of ``updated``: unchanged files an older text pipeline made
    stale: list[str] = field(default_factory=list)  # documents not given this time that an older pipeline made
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
    path: str = ""  # resolved path: the document's identity
    doc_id: str = ""
    stale: bool = False  # its chunks were made by an older text pipeline (``manifest.PIPELINE_VERSION``)


def ingest(paths: Iterable[Path | str], *, rebuild: bool = False, settings: Settings | None = None,
           progress: Progress | None = None, embedder: Embedder | None = None) -> IngestReport:
    """Add, update or remove documents so the index matches ``paths`` (files or folders)."""
    settings = settings or get_settings()
    started = time.perf_counter()
    paths = [Path(p) for p in paths]
    report = IngestReport()
    store = open_store(settings)
    progress = progress or _no_progress
    with store.writing():
        manifest = None if rebuild else store.read_manifest()
        if manifest is None:
            embedder = embedder or _load_embedder(settings, progress)
            manifest = _empty(settings, embedder)
        _check_settings(manifest, settings, embedder.model_id if embedder else settings.embedding_model)
        check_precision(manifest, getattr(embedder, "precision", None) or settings.embed_precision)
        check_unit_vectors(manifest, settings.unit_vectors)
        # The model loads only when a document actually needs embedding.
        lazy = IngestEmbedder(embedder, lambda: _load_embedder(settings, progress), settings.unit_vectors == "pooled")
        have = Counter() if rebuild else store.chunk_counts()
        change = _apply(manifest, have, paths, settings, lazy, report, progress)
        total = sum(have.values()) - sum(have[d] for d in change.drop) + len(change.chunks)
        # an index written before a derived table existed gets it now, once (the answer units' vectors)
        stale = not rebuild and store.holds_index() and store.lacks_tables((facts.FILE_NAME, unit_table.FILE_NAME))
        if report.changed or rebuild or stale or not store.holds_index():
            manifest.index_type = settings.index_type
            manifest.stamp_pipeline()
            total = store.commit(manifest, change, _tables(lazy), rebuild=rebuild)
        report.total_chunks = total
    report.seconds = time.perf_counter() - started
    return report


def _tables(embedder) -> Callable[[list[Chunk], dict[str, bytes]], dict[str, bytes]]:
    """The derived tables for the chunks being committed: the figures and the answer units (vectors are reused)."""

    def build(chunks: list[Chunk], previous: dict[str, bytes]) -> dict[str, bytes]:
        built = {}
        for module in (facts, unit_table):
            table = None
            if module.FILE_NAME in previous:
                try:
                    table = module.from_bytes(previous[module.FILE_NAME])
                except (ValueError, KeyError, TypeError, OSError):
                    table = None  # an unreadable old table is rebuilt, never fatal
            built[module.FILE_NAME] = module.build(chunks, embedder, table).to_bytes()
        return built

    return build


def _no_progress(fraction: float, message: str) -> None:
    pass


def _load_embedder(settings: Settings, progress: Progress) -> Embedder:
    progress(0.0, "正在加载嵌入模型…")  # the longest silent step of a first ingest: say it
    return get_embedder(settings)


def _empty(settings: Settings, embedder: Embedder) -> Manifest:
    return Manifest(model_id=embedder.model_id, dim=embedder.dim, chunk_size=settings.chunk_size,
                    chunk_overlap=settings.chunk_overlap, index_type=settings.index_type,
                    origin=getattr(embedder, "origin", ""), engine=getattr(embedder, "engine", ""),
                    precision=getattr(embedder, "precision", None) or settings.embed_precision,
                    unit_vectors=settings.unit_vectors)


def _check_settings(manifest: Manifest, settings: Settings, model_id: str) -> None:
    check_compatible(manifest, model_id)
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
# It is also the most the model gets in one call, so a huge file reports progress and holds
# only one batch's working memory at a time.
EMBED_GROUP_CHUNKS = 256


@dataclass
class _Pending:
    """A loaded and chunked document waiting for its vectors (its text is not kept: the chunks hold it)."""

    key: str
    entry: DocumentEntry
    chunks: list[Chunk]
    updating: bool
    refreshing: bool = False  # the file is unchanged; an older text pipeline made its chunks


def _apply(manifest: Manifest, have: Counter, paths, settings, embedder, report, progress) -> Change:
    """The change that brings the index up to date with ``paths``; ``manifest`` is updated to match it.

    ``have``: chunks per document id as stored (a document with fewer is written again).
    """
    files = list(iter_files(paths))
    meter = Meter(progress, files)
    seen: set[str] = set()
    max_bytes = int(settings.max_file_mb * 1024 * 1024)
    names = {e.source: k for k, e in manifest.documents.items()}  # display name → key, kept current
    changes = Change()
    pending: list[_Pending] = []
    waiting = 0  # chunks in pending
    for path in files:
        meter.opening(path.name)
        item = _prepare_or_skip(manifest, path, seen, max_bytes, names, have, report)
        meter.read(path, len(item.chunks) if item else 0)
        if item is not None:
            pending.append(item)
            waiting += len(item.chunks)
            if waiting >= EMBED_GROUP_CHUNKS:
                _embed_and_add(manifest, pending, embedder, report, changes, meter)
                pending, waiting = [], 0
    _embed_and_add(manifest, pending, embedder, report, changes, meter)
    for missing in _missing_under(manifest, paths, seen):
        entry = manifest.documents.pop(missing)
        changes.drop.add(entry.doc_id)
        report.removed.append(entry.source)
    # documents an older text pipeline made whose files were not given: kept as they are, and named
    report.stale = [e.source for e in stale_documents(manifest) if e.path not in seen]
    progress(0.97, "正在保存索引…")
    return changes


def _prepare_or_skip(manifest, path, seen, max_bytes, names, have, report) -> _Pending | None:
    """``_prepare``, with a file that cannot be ingested reported as skipped (with its reason)."""
    try:
        key = _identity(path)
        if key in seen:  # the same file twice (a symlink): it is pending already
            return None
        seen.add(key)
        return _prepare(manifest, path, key, max_bytes, names, have, report)
    except DocumentError as exc:
        report.skipped.append((exc.name, exc.reason))
    except OSError as exc:
        report.skipped.append((path.name, f"无法读取：{exc.strerror or exc}"))
    return None


def _identity(path: Path) -> str:
    """A document's stable key: its resolved path (two links to one file are one document)."""
    try:
        return str(path.resolve())
    except RuntimeError:  # Python 3.11 raises this for a symlink loop
        raise DocumentError(path.name, "符号链接循环（链接最终指向它自己），已跳过") from None


def _prepare(manifest: Manifest, path: Path, key: str, max_bytes: int, names: dict[str, str], have: Counter, report):
    """The new or changed document at ``path``, chunked; None when it is unchanged and complete in the index."""
    if path.is_file() and path.stat().st_size > max_bytes:
        raise DocumentError(path.name, f"文件过大（{path.stat().st_size / 1048576:.1f} MB，上限 {max_bytes / 1048576:.0f} MB）")
    entry = manifest.documents.get(key)
    # A manifest entry whose chunks are not all there never blocks a re-ingest that repairs it.
    complete = entry is not None and entry.chunks > 0 and have.get(entry.doc_id, 0) == entry.chunks
    same = complete and path.is_file() and generations.sha256_of(path) == entry.sha256
    if same and entry.pipeline >= PIPELINE_VERSION:
        report.unchanged.append(entry.source)
        return None
    doc = load_document(path, max_bytes=max_bytes)
    source = _unique_source(names, key, doc.source)
    doc_id = document_id(key)
    chunks = split_document(doc, manifest.chunk_size, manifest.chunk_overlap)
    if not chunks:
        raise DocumentError(path.name, "清理后没有可用的文本")
    chunks = [replace(c, source=source, doc_id=doc_id) for c in chunks]
    names[source] = key  # taken from now on, though not yet in the manifest
    new = DocumentEntry(source=source, path=key, sha256=doc.sha256, chars=len(doc.text), chunks=len(chunks),
                        encoding=doc.encoding, ingested_at=time.time(), doc_id=doc_id, pipeline=PIPELINE_VERSION)
    return _Pending(key, new, chunks, updating=entry is not None, refreshing=bool(same))


def _embed_and_add(manifest: Manifest, pending: list[_Pending], embedder, report: IngestReport,
                   changes: Change, meter: Meter) -> None:
    """Embed the chunks of ``pending`` in bounded batches and record them; updated documents lose their old chunks."""
    chunks = [c for item in pending for c in item.chunks]
    if not chunks:
        return
    texts = [c.indexed for c in chunks]  # each chunk's text under its context line (document name, headings)
    units = None if embedder.pooled_units is None else unit_table.placed(chunks)  # for pooled unit vectors
    owners = [item.entry.source for item in pending for _ in item.chunks]
    # Longest first across all batches, as the model orders one call: batches of ever-changing
    # lengths left the allocator holding about 100 MB more with the real model.
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    vectors = None
    for start in range(0, len(order), EMBED_GROUP_CHUNKS):
        rows = order[start:start + EMBED_GROUP_CHUNKS]
        t0 = time.perf_counter()
        placed = None if units is None else [units[i] for i in rows]
        batch = np.asarray(embedder.embed_chunks([texts[i] for i in rows], placed), dtype=np.float32)
        report.embed_seconds += time.perf_counter() - t0
        if vectors is None:
            vectors = np.empty((len(texts), batch.shape[1]), dtype=np.float32)
        vectors[rows] = batch
        meter.embedded(len(rows), owners[rows[-1]])
    changes.vectors.append(vectors)
    for item in pending:
        if item.updating:
            changes.drop.add(item.entry.doc_id)
        changes.chunks.extend(item.chunks)
        manifest.documents[item.key] = item.entry
        report.chunks += len(item.chunks)
        (report.updated if item.updating else report.added).append(item.entry.source)
        if item.refreshing:
            report.refreshed.append(item.entry.source)


def _unique_source(names: dict[str, str], key: str, name: str) -> str:
    """The display name of a document: its file name, with as many parent folders as make it unique."""
    parts = Path(key).parts
    candidates = ["/".join(parts[-n:]) for n in range(1, len(parts))] if len(parts) > 1 else [name]
    candidates[0] = name
    for candidate in candidates:
        if names.get(candidate, key) == key:
            return candidate
    n = 2
    while names.get(f"{name} ({n})", key) != key:
        n += 1
    return f"{name} ({n})"


def _missing_under(manifest: Manifest, paths: list[Path], seen: set[str]) -> list[str]:
    """Indexed documents inside a folder being ingested whose file is gone."""
    folders = []
    for p in paths:
        try:
            if p.is_dir():
                folders.append(p.resolve())
        except RuntimeError:  # a symlink loop given as a folder holds no documents
            continue
    gone = []
    for key in manifest.documents:
        if key in seen or Path(key).exists():
            continue
        if any(Path(key).is_relative_to(folder) for folder in folders):
            gone.append(key)
    return gone


def list_documents(settings: Settings | None = None) -> list[DocumentInfo]:
    """The documents in the saved index, by name."""
    manifest = open_store(settings).read_manifest()
    if manifest is None:
        return []
    return sorted(map(_info, manifest.documents.values()), key=lambda d: d.source)


def _info(entry: DocumentEntry) -> DocumentInfo:
    return DocumentInfo(entry.source, entry.chunks, entry.chars, entry.sha256, entry.ingested_at, entry.path, entry.doc_id,
                        entry.pipeline < PIPELINE_VERSION)


def delete_document(document: str, settings: Settings | None = None) -> DocumentInfo | None:
    """Remove one document and only its chunks; returns what was removed, None when it isn't indexed.

    ``document`` is its id, its resolved path, or the (unique) name shown to users.
    """
    settings = settings or get_settings()
    store = open_store(settings)
    with store.writing():
        manifest = store.read_manifest()
        if manifest is None:
            return None
        docs = manifest.documents
        key = next((k for k, e in docs.items() if document in (e.doc_id, k, e.source)), None)
        if key is None:
            return None
        entry = docs.pop(key)
        lazy = IngestEmbedder(None, lambda: _load_embedder(settings, _no_progress), manifest.unit_vectors == "pooled")
        manifest.stamp_pipeline()
        store.commit(manifest, Change(drop={entry.doc_id}), _tables(lazy))
    return _info(entry)


def ensure_index(settings: Settings | None = None, progress: Progress | None = None, *,
                 embedder: Embedder | None = None, notify: Callable[[str], None] | None = None) -> IngestReport | None:
    """Build the index from the sample corpus when the store holds none; its report, else None.

    An index made by an older text pipeline is looked at once per process: holding only the sample
    corpus, it is made again from it (``notify`` says so first); holding the user's own documents, it
    is left as it is (it still answers) and ``notify`` (default: the log) gets one line naming the fix.
    An index that exists but cannot be read is never rebuilt or touched here: asking about it
    raises an error that names the fix.
    """
    settings = settings or get_settings()
    store = open_store(settings)
    if store.holds_index():
        if not freshness.check_once(store, settings, notify or log.warning):
            return None
        (notify or log.warning)(freshness.REFRESHING)
        try:
            return ingest([settings.corpus_dir], settings=settings, progress=progress, embedder=embedder)
        except RagError as exc:  # e.g. another process writes it now: the index as it is still answers
            log.warning("the sample index was not refreshed: %s", exc)
            return None
    if not Path(settings.corpus_dir).exists():
        raise RagError(f"还没有索引，且默认语料目录 {settings.corpus_dir} 不存在；请先运行 `rag ingest 文件或目录`。")
    log.info("no index yet: building it from %s", settings.corpus_dir)
    return ingest([settings.corpus_dir], settings=settings, progress=progress, embedder=embedder)
