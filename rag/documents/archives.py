"""Bound what a zip-based document (.docx, and any later zip format) may unpack to, before a parser opens it."""

from __future__ import annotations

import io
import zipfile

from rag.errors import DocumentError

# Formats that are zip archives inside; every one is checked by ``check_archive`` before parsing.
ARCHIVE_SUFFIXES = (".docx", ".xlsx")

# A genuine document unpacks to little more than its own size: photos are stored already
# compressed, and even a several-hundred-page text's XML is a few MB. A "zip bomb" unpacks
# to hundreds of times its size, and the parsers hold all of it in memory (python-docx
# parsed 120 MB of XML from a 340 KB file in 17 s and 754 MB).
UNPACK_FACTOR = 2  # at most this many times the file size limit
UNPACK_CAP = 100 * 1024 * 1024  # and never more than this, whatever the size limit
MAX_PARTS = 2000  # a real .docx has tens of parts; hundreds with many pictures


def unpack_limit(max_bytes: int | None) -> int:
    """The most an archive may unpack to, given the size limit for a file (``None``: no file limit)."""
    if max_bytes is None:
        return UNPACK_CAP
    return min(UNPACK_FACTOR * max_bytes, UNPACK_CAP)


def check_archive(raw: bytes, name: str, *, max_bytes: int | None = None) -> None:
    """Raise ``DocumentError`` when the archive has too many parts or unpacks to too much.

    Only the central directory is read, nothing is decompressed; a damaged archive passes
    here and is refused by the format's parser. The declared sizes are
    enough: Python's ``zipfile`` (which python-docx uses) never inflates a part past its
    declared size; a part that claims less than it holds fails its CRC check instead.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        return  # not a readable archive at all: the format's parser refuses it with its own message
    if len(parts) > MAX_PARTS:
        raise DocumentError(name, f"文件内部有 {len(parts)} 个部件，超过上限 {MAX_PARTS}，可能是恶意构造的压缩包，已拒绝")
    unpacked = sum(part.file_size for part in parts)
    limit = unpack_limit(max_bytes)
    if unpacked > limit:
        raise DocumentError(
            name,
            f"文件解压后有 {_mb(unpacked)}（压缩前 {_mb(len(raw))}），超过上限 {_mb(limit)}，"
            "可能是恶意构造的压缩包，已拒绝；如确为正常文档，请另存为 .txt 或 .pdf 后导入",
        )


def _mb(size: int) -> str:
    return f"{size / 1048576:.1f} MB"
