"""The real `rag` command in its own process for the Milvus tests: the fake embedder, and a crash on request.

    python -m tests.milvus_cli [--die-after POINT] -- ingest FOLDER     # any `rag` command line
    python -m tests.milvus_cli -- ask Q ";;" index check               # several commands, each followed by "@@ rc=N"
    python -m tests.milvus_cli search QUESTION                          # the retriever's passages, as JSON lines
    python -m tests.milvus_cli report FOLDER Q1 Q2 ...                  # what the store holds, checked (JSON)

POINT is where an update is killed (SIGKILL, no clean-up of any kind), once a changed or removed document's
old chunks are being replaced: ``delete`` (its old chunks deleted), ``insert-half`` (the first batch of new
chunks written), ``insert`` (all new chunks written), ``stats`` (BM25 statistics written), ``manifest``
(manifest written) or ``flush`` (everything sealed, the commit's journal not yet cleared); or ``call:N`` /
``repair:N``: just before the N-th Milvus client call of a commit / of the repair of an interrupted one.
The store is chosen by the environment (``RAG_VECTOR_STORE``, ``RAG_INDEX_DIR``, ``RAG_MILVUS_URI``).
"""

from __future__ import annotations

import json
import os
import signal
import sys

from tests.fakes import FakeEmbedder

POINTS = ("delete", "insert-half", "insert", "stats", "manifest", "flush")


def _die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def arm(point: str) -> None:
    """Kill this process at ``point`` of the first commit that replaces or removes a document's chunks."""
    from rag.index import milvus_collection
    from rag.index.milvus_collection import Collection

    if point.startswith(("call:", "repair:")):
        return arm_call(*point.split(":"))
    if point not in POINTS:
        raise SystemExit(f"unknown point {point!r}; one of {', '.join(POINTS)}, call:N, repair:N")
    updating = []  # set once old chunks were deleted: from then on this process is inside an update
    if point == "insert-half":
        milvus_collection.BATCH = 2  # several insert calls, so there is a middle to die in

    def after(name: str, here: str):
        original = getattr(Collection, name)

        def patched(self, *args, **kwargs):
            result = original(self, *args, **kwargs)
            if name == "delete_documents" and list(args[0] if args else kwargs.get("doc_ids", ())):
                updating.append(True)
            if updating and point == here:
                _die()
            return result

        setattr(Collection, name, patched)

    for name, here in (("delete_documents", "delete"), ("insert", "insert"), ("write_stats", "stats"),
                       ("write_manifest", "manifest"), ("flush", "flush")):
        after(name, here)
    if point == "insert-half":
        upsert = Collection._upsert

        def half(self, collection, rows):
            if updating and collection == self.name and rows:
                self._call("upsert", collection, rows[:milvus_collection.BATCH])
                _die()
            return upsert(self, collection, rows)

        Collection._upsert = half


def arm_call(where: str, n: str) -> None:
    """Kill this process just before the ``n``-th Milvus client call of a commit (``call``) or a repair (``repair``)."""
    from rag.index.milvus_collection import Collection
    from rag.index.milvus_store import MilvusStore

    inside, calls = [], [0]
    method = "commit" if where == "call" else "_finish_interrupted"
    original, call = getattr(MilvusStore, method), Collection._call

    def watched(self, *args, **kwargs):
        inside.append(True)
        try:
            return original(self, *args, **kwargs)
        finally:
            inside.pop()

    def counted(self, name, *args, **kwargs):
        if inside and name != "load_collection":
            calls[0] += 1
            if calls[0] == int(n):
                _die()
        return call(self, name, *args, **kwargs)

    setattr(MilvusStore, method, watched)
    Collection._call = counted


def use_fake_embedder() -> None:
    """The fake embedder for passages and questions alike (so an index it built is not refused)."""
    import rag.embedding.query
    import rag.index.ingestion

    fake = FakeEmbedder()
    os.environ["RAG_EMBEDDING_MODEL"] = fake.model_id
    os.environ.setdefault("RAG_BACKEND", "extractive")
    for module in (rag.index.ingestion, rag.embedding.query):
        module.get_embedder = lambda settings=None: fake


def search(question: str) -> int:
    from rag.retrieval.hybrid import get_retriever

    for p in get_retriever().search(question):
        print(json.dumps({"source": p.source, "id": p.chunk.id, "text": p.text}, ensure_ascii=False))
    return 0


def report(folder: str, questions: list[str]) -> int:
    """The store's chunks, BM25 statistics and answers, against a fresh FAISS index of ``folder`` (one JSON line).

    ``ids``: chunk ids per document in the store; ``expected``: the same from a clean ingest; ``df_wrong``:
    tokens whose stored document frequency differs from a count over the stored chunks; ``top``: per question,
    the sources of the retrieved passages and whether any passage came twice.
    """
    import tempfile
    from collections import Counter

    from rag.index import sparse
    from rag.index.ingestion import ingest
    from rag.index.stores import open_store
    from rag.retrieval.hybrid import get_retriever
    from rag.settings import get_settings

    settings = get_settings()
    store = open_store(settings)
    manifest, problems = store.verify()
    chunks = store.open().chunks()
    ids: dict[str, list[str]] = {}
    for c in chunks:
        ids.setdefault(c.source, []).append(c.id)
    stats = store.collection.stats()
    df = Counter(t for c in chunks for t in set(sparse.doc_tokens(c.indexed, stats["tokenizer"])))
    stored = store.collection.doc_freq(list(df))
    rows = store.collection._call("query", store.collection.meta, filter='key like "df:%"',
                                  output_fields=["count(*)"])[0]["count(*)"]
    top = {}
    for q in questions:
        passages = get_retriever(settings).search(q)
        top[q] = {"sources": [p.source for p in passages],
                  "repeated": len({p.chunk.id for p in passages}) != len(passages)}
    with tempfile.TemporaryDirectory() as tmp:
        clean = settings.model_copy(update={"vector_store": "faiss", "index_dir": tmp})
        ingest([folder], settings=clean)
        expected: dict[str, list[str]] = {}
        for c in open_store(clean).open().chunks():
            expected.setdefault(c.source, []).append(c.id)
    print(json.dumps({
        "problems": problems, "manifest": {e.source: e.chunks for e in manifest.documents.values()},
        "ids": {k: sorted(v) for k, v in ids.items()}, "expected": {k: sorted(v) for k, v in expected.items()},
        "stats": [stats["chunks"], stats["tokens"]],
        "counted": [len(chunks), sum(len(sparse.doc_tokens(c.indexed, stats["tokenizer"])) for c in chunks)],
        "df_wrong": sorted(t for t in df if stored.get(t) != df[t])[:5], "df_rows": [rows, len(df)], "top": top,
    }, ensure_ascii=False))
    return 0


def run(argv: list[str]) -> int:
    if argv[:1] == ["search"]:
        return search(argv[1])
    if argv[:1] == ["report"]:
        return report(argv[1], argv[2:])
    from rag.cli import main as rag

    return rag(argv)


def main(argv: list[str]) -> int:
    use_fake_embedder()
    if argv[:1] == ["--die-after"]:
        arm(argv[1])
        argv = argv[2:]
    argv = argv[1:] if argv[:1] == ["--"] else argv
    if ";;" not in argv:
        return run(argv)
    while argv:  # several commands in this one process, each followed by its exit code
        n = argv.index(";;") if ";;" in argv else len(argv)
        code = run(argv[:n])
        print(f"@@ rc={code}", flush=True)
        print(f"@@ rc={code}", file=sys.stderr, flush=True)
        argv = argv[n + 1:]
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
