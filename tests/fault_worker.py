"""A separate process for the fault tests: the real CLI with a small fake embedder, a writer loop, a reader loop.

    python -m tests.fault_worker cli [--hold] -- ingest FOLDER         # `rag ...` with the fake embedder
    python -m tests.fault_worker writer INDEX FOLDER SECONDS            # commit new generations in a loop
    python -m tests.fault_worker reader INDEX SECONDS                   # load the index in a tight loop
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from tests.fakes import FakeEmbedder


class HeldFakeEmbedder(FakeEmbedder):
    """The fake embedder, which answers its first call and then waits: a test can interrupt the ingest
    in the middle however slowly it reads the progress (the wait ends with the test's signal)."""

    WAIT_SECONDS = 120.0

    def __init__(self):
        super().__init__()
        self.calls = 0

    def embed_passages(self, texts):
        self.calls += 1
        if self.calls > 1:
            time.sleep(self.WAIT_SECONDS)
        return super().embed_passages(texts)


def run_cli(argv: list[str]) -> int:
    hold = argv[:1] == ["--hold"]
    argv = argv[1:] if hold else argv
    argv = argv[1:] if argv[:1] == ["--"] else argv
    os.environ["RAG_EMBEDDING_MODEL"] = FakeEmbedder().model_id  # so an index built by the fake is not refused
    import rag.index.ingestion
    from rag.cli import main

    rag.index.ingestion.get_embedder = lambda settings=None: HeldFakeEmbedder() if hold else FakeEmbedder()
    return main(argv)


def run_writer(index: Path, folder: Path, seconds: float) -> int:
    from rag.index.ingestion import ingest
    from rag.settings import Settings

    settings = Settings(index_dir=index)
    embedder = FakeEmbedder()
    commits, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        (folder / "changing.txt").write_text(f"第{commits}次修改：本单位共有会员{commits}名。\n", encoding="utf-8")
        ingest([folder], settings=settings, embedder=embedder)
        commits += 1
    print(json.dumps({"commits": commits}))
    return 0


def run_reader(index: Path, seconds: float) -> int:
    from rag.index import faiss_files as store

    loads = failures = 0
    first = ""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            data = store.load(index)
            assert len(data.chunks) == len(data.vectors) == data.faiss_index.ntotal
            loads += 1
        except Exception as exc:  # every kind of failure counts: that is what is measured
            failures += 1
            first = first or f"{type(exc).__name__}: {exc}"
    print(json.dumps({"loads": loads, "failures": failures, "first": first}, ensure_ascii=False))
    return 0


def main(argv: list[str]) -> int:
    mode, rest = argv[0], argv[1:]
    if mode == "cli":
        return run_cli(rest)
    if mode == "writer":
        return run_writer(Path(rest[0]), Path(rest[1]), float(rest[2]))
    return run_reader(Path(rest[0]), float(rest[1]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
