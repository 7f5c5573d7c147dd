"""The saved index on disk: FAISS vectors, the chunk store and a self-describing manifest.

Each write produces a complete new generation folder and then flips the ``CURRENT`` pointer
with an atomic rename, so a crash mid-write leaves the previous index loadable. A file lock
refuses a second writer instead of interleaving two.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from .errors import IndexBusyError, IndexMismatchError, RagError
from .types import Chunk

# 2: the generation also holds its keyword (BM25) index. 1 is still read (BM25 is then built in memory).
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
POINTER = "CURRENT"
LOCK = ".write.lock"


@dataclass
class DocumentEntry:
    """What the manifest remembers about one ingested document."""

    source: str
    path: str
    sha256: str
    chars: int
    chunks: int
    encoding: str = "utf-8"
    ingested_at: float = 0.0


@dataclass
class Manifest:
    """Describes the index: which embedder built it, how it was chunked, which documents it holds."""

    model_id: str
    dim: int
    chunk_size: int
    chunk_overlap: int
    index_type: str
    origin: str = ""
    documents: dict[str, DocumentEntry] = field(default_factory=dict)  # key: document path
    format_version: int = FORMAT_VERSION
    updated_at: float = 0.0

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2)

    @classmethod
    def from_json(cls, text: str) -> "Manifest":
        data = json.loads(text)
        docs = {k: DocumentEntry(**v) for k, v in data.pop("documents", {}).items()}
        return cls(documents=docs, **data)


@dataclass
class IndexData:
    """Everything a generation holds, in memory: row ``i`` of ``vectors`` belongs to ``chunks[i]``."""

    manifest: Manifest
    chunks: list[Chunk]
    vectors: np.ndarray
    faiss_index: object = None
    folder: Path | None = None  # the generation folder it was loaded from, for files other stages own


def check_compatible(manifest: Manifest, model_id: str, dim: int | None = None) -> None:
    """Refuse an index built with another embedding model (or dimension)."""
    if manifest.model_id != model_id or (dim is not None and manifest.dim != dim):
        raise IndexMismatchError(
            f"索引由嵌入模型 {manifest.model_id}（{manifest.dim} 维）构建，"
            f"而当前设置的模型是 {model_id}{f'（{dim} 维）' if dim else ''}。"
            "请运行 `rag ingest --rebuild` 用当前模型重建索引，或把 RAG_EMBEDDING_MODEL 改回原模型。"
        )


# Below this many chunks "auto" searches exactly (under 10 ms); above it, HNSW: on 1M e5-like vectors it
# answered in under 1 ms at recall@10 0.99, where IVF needed 25 ms for 0.98 (README, bench figures).
EXACT_SEARCH_MAX = 50_000
IVF_NPROBE = 16
HNSW_EF_SEARCH = 128
INDEX_TYPES = ("auto", "flat", "hnsw", "ivf")


def resolve_index_type(index_type: str, n: int) -> str:
    """The concrete index for ``n`` vectors: ``auto`` is exact up to EXACT_SEARCH_MAX, HNSW above."""
    if index_type not in INDEX_TYPES:
        raise RagError(f"未知的索引类型 {index_type!r}，可选：{', '.join(INDEX_TYPES)}")
    if index_type == "auto":
        return "flat" if n <= EXACT_SEARCH_MAX else "hnsw"
    return index_type


def ivf_lists(n: int) -> int:
    """IVF cluster count: a power of two near 2*sqrt(n) (about 500 vectors a list at 1M)."""
    return int(2 ** round(np.log2(2 * max(n, 1) ** 0.5))) if n >= 4_096 else 64


def build_faiss(vectors: np.ndarray, index_type: str, hnsw_m: int = 32, nprobe: int = IVF_NPROBE,
                ef_search: int = HNSW_EF_SEARCH):
    """A FAISS inner-product index over normalized vectors: exact (flat) or approximate (HNSW, IVF)."""
    import faiss

    dim = vectors.shape[1]
    kind = resolve_index_type(index_type, len(vectors))
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = ef_search
    elif kind == "ivf" and len(vectors):
        index = _trained_ivf(vectors, dim, nprobe)
    else:  # flat, or nothing yet to train clusters on
        index = faiss.IndexFlatIP(dim)
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def _trained_ivf(vectors: np.ndarray, dim: int, nprobe: int):
    import faiss

    nlist = min(ivf_lists(len(vectors)), max(1, len(vectors) // 39))  # faiss wants >= 39 points a cluster
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
    # Unit-length centroids: unnormalised ones grow and swallow whole regions under inner product
    # (one list held 80-100x its share on e5 vectors, and search time with it).
    index.cp.spherical = True
    # 64 sampled points a cluster and 10 rounds train 1M vectors' clusters in about a minute
    index.cp.max_points_per_centroid = 64
    index.cp.niter = 10
    index.cp.seed = 1234
    index.train(np.ascontiguousarray(vectors, dtype=np.float32))
    index.nprobe = nprobe
    return index


def current_generation(index_dir: Path) -> Path | None:
    """The folder of the committed generation, or None when no index was ever written."""
    pointer = index_dir / POINTER
    if not pointer.exists():
        return None
    gen = index_dir / pointer.read_text(encoding="utf-8").strip()
    return gen if (gen / "manifest.json").exists() else None


def read_manifest(index_dir: Path) -> Manifest | None:
    """The manifest of the committed generation, without loading vectors."""
    gen = current_generation(index_dir)
    if gen is None:
        return None
    return Manifest.from_json((gen / "manifest.json").read_text(encoding="utf-8"))


def load(index_dir: Path) -> IndexData | None:
    """Load the committed generation (None when there is none)."""
    import faiss

    gen = current_generation(index_dir)
    if gen is None:
        return None
    manifest = Manifest.from_json((gen / "manifest.json").read_text(encoding="utf-8"))
    if manifest.format_version not in READABLE_VERSIONS:
        raise IndexMismatchError(
            f"索引格式版本 {manifest.format_version} 与本程序的 {FORMAT_VERSION} 不符，请运行 `rag ingest --rebuild`。"
        )
    with open(gen / "chunks.jsonl", encoding="utf-8") as fh:
        chunks = [Chunk(**json.loads(line)) for line in fh if line.strip()]
    # Mapped, not read: only ingestion needs the raw vectors, and the search index holds its own copy.
    vectors = np.load(gen / "vectors.npy", mmap_mode="r")
    index = faiss.read_index(str(gen / "index.faiss"))
    if not (len(chunks) == len(vectors) == index.ntotal):
        raise RagError(f"索引已损坏：{len(chunks)} 个文本块、{len(vectors)} 个向量、{index.ntotal} 条索引项不一致；请运行 `rag ingest --rebuild`。")
    return IndexData(manifest, chunks, vectors, index, folder=gen)


def save(index_dir: Path, data: IndexData, writers: Iterable[Callable[[Path], None]] = ()) -> Path:
    """Write ``data`` as a new generation and make it current atomically; returns its folder.

    Each of ``writers`` is called with the generation's folder before it is committed, to add files of
    its own (the keyword index), which then appear atomically with the rest.
    """
    import faiss

    index_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".gen-tmp-", dir=index_dir))
    try:
        data.manifest.updated_at = time.time()
        data.manifest.format_version = FORMAT_VERSION
        (tmp / "manifest.json").write_text(data.manifest.to_json(), encoding="utf-8")
        with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as fh:
            for chunk in data.chunks:
                fh.write(json.dumps(asdict(chunk), ensure_ascii=False) + "\n")
        np.save(tmp / "vectors.npy", np.ascontiguousarray(data.vectors, dtype=np.float32))
        faiss.write_index(data.faiss_index, str(tmp / "index.faiss"))
        for write in writers:
            write(tmp)
        _fsync_dir(tmp)
        gen = index_dir / f"gen-{time.time_ns()}"
        os.rename(tmp, gen)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _write_pointer(index_dir, gen.name)
    _remove_old_generations(index_dir, keep=gen.name)
    return gen


def _write_pointer(index_dir: Path, name: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".pointer-", dir=index_dir)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(name + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, index_dir / POINTER)
    _fsync_dir(index_dir)


def _fsync_dir(path: Path) -> None:
    for child in path.iterdir():
        if child.is_file():
            with open(child, "rb") as fh:
                os.fsync(fh.fileno())


def _remove_old_generations(index_dir: Path, keep: str) -> None:
    # Readers that opened an older generation already hold its data in memory.
    for child in index_dir.iterdir():
        if child.is_dir() and child.name != keep and child.name.startswith(("gen-", ".gen-tmp-")):
            shutil.rmtree(child, ignore_errors=True)


@contextmanager
def write_lock(index_dir: Path) -> Iterator[None]:
    """Hold the index's writer lock, or fail at once when another process holds it."""
    from filelock import FileLock, Timeout

    index_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(index_dir / LOCK))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise IndexBusyError(f"另一个进程正在写入索引 {index_dir.name}/，请等它完成后再试。") from None
    try:
        yield
    finally:
        lock.release()
