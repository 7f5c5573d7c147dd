"""Load .txt/.md/.pdf/.docx/.html/.xlsx/.csv files into cleaned Documents; each failure is a DocumentError a user can
read."""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from rag.documents.archives import ARCHIVE_SUFFIXES, check_archive
from rag.documents.cleaning import clean_text
from rag.errors import DocumentError
from rag.types import Document

if TYPE_CHECKING:
    from docx.table import Table

HTML_SUFFIXES = (".html", ".htm", ".xhtml")  # web pages, turned into Markdown by rag.documents.html
TABLE_SUFFIXES = (".xlsx", ".csv", ".tsv")  # spreadsheets, turned into Markdown tables by rag.documents.spreadsheets
SUPPORTED_SUFFIXES = (".txt", ".md", ".pdf", ".docx", *HTML_SUFFIXES, *TABLE_SUFFIXES)

_PAGE_NUMBER = re.compile(r"^[-–—\s]*(?:第\s*)?\d{1,4}\s*(?:页|/\s*\d{1,4})?[-–—\s]*$")

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


def iter_files(paths: Iterable[Path]) -> Iterator[Path]:
    """Expand folders (recursively, sorted, hidden entries skipped) into supported files.

    A path given explicitly is yielded even when its suffix is unsupported or it does not
    exist, so the caller can report it as skipped instead of silently ignoring it.
    """
    seen: set[Path] = set()
    for path in map(Path, paths):
        found = _walk(path) if path.is_dir() else iter([path])
        for file in found:
            key = file.absolute()
            if key not in seen:
                seen.add(key)
                yield file


def _walk(folder: Path) -> Iterator[Path]:
    for root, dirs, files in os.walk(folder):  # does not follow symlinked folders: no loops
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and Path(name).suffix.lower() in SUPPORTED_SUFFIXES:
                yield Path(root) / name


def load_document(path: Path, *, max_bytes: int | None = None) -> Document:
    """Read one file into a cleaned ``Document``; raise ``DocumentError`` with a readable reason."""
    path = Path(path)
    name = path.name
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        shown = suffix or "无扩展名"
        raise DocumentError(name, f"不支持的文件类型（{shown}），只能导入 {'、'.join(SUPPORTED_SUFFIXES)} 文件")
    raw = _read_bytes(path, max_bytes)
    if suffix in ARCHIVE_SUFFIXES:  # before any parser unpacks it
        check_archive(raw, name, max_bytes=max_bytes)
    if suffix == ".pdf":
        raw_text, encoding = _pdf_text(raw, name), "utf-8"
    elif suffix == ".docx":
        raw_text, encoding = _docx_text(raw, name), "utf-8"
    elif suffix == ".xlsx":
        from rag.documents.spreadsheets import xlsx_text

        raw_text, encoding = xlsx_text(raw, name), "utf-8"
    elif suffix in (".csv", ".tsv"):
        from rag.documents.spreadsheets import delimited_text

        decoded, encoding = decode_text(raw, name)  # Excel writes GB18030 (ANSI) .csv files on Chinese Windows
        raw_text = delimited_text(decoded, suffix, name)
    elif suffix in HTML_SUFFIXES:
        from rag.documents.html import declared_encoding, html_to_markdown  # Beautiful Soup only when a page is read

        page, encoding = decode_text(raw, name, declared=declared_encoding(raw))
        raw_text = html_to_markdown(page, name)
    else:
        raw_text, encoding = decode_text(raw, name)
    text = clean_text(raw_text)
    if not text:
        raise DocumentError(name, "文件里没有可用的文字")
    sha = hashlib.sha256(raw).hexdigest()
    return Document(source=name, text=text, sha256=sha, path=str(path), encoding=encoding)


def _read_bytes(path: Path, max_bytes: int | None) -> bytes:
    name = path.name
    try:
        info = path.stat()
    except FileNotFoundError:
        raise DocumentError(name, "文件不存在（或是指向不存在文件的快捷方式）") from None
    except OSError as exc:
        raise DocumentError(name, _os_reason(exc)) from None
    if not stat.S_ISREG(info.st_mode):
        raise DocumentError(name, "这不是一个普通文件（可能是文件夹）")
    if info.st_size == 0:
        raise DocumentError(name, "文件为空")
    # Checked on the size the file system reports, before reading anything.
    if max_bytes is not None and info.st_size > max_bytes:
        raise DocumentError(name, f"文件太大（{_mb(info.st_size)}），上限是 {_mb(max_bytes)}")
    try:
        with path.open("rb") as handle:
            # Never read more than the limit allows, even if the file grew after stat().
            raw = handle.read() if max_bytes is None else handle.read(max_bytes + 1)
    except OSError as exc:
        raise DocumentError(name, _os_reason(exc)) from None
    if max_bytes is not None and len(raw) > max_bytes:
        raise DocumentError(name, f"文件太大，上限是 {_mb(max_bytes)}")
    if not raw:
        raise DocumentError(name, "文件为空")
    return raw


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "没有读取这个文件的权限"
    if isinstance(exc, IsADirectoryError):
        return "这不是一个普通文件（可能是文件夹）"
    return f"无法读取文件（{exc.strerror or exc}）"


