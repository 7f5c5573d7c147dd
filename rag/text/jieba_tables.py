"""jieba's word tables, read lazily from a cache in the user cache folder instead of at the first cut.

jieba's first ``cut`` loads its whole prefix dictionary (about 580,000 entries, most of a second from its
own cache) and ``import jieba.posseg`` reads its part-of-speech table from ``dict.txt`` (another half
second), though a question needs a few dozen entries. :func:`install` (run by ``rag.text.tokens``) hooks
the import of ``jieba`` and ``jieba.posseg`` so that both tables are :class:`LazyTable` mappings over a
file built once from the same ``dict.txt``: an entry is looked up in the bucket of its first character,
and a bucket becomes a dict the first time it is asked for. The contents are jieba's own, so every cut
is the same; a custom dictionary (``jieba.set_dictionary``) or ``jieba.posseg.initialize()`` still loads
jieba's full tables as before.
"""

from __future__ import annotations

import importlib.abc
import io
import os
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

FORMAT_VERSION = 2


class LazyTable:
    """A str-keyed mapping whose entries are grouped by first character and unpacked bucket by bucket."""

    def __init__(self, path: Path, column: str):
        self._path, self._column = path, column
        self._buckets: dict[str, dict] = {}
        self._where: dict[str, tuple[int, int]] | None = None
        self._lock = threading.Lock()

    def __contains__(self, key) -> bool:
        return bool(key) and key in self._bucket(key[0])

    def __getitem__(self, key):
        if not key:
            raise KeyError(key)
        return self._bucket(key[0])[key]

    def __setitem__(self, key, value) -> None:
        self._bucket(key[0])[key] = value

    def get(self, key, default=None):
        return self._bucket(key[0]).get(key, default) if key else default

    def update(self, other) -> None:
        for key, value in dict(other).items():
            self[key] = value

    def _bucket(self, first: str) -> dict:
        bucket = self._buckets.get(first)
        if bucket is None:
            with self._lock:
                bucket = self._buckets.get(first)
                if bucket is None:
                    bucket = self._buckets[first] = self._unpack(first)
        return bucket

    def _unpack(self, first: str) -> dict:
        data = _load(self._path)
        at = data["where"].get(first)
        if at is None:
            return {}
        keys = _slice(data["keys"], data["key_bytes"], at).split("\n")
        if self._column == "tags":  # prefixes of words are not words: they have no tag
            tags = _slice(data["tags"], data["tag_bytes"], at).split("\n")
            return {k: t for k, t in zip(keys, tags) if t}
        rows = data["rows"]
        return dict(zip(keys, data["freqs"][rows[at]:rows[at + 1]].tolist()))


def _slice(blob: bytes, offsets: list[int], at: int) -> str:
    return blob[offsets[at]:offsets[at + 1]].decode("utf-8")


_files: dict[Path, dict] = {}
_files_lock = threading.Lock()


def _load(path: Path) -> dict:
    """The table file: keys, tags and counts by bucket, each bucket's bounds (read once per process)."""
    with _files_lock:
        data = _files.get(path)
        if data is None:
            with np.load(path) as arrays:
                data = {name: arrays[name] for name in ("freqs", "rows")}
                data.update(keys=arrays["keys"].tobytes(), tags=arrays["tags"].tobytes(),
                            key_bytes=arrays["key_bytes"].tolist(), tag_bytes=arrays["tag_bytes"].tolist(),
                            total=int(arrays["total"][0]))
                data["rows"] = arrays["rows"].tolist()
                firsts = arrays["firsts"].tobytes().decode("utf-8")
            data["where"] = {c: i for i, c in enumerate(firsts)}
            _files[path] = data
    return data


