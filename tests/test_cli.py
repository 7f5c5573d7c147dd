"""The `rag` command as a user runs it: ingest with a summary, index info, bad files named, clear errors."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def rag(*args, index_dir, timeout=300):
    env = {**os.environ, "RAG_INDEX_DIR": str(index_dir), "HF_HUB_OFFLINE": "1", "RAG_BACKEND": "extractive"}
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_ingest_info_ask_and_rebuild(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "会员.txt").write_bytes("本协会2025年共有会员456名，其中新会员78名。".encode("gb18030"))
    (docs / "空.txt").write_bytes(b"")
    index = tmp_path / "vs"

    out = rag("ingest", str(docs), index_dir=index)
    assert out.returncode == 0, out.stderr
    assert "文档 1 篇" in out.stdout and "新增 1" in out.stdout and "秒" in out.stdout
    assert "跳过：空.txt" in out.stderr

    again = rag("ingest", str(docs), index_dir=index)
    assert "未变 1" in again.stdout and "本次嵌入 0 个文本块" in again.stdout

    info = rag("index", "info", index_dir=index)
    assert info.returncode == 0 and "会员.txt" in info.stdout and "intfloat/multilingual-e5-small" in info.stdout

    ask = rag("ask", "本协会2025年共有多少名会员？", index_dir=index)
    assert ask.returncode == 0 and "456" in ask.stdout and "会员.txt" in ask.stdout

    rebuilt = rag("ingest", "--rebuild", str(docs), index_dir=index)
    assert rebuilt.returncode == 0 and "新增 1" in rebuilt.stdout


def test_missing_path_and_empty_question_are_clear_errors(tmp_path):
    out = rag("ingest", str(tmp_path / "nope"), index_dir=tmp_path / "vs")
    assert out.returncode == 1 and "不存在" in out.stderr
    info = rag("index", "info", index_dir=tmp_path / "vs")
    assert info.returncode == 1 and "还没有索引" in info.stdout
    ask = rag("ask", "   ", index_dir=tmp_path / "vs")
    assert ask.returncode == 2 and "问题为空" in ask.stderr and "Traceback" not in ask.stderr


def test_a_full_disk_is_one_line_saying_the_index_is_unchanged():
    import errno

    from rag.cli import _one_line

    for exc in (OSError(errno.ENOSPC, "No space left on device"), OSError("11136 requested and 992 written"),
                OSError(errno.EFBIG, "File too large")):
        line = _one_line(exc)
        assert "磁盘空间不足" in line and "requested" not in line and "\n" not in line


@pytest.mark.parametrize("command", [["-m", "rag.cli", "ui"], ["-m", "ui"]])
def test_a_taken_port_is_one_chinese_line_naming_another_port(tmp_path, command):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "RAG_INDEX_DIR": str(tmp_path / "vs"), "HF_HUB_OFFLINE": "1"}
        out = subprocess.run([sys.executable, *command, "--port", str(port)], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=120)
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert out.returncode != 0 and len(lines) == 1, out.stderr
    assert f"端口 {port} 已被占用" in lines[0] and f"--port {port + 1}" in lines[0] and "GRADIO" not in lines[0]
    assert not (tmp_path / "vs").exists()  # refused before any index was built