def _mb(size: int) -> str:
    return f"{size / 1048576:.1f} MB"  # MiB, like the max_file_mb setting


def decode_text(raw: bytes, name: str, declared: str | None = None) -> tuple[str, str]:
    """Decode text bytes: BOM, then the encoding the file ``declared`` (a web page's charset), then strict
    UTF-8, then GB18030 when plausible, then detection."""
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            return _strict(raw, encoding, name), encoding
    if b"\x00" in raw:
        raise DocumentError(name, "这是二进制文件，不是文本文件")
    if declared is not None:
        try:
            return raw.decode(declared), declared
        except UnicodeDecodeError:
            pass  # the page is not in the encoding it names (a copied template's <meta>): read it as undeclared
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        if _cut_utf8(raw, exc):  # a UTF-8 file cut off inside its last character
            return raw[: exc.start].decode("utf-8"), "utf-8"
    # Before detection, on purpose: charset-normalizer reads short GBK files as big5, cp949
    # or utf_16_be ("测试" -> "聆彸"; about half of random 2-50 character GBK slices of the
    # sample). GB18030 is a superset of GBK/GB2312 and the usual legacy encoding of our
    # users, so it wins when it decodes strictly into mostly common simplified characters.
    text = _as_gb18030(raw)
    if text is not None:
        return text, "gb18030"
    return _detected(raw, name)


def _cut_utf8(raw: bytes, exc: UnicodeDecodeError) -> bool:
    # Only when the text before the cut is valid UTF-8 with non-ASCII in it: a GBK file can
    # also look "cut" if its last two bytes happen to start a UTF-8 sequence.
    truncated = exc.reason == "unexpected end of data" and exc.start >= len(raw) - 3
    return truncated and not raw[: exc.start].isascii()


def _strict(raw: bytes, encoding: str, name: str) -> str:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        raise DocumentError(name, "无法识别的文本编码") from None


def _as_gb18030(raw: bytes) -> str | None:
    try:
        text = raw.decode("gb18030")
    except UnicodeDecodeError:
        return None
    # Latin-1 or Big5 bytes often decode as GB18030 too, but into rare characters outside
    # GB2312; real simplified Chinese text is almost entirely inside it.
    ideographs = [c for c in text if "\u4e00" <= c <= "\u9fff"]
    if not ideographs:
        return None
    common = sum(1 for c in ideographs if _in_gb2312(c))
    return text if common / len(ideographs) >= 0.8 else None


def _in_gb2312(char: str) -> bool:
    try:
        char.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def _detected(raw: bytes, name: str) -> tuple[str, str]:
    from charset_normalizer import from_bytes

    best = from_bytes(raw).best()
    if best is None:
        raise DocumentError(name, "无法识别的文本编码（可能不是文本文件）")
    return _strict(raw, best.encoding, name), best.encoding


def _pdf_text(raw: bytes, name: str) -> str:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError(name, "PDF 文件有密码保护，请先解除密码")
        pages = [page.extract_text() or "" for page in reader.pages]
    except DocumentError:
        raise
    except Exception:  # pypdf raises many types on damaged files; all mean the same to a user
        raise DocumentError(name, "不是有效的 PDF 文件（文件可能已损坏）") from None
    if not any(page.strip() for page in pages):
        raise DocumentError(name, "PDF 里没有可提取的文字（可能是扫描件或图片）")
    return "\n\n".join(map(_without_page_number, pages))


def _without_page_number(page: str) -> str:
    """Drop a page number printed above or below the text ("3", "- 3 -", "第3页", "3/12").

    Left in, it would sit between the two halves of a sentence broken across pages.
    """
    lines = page.strip().split("\n")
    for index in (-1, 0):
        if lines and _PAGE_NUMBER.match(lines[index]):
            lines.pop(index)
    return "\n".join(lines)


def _docx_text(raw: bytes, name: str) -> str:
    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(raw))
        blocks = [
            _table_text(item) if isinstance(item, Table) else _paragraph_text(item)
            for item in document.iter_inner_content()
        ]
    except Exception:  # zipfile, lxml and python-docx errors: the file is not a usable .docx
        raise DocumentError(name, "不是有效的 Word（.docx）文件（文件可能已损坏）") from None
    return "\n\n".join(blocks)


def _paragraph_text(paragraph) -> str:
    """A Word paragraph as Markdown keeps its role: "Heading 2" → "## …", a list paragraph → "- …"."""
    style = (paragraph.style.name if paragraph.style is not None else "") or ""
    text = paragraph.text
    level = style.rsplit(" ", 1)[-1]
    if style.startswith("Heading") and level.isdigit() and text.strip():
        return f"{'#' * min(int(level), 6)} {text.strip()}"
    if style.startswith("Title") and text.strip():
        return f"# {text.strip()}"
    if style.startswith("List") and text.strip():
        return f"- {text.strip()}"
    return text


def _table_text(table: Table) -> str:
    rows = []
    for row in table.rows:
        cells, previous = [], None
        for cell in row.cells:
            if cell._tc is not previous:  # a merged cell is returned once per grid column
                cells.append(" ".join(cell.text.split()))
            previous = cell._tc
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)
