"""A second process for the Milvus tests: asks the shared collection questions in a loop while another process writes.

    python -m tests.milvus_worker URI FOLDER SECONDS     # prints {"searches": n, "failures": n, "errors": [...]}
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from tests.fakes import FakeEmbedder


def read_loop(uri: str, folder: Path, seconds: float) -> dict:
    from rag.retrieval.hybrid import get_retriever
    from rag.settings import Settings

    fake = FakeEmbedder()
    settings = Settings(index_dir=folder, vector_store="milvus", milvus_uri=uri,
                        embedding_model=fake.model_id)
    searches, failures, errors = 0, 0, []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            passages = get_retriever(settings, fake).search("本单位成立于哪一年？")
            # the document that never changes is always found, whatever the writer is doing
            ok = any("1990" in p.text for p in passages)
        except Exception as exc:  # reported, not raised: the test wants the count
            ok, errors = False, errors + [repr(exc)[:200]]
        searches += 1
        failures += not ok
    return {"searches": searches, "failures": failures, "errors": errors[:3]}


if __name__ == "__main__":
    print(json.dumps(read_loop(sys.argv[1], Path(sys.argv[2]), float(sys.argv[3]))))
