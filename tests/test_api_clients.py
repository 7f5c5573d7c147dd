"""``rag serve`` in a subprocess, used by clients nobody here wrote: ``openai``, LangChain's ``ChatOpenAI``, curl, chromium.

One server for the module: the sample index (a writable copy), ``RAG_API_KEY`` set, no model server
reachable (``rag`` answers extractively), the page mounted at ``/``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.conftest import DOC_2023, DOC_2024
from tests.test_ui_browser import CHROMIUM_ARGS, _chromium, _free_port, ask, running_process

pytestmark = pytest.mark.slow
KEY = "sk-serve-test-7d2f4a9c1b"
ASK = "2024年形成了多少份协商报告？"
HISTORY_Q = "2023年自治区政协微信公众号累计推送稿件多少条？"


@contextmanager
def running_serve(base: Path, env: dict[str, str]) -> Iterator[SimpleNamespace]:
    """``rag serve`` (through ``rag``'s own entry point) on a free loopback port; stopped on leaving."""
    port = _free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
           "RAG_OLLAMA_HOST": f"http://127.0.0.1:{_free_port()}", **env}
    log_path = base / "serve.log"
    with running_process([sys.executable, "-m", "rag.cli", "serve", "--port", str(port)], env, port, log_path):
        yield SimpleNamespace(url=f"http://127.0.0.1:{port}", log=log_path, uploads=Path(env["RAG_UPLOADS_DIR"]))


@pytest.fixture(scope="module")
def server(sample_index, tmp_path_factory):
    base = tmp_path_factory.mktemp("serve")
    shutil.copytree(sample_index.index_dir, base / "vectorstore", symlinks=True)
    env = {"RAG_INDEX_DIR": str(base / "vectorstore"), "RAG_UPLOADS_DIR": str(base / "uploads"), "RAG_API_KEY": KEY}
    with running_serve(base, env) as s:
        yield s


@pytest.fixture(scope="module")
def openai_client(server):
    import openai

    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=KEY, max_retries=0, timeout=120)


# --- the openai client ---


def test_openai_client_gets_the_answer_with_its_citations(openai_client):
    completion = openai_client.chat.completions.create(model="rag", messages=[{"role": "user", "content": ASK}])
    text = completion.choices[0].message.content
    assert "18份协商报告[1]" in text and completion.choices[0].finish_reason == "stop"
    extra = completion.model_extra
    assert extra["abstained"] is False and extra["backend"] == "extractive"
    assert extra["citations"][0]["index"] == 1 and extra["citations"][0]["source"] == DOC_2024
    assert "18份协商报告" in extra["citations"][0]["quote"]
    assert [m.id for m in openai_client.models.list()][0] == "rag"