def build_tables(dict_file, target: Path) -> None:
    """Write the table file from jieba's ``dict.txt`` (a binary file object), as jieba reads it."""
    freqs: dict[str, int] = {}
    tags: dict[str, str] = {}
    total = 0  # as jieba counts it: every line's count, a repeated word too
    for raw in dict_file:
        line = raw.strip().decode("utf-8")
        if not line:
            continue
        word, freq, *rest = line.split(" ")
        freqs[word] = int(freq)
        total += int(freq)
        if rest:
            tags[word] = rest[0]
        for end in range(1, len(word)):  # jieba's prefix dictionary: every prefix of a word, count 0
            freqs.setdefault(word[:end], 0)
    keys = sorted(freqs, key=lambda k: (k[0], k))
    if any("\n" in k for k in keys) or any("\n" in t for t in tags.values()):
        raise ValueError("jieba dictionary entry with a line break")
    firsts: list[str] = []
    rows: list[int] = []
    key_blob, tag_blob = bytearray(), bytearray()
    key_bytes: list[int] = []
    tag_bytes: list[int] = []
    for i, key in enumerate(keys):
        if not firsts or firsts[-1] != key[0]:
            firsts.append(key[0])
            rows.append(i)
            key_bytes.append(len(key_blob))
            tag_bytes.append(len(tag_blob))
            sep = b""
        else:
            sep = b"\n"
        key_blob += sep + key.encode("utf-8")
        tag_blob += sep + tags.get(key, "").encode("utf-8")
    rows.append(len(keys))
    key_bytes.append(len(key_blob))
    tag_bytes.append(len(tag_blob))
    arrays = {
        "keys": np.frombuffer(bytes(key_blob), dtype=np.uint8),
        "tags": np.frombuffer(bytes(tag_blob), dtype=np.uint8),
        "freqs": np.asarray([freqs[k] for k in keys], dtype=np.int64),
        "firsts": np.frombuffer("".join(firsts).encode("utf-8"), dtype=np.uint8),
        "rows": np.asarray(rows, dtype=np.int64),
        "key_bytes": np.asarray(key_bytes, dtype=np.int64),
        "tag_bytes": np.asarray(tag_bytes, dtype=np.int64),
        "total": np.asarray([total], dtype=np.int64),
    }
    fd, tmp = tempfile.mkstemp(prefix=".jieba-", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)  # atomic: a reader sees the old file or the whole new one
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def table_file(jieba) -> Path | None:
    """The cached table file for jieba's default dictionary, built on first use; None for another dictionary."""
    tokenizer = jieba.dt
    if tokenizer.dictionary != jieba.DEFAULT_DICT:
        return None
    from rag.settings import get_settings

    folder = Path(get_settings().cache_dir) / "jieba"
    target = folder / f"tables-v{FORMAT_VERSION}-{jieba.__version__}.npz"
    if not target.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        with tokenizer.get_dict_file() as fh:
            build_tables(fh, target)
    return target


def _patch_tokenizer(jieba) -> None:
    tokenizer = jieba.dt
    if tokenizer.initialized:
        return
    path = table_file(jieba)
    if path is None:
        return
    tokenizer.FREQ = LazyTable(path, "freqs")
    tokenizer.total = _load(path)["total"]
    tokenizer.initialized = True


class _Hook(importlib.abc.MetaPathFinder):
    """Patches ``jieba`` right after it is imported and ``jieba.posseg`` around its import."""

    def find_spec(self, name, path, target=None):
        if name not in ("jieba", "jieba.posseg"):
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _Loader(spec.loader, name)
                return spec
        return None


class _Loader(importlib.abc.Loader):
    def __init__(self, loader, name: str):
        self._loader, self._name = loader, name

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        module.__loader__ = module.__spec__.loader = self._loader  # jieba finds its data through its loader
        if self._name == "jieba":
            self._loader.exec_module(module)
            _try(_patch_tokenizer, module)
            return
        import jieba

        path = _try(table_file, jieba)
        if path is not None:  # POSTokenizer reads dict.txt when it is made: hand it an empty one
            jieba.dt.get_dict_file = lambda: io.BytesIO(b"")
        try:
            self._loader.exec_module(module)
        finally:
            jieba.dt.__dict__.pop("get_dict_file", None)
        if path is not None:
            module.dt.word_tag_tab = LazyTable(path, "tags")


def _try(fn, *args):
    try:
        return fn(*args)
    except Exception:  # noqa: BLE001 - a broken cache must never break jieba: it then loads as usual
        return None


def install() -> None:
    """Hook jieba's import (once per process); a jieba already imported is patched if still untouched."""
    if any(isinstance(f, _Hook) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _Hook())
    if "jieba" in sys.modules:
        _try(_patch_tokenizer, sys.modules["jieba"])
