"""The progress of one ingest: chunks embedded of the chunks to embed, with the files not yet read estimated by size."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

Progress = Callable[[float, str], None]
_BYTES_PER_CHUNK = 1200  # a first guess (UTF-8 Chinese, 500/100 chunks) until files were chunked


class Meter:
    """Progress in chunks embedded of the chunks to embed (unread files estimated by size). It never goes back:
    the fraction only grows, and the chunk total is named once known (files read of all files until then)."""

    def __init__(self, progress: Progress, files: list[Path]):
        self.progress = progress
        self.unread = sum(_size(f) for f in files)
        self.files, self.opened, self.fraction = len(files), 0, 0.0
        self.known = self.done = self.bytes_chunked = self.chunks_seen = 0

    def opening(self, name: str) -> None:
        self.opened += 1
        self.show(name)

    def read(self, path: Path, chunks: int) -> None:
        size = _size(path)
        self.unread -= size
        if chunks:
            self.known += chunks
            self.bytes_chunked += size
            self.chunks_seen += chunks

    def embedded(self, count: int, name: str) -> None:
        self.done += count
        self.show(name)

    def show(self, name: str) -> None:
        per_chunk = self.bytes_chunked / self.chunks_seen if self.chunks_seen else _BYTES_PER_CHUNK
        total = max(self.known + round(max(self.unread, 0) / per_chunk), self.done, 1)
        self.fraction = max(self.fraction, self.done / total * 0.95)
        if self.opened < self.files or self.unread > 0:  # files still to read: the chunk total is a guess
            embedded = f" · 已嵌入 {self.done} 块" if self.done else ""
            return self.progress(self.fraction, f"读取文件 {self.opened}/{self.files}{embedded} · {name}")
        self.progress(self.fraction, f"{self.done}/{max(self.known, self.done)} 块 · {name}")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except (OSError, RuntimeError):
        return 0