def test_openai_client_streams_the_same_answer(openai_client):
    whole = openai_client.chat.completions.create(model="rag-extractive", messages=[{"role": "user", "content": ASK}])
    chunks = list(openai_client.chat.completions.create(
        model="rag-extractive", messages=[{"role": "user", "content": ASK}], stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == whole.choices[0].message.content
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].model_extra["citations"] == whole.model_extra["citations"]


def test_openai_client_raises_its_own_errors_with_the_chinese_message(server):
    import openai

    wrong = openai.OpenAI(base_url=f"{server.url}/v1", api_key="sk-not-the-key-0000", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as err:
        wrong.models.list()
    assert "API 密钥不正确" in err.value.message and "sk-not-the-key" not in str(err.value.body)
    right = openai.OpenAI(base_url=f"{server.url}/v1", api_key=KEY, max_retries=0)
    with pytest.raises(openai.NotFoundError, match="没有模型 'gpt-4o'"):
        right.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": ASK}])
    with pytest.raises(openai.BadRequestError, match="问题过长"):
        right.chat.completions.create(model="rag", messages=[{"role": "user", "content": "问" * 3000}])


# --- LangChain ---


def test_langchain_chat_openai_invokes_streams_and_follows_up(server):
    from langchain_core.messages import AIMessage, HumanMessage
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(model="rag-extractive", base_url=f"{server.url}/v1", api_key=KEY, max_retries=0, timeout=120)
    reply = llm.invoke(ASK)
    assert "18份协商报告[1]" in reply.content
    assert "".join(chunk.content for chunk in llm.stream(ASK)) == reply.content
    first = llm.invoke([HumanMessage(HISTORY_Q)])
    assert "1825" in first.content
    follow = llm.invoke([HumanMessage(HISTORY_Q), AIMessage(first.content), HumanMessage("阅读量呢？")])
    assert "145万" in follow.content


# --- curl ---


def curl(*args: str, data: dict | None = None) -> tuple[int, str]:
    """Run curl; returns the HTTP status and the body."""
    done = subprocess.run(["curl", "-sS", "--max-time", "120", "-w", "\n%{http_code}", *args],
                          input=json.dumps(data, ensure_ascii=False) if data is not None else None,
                          capture_output=True, text=True, timeout=150)
    assert done.returncode == 0, done.stderr
    body, _, status = done.stdout.rpartition("\n")
    return int(status), body


def test_curl_asks_streams_uploads_and_deletes(server, tmp_path):
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    auth = ["-H", f"Authorization: Bearer {KEY}"]
    chat = f"{server.url}/v1/chat/completions"
    status, body = curl("-H", "Content-Type: application/json", *auth, "--data-binary", "@-", chat,
                        data={"model": "rag", "messages": [{"role": "user", "content": ASK}]})
    assert status == 200 and "18份协商报告" in json.loads(body)["choices"][0]["message"]["content"]

    status, body = curl("-N", "-H", "Content-Type: application/json", *auth, "--data-binary", "@-", chat,
                        data={"model": "rag", "stream": True, "messages": [{"role": "user", "content": ASK}]})
    events = [line[6:] for line in body.splitlines() if line.startswith("data: ")]
    assert status == 200 and events[-1] == "[DONE]" and json.loads(events[-2])["citations"][0]["source"] == DOC_2024

    status, body = curl("-H", "Content-Type: application/json", "--data-binary", "@-", chat,
                        data={"model": "rag", "messages": [{"role": "user", "content": ASK}]})
    assert status == 401 and json.loads(body)["error"]["code"] == "invalid_api_key"

    doc = tmp_path / "测试公司简介.txt"
    doc.write_text("测试公司成立于2010年。\n测试公司2026年共有员工321人，其中研发人员120人。\n", encoding="utf-8")
    status, body = curl(*auth, "-F", f"files=@{doc}", f"{server.url}/api/documents")
    assert status == 200 and json.loads(body)["added"] == [doc.name]
    status, body = curl(*auth, f"{server.url}/api/documents")
    listed = {d["source"]: d["id"] for d in json.loads(body)["data"]}
    assert set(listed) == {DOC_2023, DOC_2024, doc.name}
    status, body = curl(*auth, "-X", "DELETE", f"{server.url}/api/documents/{listed[doc.name]}")
    assert status == 200 and json.loads(body)["deleted"] is True
    assert not (server.uploads / doc.name).exists()


# --- the page, mounted at / ---


def test_the_mounted_page_still_answers_a_question(server):
    from playwright.sync_api import expect, sync_playwright

    executable = _chromium()
    outside = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(locale="zh-CN", viewport={"width": 1366, "height": 900})
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith((server.url, "data:", "blob:")) else None)
        page.goto(server.url)
        page.locator("#rag-question textarea").wait_for(timeout=60_000)
        answer = ask(page, ASK)
        expect(answer).to_contain_text("18")
        expect(answer.locator(".rag-file").first).to_have_text(DOC_2024)
        browser.close()
    assert outside == []  # offline first: the mounted page fetches nothing from elsewhere
    assert KEY not in server.log.read_text(errors="replace")
