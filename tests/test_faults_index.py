"""Fault cases for the saved index, with real processes and real files: nothing a user ingested is ever lost.

Documents keep their identity; readers never write; damage is found, named and repaired (check,
rollback, rebuild); a reader racing a writer always loads a whole generation; SIGKILL and Ctrl-C
mid-ingest leave the index as it was; CLI failures are one Chinese line, never a traceback.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rag.index import generations
from rag.index import faiss_files as store
from rag.index import faiss_store
from rag.errors import IndexDamagedError
from rag.index.ingestion import EMBED_GROUP_CHUNKS, ensure_index, ingest, list_documents
from tests.conftest import ROOT, SAMPLE
from tests.fakes import FakeEmbedder


def _env(index: Path, **extra) -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "RAG_INDEX_DIR": str(index), "HF_HUB_OFFLINE": "1",
            "RAG_BACKEND": "extractive", "RAG_CORPUS_DIR": str(SAMPLE), **extra}


def rag(*args, index: Path, timeout: float = 120, **extra) -> subprocess.CompletedProcess:
    """The real `rag` command (no embedding happens in these calls)."""
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], cwd=ROOT, env=_env(index, **extra),
                          capture_output=True, text=True, timeout=timeout)


def worker(*args, index: Path, **kw) -> subprocess.Popen:
    """`python -m tests.fault_worker ...`: the CLI or a loop with the small fake embedder."""
    return subprocess.Popen([sys.executable, "-m", "tests.fault_worker", *args], cwd=ROOT, env=_env(index),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with the hash of its bytes (the lock file aside)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != store.LOCK}


def one_line_error(out: subprocess.CompletedProcess) -> str:
    assert out.returncode != 0, out.stdout
    assert "Traceback" not in out.stderr, out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, out.stderr
    return lines[0]


@pytest.fixture
def two_generations(corpus, settings, fake_embedder):
    """An index committed twice: the current generation and an intact previous one."""
    ingest([corpus], settings=settings, embedder=fake_embedder)
    (corpus / "新增.txt").write_text("补充材料：2025年共收到提案321件。\n", encoding="utf-8")
    ingest([corpus], settings=settings, embedder=fake_embedder)
    assert len(generations.generations(settings.index_dir)) == 2
    return settings


# --- document identity ------------------------------------------------------------------------

def _same_name_files(tmp_path: Path) -> list[Path]:
    files = []
    for top, text in (("甲", "甲单位2024年共有会员12名。"), ("乙", "乙单位2024年共有会员34名。"), ("丙", "丙单位2024年共有会员56名。")):
        folder = tmp_path / top / "通知"
        folder.mkdir(parents=True)
        (folder / "x.txt").write_text(text + "\n", encoding="utf-8")
        files.append(folder / "x.txt")
    return files


def test_namesakes_in_different_folders_keep_their_own_names_and_chunks(tmp_path, settings, fake_embedder):
    files = _same_name_files(tmp_path)
    for path in files:  # one ingest each, as a user adds folders over time
        ingest([path.parent], settings=settings, embedder=fake_embedder)
    names = [d.source for d in list_documents(settings)]
    assert len(names) == len(set(names)) == 3
    files[1].write_text("乙单位2025年共有会员99名。\n", encoding="utf-8")
    report = ingest([files[1].parent], settings=settings, embedder=fake_embedder)
    assert len(report.updated) == 1
    texts = " ".join(c.text for c in store.load(settings.index_dir).chunks)
    assert "甲单位2024年共有会员12名" in texts and "丙单位2024年共有会员56名" in texts
    assert "99名" in texts and "34名" not in texts


def test_a_manifest_entry_never_blocks_repairing_a_document_whose_chunks_are_missing(corpus, settings, fake_embedder):
    ingest([corpus], settings=settings, embedder=fake_embedder)
    data = store.load(settings.index_dir)
    lost = next(iter(data.manifest.documents.values()))
    keep = [i for i, c in enumerate(data.chunks) if c.doc_id != lost.doc_id]
    data.chunks, data.vectors = [data.chunks[i] for i in keep], data.vectors[keep]
    data.faiss_index = faiss_store.build_faiss(data.vectors, "flat")
    store.save(settings.index_dir, data)  # the state the old name collision left behind
    report = ingest([corpus], settings=settings, embedder=fake_embedder)
    assert report.updated == [lost.source]
    repaired = store.load(settings.index_dir)
    assert sum(c.doc_id == lost.doc_id for c in repaired.chunks) == lost.chunks


def test_delete_by_identity_removes_only_that_document(tmp_path, settings, fake_embedder):
    from rag.index.ingestion import delete_document

    files = _same_name_files(tmp_path)
    ingest([f.parent for f in files], settings=settings, embedder=fake_embedder)
    second = next(d for d in list_documents(settings) if d.path == str(files[1].resolve()))
    assert delete_document(second.doc_id, settings).path == second.path
    texts = " ".join(c.text for c in store.load(settings.index_dir).chunks)
    assert "34名" not in texts and "12名" in texts and "56名" in texts


def test_an_index_of_the_previous_format_still_loads_and_updates(corpus, settings, fake_embedder):
    ingest([corpus], settings=settings, embedder=fake_embedder)
    gen = store.current_generation(settings.index_dir)
    lines = [json.loads(line) for line in (gen / "chunks.jsonl").read_text(encoding="utf-8").splitlines()]
    (gen / "chunks.jsonl").write_text("".join(json.dumps({k: v for k, v in c.items() if k != "doc_id"},
                                                         ensure_ascii=False) + "\n" for c in lines), encoding="utf-8")
    manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    manifest["format_version"] = 1
    for entry in manifest["documents"].values():
        del entry["doc_id"]
    (gen / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    (gen / generations.FILES).unlink()  # format 1 had no table of files
    data = store.load(settings.index_dir)
    assert all(c.doc_id for c in data.chunks)
    report = ingest([corpus], settings=settings, embedder=fake_embedder)
    assert report.chunks == 0 and not report.changed


# --- readers never write; damage is named with its fix -----------------------------------------

def _damage(index: Path, kind: str) -> None:
    gen = store.current_generation(index)
    if kind == "manifest-missing":
        (gen / "manifest.json").unlink()
    elif kind == "pointer-garbage":
        (index / store.POINTER).write_bytes(b"\xff\x00garbage")
    elif kind == "pointer-missing":
        (index / store.POINTER).unlink()
    else:  # a truncated file
        path = gen / kind
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


DAMAGE = ["manifest-missing", "pointer-garbage", "pointer-missing", "chunks.jsonl", "vectors.npy", "index.faiss"]


@pytest.mark.parametrize("kind", DAMAGE)
def test_a_damaged_index_is_never_rewritten_and_every_command_names_the_fix(two_generations, kind, monkeypatch, capsys):
    index = two_generations.index_dir
    _damage(index, kind)
    before = snapshot(index)
    lines = [one_line_error(rag("ask", "2025年共收到多少件提案？", index=index))]
    for args in (["index", "info"], ["index", "check"]):  # in this process: the same code, faster
        lines.append(_main_error(args, index, monkeypatch, capsys))
    for line in lines:
        assert "索引已损坏" in line and "rag ingest --rebuild" in line and "rag index rollback" in line, line
    assert snapshot(index) == before  # nothing rebuilt, nothing deleted
    with pytest.raises(IndexDamagedError, match="rollback"):
        ingest([SAMPLE], settings=two_generations, embedder=FakeEmbedder())
    assert snapshot(index) == before


def _main_error(args: list[str], index: Path, monkeypatch, capsys) -> str:
    from rag import cli
    from rag.settings import get_settings

    monkeypatch.setenv("RAG_INDEX_DIR", str(index))
    get_settings.cache_clear()
    try:
        code = cli.main(args)
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    return one_line_error(subprocess.CompletedProcess(args, code, "", err))


def test_ensure_index_builds_only_into_an_empty_folder(settings, fake_embedder):
    settings.index_dir.mkdir()
    (settings.index_dir / "gen-1").mkdir()  # a generation without a pointer is an index too
    assert ensure_index(settings) is None
    with pytest.raises(IndexDamagedError, match="CURRENT"):
        store.load(settings.index_dir)
    assert [p.name for p in settings.index_dir.iterdir()] == ["gen-1"]


def test_check_finds_a_changed_byte_and_rollback_restores_the_previous_generation(two_generations):
    index = two_generations.index_dir
    assert rag("index", "check", index=index).returncode == 0
    gen = store.current_generation(index)
    vectors = bytearray((gen / "vectors.npy").read_bytes())
    vectors[-5] ^= 0xFF  # same size, different content: only the recorded hash can tell
    (gen / "vectors.npy").write_bytes(bytes(vectors))
    line = one_line_error(rag("index", "check", index=index))
    assert "vectors.npy" in line and "sha256" in line
    assert "校验完好" not in rag("index", "info", index=index).stdout
    out = rag("index", "rollback", index=index)
    assert out.returncode == 0 and "已回退" in out.stdout, out.stderr
    assert rag("index", "check", index=index).returncode == 0
    assert not any("321件" in c.text for c in store.load(index).chunks)  # the first generation's content


def test_rebuild_repairs_a_damaged_index_without_reading_it(two_generations, corpus):
    _damage(two_generations.index_dir, "pointer-garbage")
    report = ingest([corpus], settings=two_generations, embedder=FakeEmbedder(), rebuild=True)
    assert report.total_chunks > 0
    assert store.check(two_generations.index_dir)[1] == []


def test_rollback_without_an_intact_previous_generation_says_rebuild(corpus, settings, fake_embedder):
    ingest([corpus], settings=settings, embedder=fake_embedder)
    line = one_line_error(rag("index", "rollback", index=settings.index_dir))
    assert "rag ingest --rebuild" in line


# --- readers and a writer at the same time ------------------------------------------------------

def test_a_reader_racing_a_writer_always_loads_a_whole_generation(tmp_path):
    index, folder = tmp_path / "vs", tmp_path / "docs"
    folder.mkdir()
    (folder / "fixed.txt").write_text("固定文件：本单位成立于1990年。\n", encoding="utf-8")
    ingest([folder], settings=_settings(index), embedder=FakeEmbedder())
    writer = worker("writer", str(index), str(folder), "10", index=index)
    reader = worker("reader", str(index), "10", index=index)
    wrote = json.loads(writer.communicate(timeout=120)[0])
    read = json.loads(reader.communicate(timeout=120)[0])
    assert wrote["commits"] > 20 and read["loads"] > 200, (wrote, read)
    assert read["failures"] == 0, read
    assert store.check(index)[1] == []


def _settings(index: Path):
    from rag.settings import Settings

    return Settings(index_dir=index)


# --- interrupted writers -------------------------------------------------------------------------

def _big_text(path: Path, paragraphs: int = 1500) -> Path:
    path.write_text("".join(f"第{i}段：本单位第{i}次会议讨论了第{i * 7}号提案，形成意见{i % 13}条。\n\n"
                            for i in range(paragraphs)), encoding="utf-8")
    return path


def _interrupted_ingest(corpus, settings, fake_embedder, sig) -> tuple[subprocess.Popen, str]:
    ingest([corpus], settings=settings, embedder=fake_embedder)
    _big_text(corpus / "大文件.txt", 8000)
    proc = worker("cli", "--hold", "--", "ingest", str(corpus), index=settings.index_dir)
    deadline = time.monotonic() + 60
    seen = ""
    # wait until the first batch of the big file is embedded: the ingest is then in the middle of its work
    while not re.search(r"[1-9]\d*/\d+ 块 · 大文件", seen) and time.monotonic() < deadline and proc.poll() is None:
        seen += proc.stderr.read(1)
    assert "块" in seen, seen + proc.stderr.read()
    proc.send_signal(sig)
    return proc, seen


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_an_ingest_killed_or_interrupted_mid_way_leaves_the_index_as_it_was(corpus, settings, fake_embedder, sig):
    index = settings.index_dir
    _, before_problems = store.check(index) if index.exists() else (None, [])
    proc, _ = _interrupted_ingest(corpus, settings, fake_embedder, sig)
    before = snapshot(index)  # the ingest is still embedding: nothing of it is on disk yet
    _, err = proc.communicate(timeout=60)
    if sig == signal.SIGINT:
        assert proc.returncode == 130 and "已中断" in err and "Traceback" not in err, err
    else:
        assert proc.returncode == -signal.SIGKILL
    assert snapshot(index) == before
    assert not any(p.name.startswith(generations.TMP_PREFIX) for p in index.iterdir()) or sig == signal.SIGKILL
    assert store.check(index)[1] == [] and before_problems == []
    report = ingest([corpus], settings=settings, embedder=fake_embedder)  # the lock was released
    assert report.added == ["大文件.txt"]


# --- huge files and symlink loops --------------------------------------------------------------

def test_a_huge_file_reports_progress_in_chunks_and_embeds_in_bounded_batches(tmp_path, settings):
    path = _big_text(tmp_path / "大.txt", 10000)
    sizes, updates = [], []
    embedder = FakeEmbedder()
    original = embedder.embed_passages
    embedder.embed_passages = lambda texts: sizes.append(len(texts)) or original(texts)
    report = ingest([path], settings=settings, embedder=embedder, progress=lambda f, m: updates.append((f, m)))
    assert report.chunks > 3 * EMBED_GROUP_CHUNKS and max(sizes) <= EMBED_GROUP_CHUNKS
    during = [(f, m) for f, m in updates if 0 < f < 0.95]
    assert len({round(f, 3) for f, _ in during}) >= 3  # it moves while the one file is embedded
    assert f"/{report.chunks} 块" in during[-1][1]


def test_a_symlink_loop_is_skipped_with_its_reason_and_the_rest_ingests(tmp_path, settings, fake_embedder):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "好.txt").write_text("正常文件：本单位共有会员88名。\n", encoding="utf-8")
    (folder / "环.txt").symlink_to(folder / "环.txt")
    (folder / "甲.md").symlink_to(folder / "乙.md")
    (folder / "乙.md").symlink_to(folder / "甲.md")
    report = ingest([folder], settings=settings, embedder=fake_embedder)
    assert report.added == ["好.txt"]
    skipped = dict(report.skipped)
    assert set(skipped) == {"环.txt", "甲.md", "乙.md"} and all("循环" in r for r in skipped.values())


# --- the command line: one Chinese line naming the fix, never a traceback ------------------------

def test_cli_errors_are_one_line_naming_the_fix(tmp_path):
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("x", encoding="utf-8")
    index = tmp_path / "vs"
    assert "RAG_INDEX_DIR" in one_line_error(rag("ask", "你好", index=a_file))
    assert "RAG_INDEX_DIR" in one_line_error(rag("ingest", str(SAMPLE), index=a_file / "sub"))  # cannot be created
    assert "RAG_TOP_K" in one_line_error(rag("ask", "你好", index=index, RAG_TOP_K="abc"))
    assert "--top-k" in one_line_error(rag("ask", "你好", "--top-k", "-5", index=index))
    assert "UTF-8" in one_line_error(rag("ask", "问题\udcff", index=index))
    debug = rag("--debug", "ask", "你好", index=a_file)
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_index_info_into_a_closed_pipe_is_one_line(tmp_path, settings, fake_embedder):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(1200):  # more output than a pipe holds
        (folder / f"通知-{i:04d}.txt").write_text(f"第{i}号通知：共有会员{i}名。\n", encoding="utf-8")
    ingest([folder], settings=settings, embedder=fake_embedder)
    out = subprocess.run(["bash", "-c", f"set -o pipefail; {sys.executable} -m rag.cli index info | head -n 2"],
                         cwd=ROOT, env=_env(settings.index_dir), capture_output=True, text=True, timeout=120)
    assert len(out.stdout.splitlines()) == 2
    assert "管道" in one_line_error(out)


def test_vectors_stay_with_their_chunks_after_updates_and_deletes(corpus, settings, fake_embedder):
    from rag.index.ingestion import delete_document

    ingest([corpus], settings=settings, embedder=fake_embedder)
    (corpus / "新增.txt").write_text("补充：2025年共收到提案321件。\n", encoding="utf-8")
    ingest([corpus], settings=settings, embedder=fake_embedder)
    delete_document(list_documents(settings)[0].source, settings)
    data = store.load(settings.index_dir)
    for chunk, vector in zip(data.chunks, data.vectors):
        assert np.allclose(vector, fake_embedder.embed_query(chunk.indexed))


def test_the_page_names_a_damaged_index_and_its_fix(two_generations):
    from ui import actions

    _damage(two_generations.index_dir, "chunks.jsonl")
    before = snapshot(two_generations.index_dir)
    rows, names, summary = actions.documents_view(two_generations)
    assert rows == [] and "索引已损坏" in summary and "rollback" in summary
    *_, (chat, _, status) = actions.ask("2025年共收到多少件提案？", [], [], "extractive", None, settings=two_generations)
    assert "索引已损坏" in chat[-1]["content"] and "rag ingest --rebuild" in chat[-1]["content"]
    assert snapshot(two_generations.index_dir) == before
