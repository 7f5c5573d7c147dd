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
    assert not (tmp_path / "vs").exists()  # said at once, before any index is built


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


def rag_with(*args, env, input=None, timeout=300):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", **env}
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], cwd=ROOT, env=env, input=input,
                          capture_output=True, text=True, timeout=timeout)


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("command", [["-m", "rag.cli", "ask", "问题"], ["-m", "rag.cli", "ui"], ["-m", "ui"]])
def test_a_bad_setting_is_one_chinese_line_naming_the_allowed_values(tmp_path, command):
    env = {**os.environ, "RAG_BACKEND": "bogus", "RAG_INDEX_DIR": str(tmp_path / "vs"), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, *command, *(["--port", str(_closed_port())] if "ui" in command else [])],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert out.returncode != 0 and len(lines) == 1, out.stderr
    assert "RAG_BACKEND" in lines[0] and "'bogus'" in lines[0]
    assert "auto、ollama、openai、llamacpp、extractive" in lines[0] and "ValueError" not in lines[0]


def test_auto_says_when_the_configured_server_is_skipped(sample_index):
    env = {"RAG_INDEX_DIR": str(sample_index.index_dir), "RAG_BACKEND": "auto",
           "RAG_OPENAI_BASE_URL": f"http://127.0.0.1:{_closed_port()}/v1",
           "RAG_OLLAMA_HOST": f"http://127.0.0.1:{_closed_port()}"}
    out = rag_with("ask", "2024年形成了多少份协商报告？", env=env)
    assert out.returncode == 0 and "18" in out.stdout, out.stderr
    note = [line for line in out.stderr.splitlines() if "OpenAI 兼容服务" in line]
    assert len(note) == 1 and env["RAG_OPENAI_BASE_URL"] in note[0] and "改用直接从原文摘录作答" in note[0]
    quiet = rag_with("ask", "2024年形成了多少份协商报告？", env={**env, "RAG_OPENAI_BASE_URL": ""})
    assert "OpenAI" not in quiet.stderr  # nothing configured, nothing skipped


def test_chat_in_the_terminal_follows_up_like_the_page(tmp_path):
    questions = "2023年自治区政协微信公众号累计推送稿件多少条？\n阅读量呢？\n/new\n/quit\n"
    env = {"RAG_INDEX_DIR": str(tmp_path / "vs"), "RAG_BACKEND": "extractive"}
    out = rag_with("chat", env=env, input=questions)
    assert out.returncode == 0, out.stderr
    assert "还没有索引：先用示例文档" in out.stderr  # the first question's index is built, and said so
    first, second = out.stdout.split("（理解为：", 1)
    assert "1825" in first and "145万" in second and "阅读量" in second.split("）", 1)[0]
    assert "已开始新对话" in out.stdout and "cppcc-2023-consensus-review.txt" in second
