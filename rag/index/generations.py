"""Generation folders of the saved index: the CURRENT pointer, the sealed table of files, checks, rollback.

A writer fills a temporary folder, seals it (``files.json``: size and sha256 of every file in
it, written last), renames it to ``gen-<ns>`` and flips ``CURRENT`` with an atomic rename.
The generation that was current before stays on disk, so a damaged index can be rolled back;
older ones are deleted only after a grace period, so a reader that started loading one
finishes on it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from rag.errors import IndexDamagedError, IndexLocationError

POINTER = "CURRENT"
FILES = "files.json"
PREFIX = "gen-"
TMP_PREFIX = ".gen-tmp-"
# A generation that stopped being current this many seconds ago may still be read by a process
# that picked it up just before; only after that is it deleted (the one just before current never is).
GRACE_SECONDS = 30.0
REBUILD_HINT = "用原始文件运行 `rag ingest --rebuild 文件或目录` 重建索引"


def check_folder(index_dir: Path) -> None:
    """Refuse an index location that is a file (RAG_INDEX_DIR set to a file by mistake)."""
    if index_dir.exists() and not index_dir.is_dir():
        raise IndexLocationError(
            f"索引位置 {index_dir} 是一个文件而不是文件夹；请把 RAG_INDEX_DIR 设为一个文件夹（或移走这个文件）。"
        )


def make_folder(index_dir: Path) -> None:
    """Create the index folder for a writer, with a clear error when that is impossible."""
    check_folder(index_dir)
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=index_dir, prefix=".probe-")
        probe.close()
    except OSError as exc:
        raise IndexLocationError(
            f"无法在 {index_dir} 写入索引（{exc.strerror or exc}）；请把 RAG_INDEX_DIR 设为一个可写的文件夹。"
        ) from None


def generations(index_dir: Path) -> list[Path]:
    """Every committed generation folder, oldest first."""
    if not index_dir.is_dir():
        return []
    found = [p for p in index_dir.iterdir() if p.name.startswith(PREFIX) and p.is_dir()]
    return sorted(found, key=lambda p: (len(p.name), p.name))


def holds_index(index_dir: Path) -> bool:
    """True when the folder holds an index (readable or not): a pointer or any generation."""
    check_folder(index_dir)
    return (index_dir / POINTER).exists() or bool(generations(index_dir))


def current(index_dir: Path) -> Path | None:
    """The committed generation; None only when the folder holds no index at all."""
    check_folder(index_dir)
    pointer = index_dir / POINTER
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        if not generations(index_dir):
            return None
        raise damaged(index_dir, None, "指针文件 CURRENT 丢失") from None
    except (OSError, UnicodeDecodeError):
        raise damaged(index_dir, None, "指针文件 CURRENT 无法读取") from None
    if not name.startswith(PREFIX) or Path(name).name != name:
        raise damaged(index_dir, None, "指针文件 CURRENT 的内容已损坏")
    gen = index_dir / name
    if not gen.is_dir():
        raise damaged(index_dir, None, f"CURRENT 指向的 {name} 不存在")
    return gen


def current_name(index_dir: Path) -> str | None:
    """The generation the pointer names when that folder exists; None otherwise (never raises)."""
    try:
        name = (index_dir / POINTER).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    ok = name.startswith(PREFIX) and Path(name).name == name and (index_dir / name).is_dir()
    return name if ok else None


def seal(folder: Path) -> None:
    """Record size and sha256 of every file in ``folder`` (written last), and flush all to disk."""
    table = {}
    for child in sorted(folder.iterdir()):
        if child.is_file() and child.name != FILES:
            table[child.name] = {"size": child.stat().st_size, "sha256": sha256_of(child)}
            _fsync(child)
    (folder / FILES).write_text(json.dumps({"files": table}, indent=1), encoding="utf-8")
    _fsync(folder / FILES)


def sha256_of(path: Path) -> str:
    """Hash of a file's bytes, streamed so a huge file doesn't fill memory."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_table(gen: Path) -> dict[str, dict] | None:
    """The sealed table of a generation; None when it has none (written by an older version)."""
    try:
        return json.loads((gen / FILES).read_text(encoding="utf-8"))["files"]
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return {FILES: {"size": -1, "sha256": ""}}  # unreadable table: reported as damaged by verify


def verify(gen: Path, *, hashes: bool = True) -> list[str]:
    """What is wrong with ``gen`` compared with what was recorded when it was written (empty: intact)."""
    table = file_table(gen)
    if table is None:
        return [f"缺少校验表 {FILES}"]
    if FILES in table:
        return [f"校验表 {FILES} 已损坏"]
    problems = []
    for name, want in table.items():
        path = gen / name
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            problems.append(f"{name} 缺失")
            continue
        if size != want["size"]:
            problems.append(f"{name} 大小不符（写入时 {want['size']} 字节，现在 {size} 字节，可能被截断）")
        elif hashes and sha256_of(path) != want["sha256"]:
            problems.append(f"{name} 内容与写入时不符（sha256 不同）")
    return problems


def rollback_candidate(index_dir: Path, *, hashes: bool = False) -> Path | None:
    """The newest intact generation other than the current one (older than it when it is known)."""
    now = current_name(index_dir)
    for gen in reversed(generations(index_dir)):
        if gen.name == now or (now and _newer(gen.name, now)):
            continue
        if not verify(gen, hashes=hashes):
            return gen
    return None


def damaged(index_dir: Path, gen: Path | None, problem: str) -> IndexDamagedError:
    """An error saying what is wrong and how to repair it (rollback when an intact older generation exists)."""
    where = f"{index_dir}" + (f"（{gen.name}）" if gen else "")
    candidate = rollback_candidate(index_dir)
    if candidate is not None:
        fix = f"运行 `rag index rollback` 回到上一代完好的索引（{candidate.name}），或{REBUILD_HINT}"
    else:
        fix = REBUILD_HINT
    return IndexDamagedError(f"索引已损坏：{where} {problem}。修复：{fix}。")


def flip(index_dir: Path, name: str) -> str | None:
    """Make ``name`` current with an atomic rename; returns the generation that was current before."""
    previous = current_name(index_dir)
    fd, tmp = tempfile.mkstemp(prefix=".pointer-", dir=index_dir)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(name + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, index_dir / POINTER)
    _fsync(index_dir)
    if previous and previous != name:
        os.utime(index_dir / previous)  # its mtime now says when it stopped being current
    return previous


def prune(index_dir: Path, keep: set[str], grace: float = GRACE_SECONDS) -> None:
    """Delete generations not in ``keep`` that stopped being current over ``grace`` seconds ago, and stale temp folders."""
    now = time.time()
    for child in index_dir.iterdir():
        if child.name.startswith(TMP_PREFIX):  # left by a writer that died (we hold the lock)
            shutil.rmtree(child, ignore_errors=True)
        elif child.name.startswith(PREFIX) and child.name not in keep and child.is_dir():
            try:
                retired = child.stat().st_mtime
            except FileNotFoundError:
                continue
            if now - retired > grace:
                shutil.rmtree(child, ignore_errors=True)


def _newer(a: str, b: str) -> bool:
    return (len(a), a) > (len(b), b)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
