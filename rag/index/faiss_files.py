"""The FAISS index's files on disk: vectors, the search index, the chunk store and the manifest, per generation.

Each write produces a complete new generation folder and then flips the ``CURRENT`` pointer
with an atomic rename, so a crash mid-write leaves the previous index loadable (see
``generations``). A file lock refuses a second writer instead of interleaving two. Readers
never write: an index they cannot read is an ``IndexDamagedError`` that names the fix.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable, Iterator, TypeVar

import numpy as np

from rag.index import generations
from rag.errors import IndexBusyError, IndexDamagedError, IndexMismatchError
from rag.index.manifest import FORMAT_VERSION, READABLE_VERSIONS, Manifest
from rag.types import Chunk

POINTER = generations.POINTER
LOCK = ".write.lock"
EXTRA_FILES = ("facts.npz", "units.npz")  # derived files a generation may hold besides the index itself
T = TypeVar("T")


@dataclass
class IndexData:
    """Everything a generation holds, in memory: row ``i`` of ``vectors`` belongs to ``chunks[i]``."""

    manifest: Manifest
    chunks: list[Chunk]
    vectors: np.ndarray
    faiss_index: object = None
    # optional derived files saved with the generation (name → bytes), e.g. the figures table;
    # an index without them still loads
    extras: dict[str, bytes] = field(default_factory=dict)
    folder: Path | None = None  # the generation folder it was loaded from, for files other stages own


def current_generation(index_dir: Path) -> Path | None:
    """The folder of the committed generation; None when the folder holds no index at all.

    An index that exists but whose pointer is missing or damaged raises ``IndexDamagedError``.
    """
    return generations.current(index_dir)


def holds_index(index_dir: Path) -> bool:
    """True when ``index_dir`` holds an index, readable or not (then nothing may be built over it)."""
    return generations.holds_index(index_dir)


def read_manifest(index_dir: Path) -> Manifest | None:
    """The manifest of the committed generation, without loading vectors (file sizes are checked)."""
    return _reading(index_dir, _checked_manifest)


def load(index_dir: Path) -> IndexData | None:
    """Load the committed generation (None when there is none)."""
    return _reading(index_dir, load_generation)


def _reading(index_dir: Path, read: Callable[[Path], T]) -> T | None:
    """Run ``read`` on the current generation; start again on the new one if a writer moved on meanwhile."""
    for attempt in range(3):
        gen = None
        try:
            gen = current_generation(index_dir)
            return None if gen is None else read(gen)
        except (OSError, IndexDamagedError) as exc:
            if attempt < 2 and _moved_on(index_dir, gen):
                continue
            if isinstance(exc, IndexDamagedError):
                raise
            raise generations.damaged(index_dir, gen, _os_problem(exc)) from None
    raise AssertionError("unreachable")


def _moved_on(index_dir: Path, gen: Path | None) -> bool:
    """True when the pointer now names another generation than the one that failed to load."""
    now = generations.current_name(index_dir)
    return now is not None and (gen is None or now != gen.name)


def _os_problem(exc: OSError) -> str:
    name = Path(exc.filename).name if getattr(exc, "filename", None) else ""
    if isinstance(exc, FileNotFoundError):
        return f"{name or '文件'} 缺失"
    return f"{name} 无法读取（{exc.strerror or exc}）"


def _read_manifest(gen: Path) -> Manifest:
    try:
        manifest = Manifest.from_json((gen / "manifest.json").read_text(encoding="utf-8"))
    except (ValueError, TypeError, KeyError, AttributeError):
        raise generations.damaged(gen.parent, gen, "manifest.json 无法解析") from None
    if manifest.format_version not in READABLE_VERSIONS:
        raise IndexMismatchError(
            _format_advice(manifest.format_version)
        )
    return manifest


def _checked_manifest(gen: Path) -> Manifest:
    """The manifest of ``gen`` once its files have the sizes recorded when it was written."""
    sealed = generations.file_table(gen) is not None
    problems = generations.verify(gen, hashes=False) if sealed else []
    if problems:
        raise generations.damaged(gen.parent, gen, "；".join(problems))
    manifest = _read_manifest(gen)
    if not sealed and manifest.format_version != 1:  # only format 1 was written without a table
        raise generations.damaged(gen.parent, gen, f"缺少校验表 {generations.FILES}")
    return manifest


def load_generation(gen: Path) -> IndexData:
    """Load one generation folder, checking its files against the sizes recorded when it was written."""
    manifest = _checked_manifest(gen)
    try:
        chunks = _read_chunks(gen / "chunks.jsonl", manifest)
        # Mapped, not read: only ingestion needs the raw vectors, and the search index holds its own copy.
        vectors = np.load(gen / "vectors.npy", mmap_mode="r", allow_pickle=False)
        index = _read_faiss(gen / "index.faiss")
    except FileNotFoundError:
        raise
    except (ValueError, TypeError, KeyError, EOFError, RuntimeError, OSError) as exc:
        raise generations.damaged(gen.parent, gen, f"文件无法读取（{str(exc)[:80]}）") from None
    if not (len(chunks) == len(vectors) == index.ntotal):
        raise generations.damaged(
            gen.parent, gen, f"{len(chunks)} 个文本块、{len(vectors)} 个向量、{index.ntotal} 条索引项不一致"
        )
    extras = {name: (gen / name).read_bytes() for name in EXTRA_FILES if (gen / name).exists()}
    return IndexData(manifest, chunks, vectors, index, extras, folder=gen)


def _read_chunks(path: Path, manifest: Manifest) -> list[Chunk]:
    with open(path, encoding="utf-8") as fh:
        chunks = [Chunk(**json.loads(line)) for line in fh if line.strip()]
    if chunks and not chunks[0].doc_id:  # format 1: chunks were tied to documents by display name
        by_source = {e.source: e.doc_id for e in manifest.documents.values()}
        chunks = [replace(c, doc_id=by_source.get(c.source, "")) for c in chunks]
    return chunks


def _read_faiss(path: Path):
    import faiss

    if not path.exists():  # faiss says only "could not open"
        raise FileNotFoundError(2, "No such file", str(path))
    return faiss.read_index(str(path))


def save(index_dir: Path, data: IndexData, writers: Iterable[Callable[[Path], None]] = ()) -> Path:
    """Write ``data`` as a new generation and make it current atomically; returns its folder.

    Each of ``writers`` is called with the generation's folder before it is committed, to add files of
    its own (the keyword index), which then appear atomically with the rest.
    """
    import faiss

    generations.make_folder(index_dir)
    tmp = Path(tempfile.mkdtemp(prefix=generations.TMP_PREFIX, dir=index_dir))
    try:
        data.manifest.updated_at = time.time()
        data.manifest.format_version = FORMAT_VERSION
        (tmp / "manifest.json").write_text(data.manifest.to_json(), encoding="utf-8")
        with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as fh:
            for chunk in data.chunks:
                fh.write(json.dumps(asdict(chunk), ensure_ascii=False) + "\n")
        np.save(tmp / "vectors.npy", np.ascontiguousarray(data.vectors, dtype=np.float32))
        faiss.write_index(data.faiss_index, str(tmp / "index.faiss"))
        for name, raw in data.extras.items():
            if name in EXTRA_FILES:
                (tmp / name).write_bytes(raw)
        for write in writers:
            write(tmp)
        generations.seal(tmp)  # last: covers every file written above
        gen = index_dir / f"{generations.PREFIX}{time.time_ns()}"
        tmp.rename(gen)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    previous = generations.flip(index_dir, gen.name)
    generations.prune(index_dir, keep={gen.name, previous or gen.name})
    return gen


def rollback(index_dir: Path) -> tuple[str | None, str]:
    """Make the newest intact earlier generation current (verified by hash and by loading it)."""
    with write_lock(index_dir):
        gen = generations.rollback_candidate(index_dir, hashes=True)
        if gen is None:
            raise IndexDamagedError(f"没有可以回退到的完好的上一代索引。修复：{generations.REBUILD_HINT}。")
        load_generation(gen)
        return generations.flip(index_dir, gen.name), gen.name


def check(index_dir: Path) -> tuple[Path | None, list[str]]:
    """Verify the current generation: every file against its recorded size and sha256, then a full load."""
    gen = current_generation(index_dir)
    if gen is None:
        return None, []
    sealed = generations.file_table(gen) is not None
    problems = generations.verify(gen, hashes=True) if sealed else []
    if not problems:
        try:
            load_generation(gen)  # an unsealed (format 1) generation can only be checked this way
        except (IndexDamagedError, OSError) as exc:
            problems.append(str(exc))
    return gen, problems


@contextmanager
def write_lock(index_dir: Path) -> Iterator[None]:
    """Hold the index's writer lock, or fail at once when another process holds it."""
    from filelock import FileLock, Timeout

    generations.make_folder(index_dir)
    lock = FileLock(str(index_dir / LOCK))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise IndexBusyError(f"另一个进程正在写入索引 {index_dir.name}/，请等它完成后再试。") from None
    try:
        yield
    finally:
        lock.release()


def _format_advice(version: int) -> str:
    """What to do about an index of another format: a newer one needs a newer program, never a rebuild."""
    if isinstance(version, int) and version > FORMAT_VERSION:
        return (f"索引格式版本 {version} 比本程序能读的 {FORMAT_VERSION} 新：它是由更新版本的 rag 写入的。"
                "请升级 rag 后再用（不要运行 --rebuild，那会丢掉这个索引）。")
    return f"索引格式版本 {version} 与本程序的 {FORMAT_VERSION} 不符，请运行 `rag ingest --rebuild`。"
