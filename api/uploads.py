"""Files sent to ``POST /api/documents``: into the uploads folder under their own names, then ingested.

As on the page: each file is copied into ``RAG_UPLOADS_DIR`` (so a document uploaded here and on the
page is one document), a file it replaces is backed up first, and a file the ingest refuses, or a
batch whose ingest fails, puts the folder back as it was. The checks are the ingest's own (type,
size, empty, undecodable); only the name is checked here, since it comes from the client.
"""

from __future__ import annotations

import shutil
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from rag import ingest
from rag.index.ingestion import IngestReport
from rag.settings import Settings

MAX_NAME_BYTES = 255  # what a file system takes for one name


@dataclass
class Staged:
    """Files copied into the uploads folder, each with the backup of the file it replaced (if any)."""

    files: list[tuple[Path, Path | None]] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (name as sent, reason)


def safe_name(sent: str | None) -> str | None:
    """The file name to store an upload under (its last path part), or None when it cannot be one."""
    name = (sent or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name or name in (".", "..") or name.startswith("."):
        return None
    if any(unicodedata.category(ch).startswith("C") for ch in name):  # control and format characters
        return None
    return name if len(name.encode("utf-8")) <= MAX_NAME_BYTES else None


def stage(uploads: list[tuple[str | None, BinaryIO]], folder: Path) -> Staged:
    """Copy each ``(name, file)`` into ``folder``; a bad or repeated name is refused, not copied."""
    folder.mkdir(parents=True, exist_ok=True)
    staged = Staged()
    taken: set[str] = set()
    for sent, data in uploads:
        name = safe_name(sent)
        shown = (sent or "").strip()[:100] or "（没有文件名）"
        if name is None:
            staged.refused.append((shown, "文件名无效：不能为空、不能以点开头、不能含控制字符，且不超过 255 字节"))
            continue
        if name in taken:
            staged.refused.append((shown, "同一次上传里有同名文件，只导入了第一个"))
            continue
        taken.add(name)
        target = folder / name
        if target.is_symlink():  # writing through a link placed in the folder would write elsewhere
            staged.refused.append((shown, "上传目录里已有同名的符号链接，没有覆盖它"))
            continue
        backup = None
        if target.exists():
            backup = Path(tempfile.mkdtemp(prefix="rag-upload-")) / name
            shutil.copy2(target, backup)
        with open(target, "wb") as out:
            shutil.copyfileobj(data, out)
        staged.files.append((target, backup))
    return staged


def restore(staged: Staged, rejected: set[str]) -> None:
    """Put back what a rejected file replaced (or remove it), and drop the backups: as the page does."""
    from ui.actions import unstage

    unstage(staged.files, rejected)


def receive(uploads: list[tuple[str | None, BinaryIO]], settings: Settings) -> IngestReport:
    """Stage and ingest the uploads; the report's ``skipped`` also lists the names refused here."""
    staged = stage(uploads, Path(settings.uploads_dir))
    try:
        report = ingest([target for target, _ in staged.files], settings=settings) if staged.files else IngestReport()
    except BaseException:  # nothing was added: the uploads folder goes back as it was
        restore(staged, {target.name for target, _ in staged.files})
        raise
    restore(staged, {name for name, _ in report.skipped})
    report.skipped[:0] = staged.refused
    return report


def remove_copy(path: str, settings: Settings) -> None:
    """Delete a removed document's file when it is a copy in the uploads folder (never a namesake elsewhere)."""
    file = Path(path or "")
    if file.name and file.parent == Path(settings.uploads_dir).resolve():
        file.unlink(missing_ok=True)
