"""Hostile model answers on the real page, in a real headless chromium: the page fetches nothing they name.

The page (``python -m ui``) answers through the OpenAI backend from ``tests/hostile_llm.py``: a Markdown
image and an ``<img>`` in the streamed text (OWASP LLM05), an unsupported claim, and an error body that
echoes the API key. Every request the browser makes to another host is counted: there must be none.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.hostile_llm import MODEL, HostileServer
from tests.test_ui_browser import CHROMIUM_ARGS, _chromium, _note_outside, ask, running_ui

pytestmark = pytest.mark.slow
KEY = "sk-page-hostile-51c0e7d9"


@pytest.fixture(scope="module")
def hostile_page(sample_index, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    base = tmp_path_factory.mktemp("ui-hostile")
    with HostileServer("image-slow") as llm_server:
        env = {
            "RAG_INDEX_DIR": str(sample_index.index_dir),  # read only: the page finds the index built
            "RAG_BACKEND": "openai",
            "RAG_OPENAI_BASE_URL": f"{llm_server.url}/v1",
            "RAG_OPENAI_API_KEY": KEY,
            "RAG_OPENAI_MODEL": MODEL,
        }
        with running_ui(base, env) as ui, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(locale="zh-CN", viewport={"width": 1366, "height": 900})
            page.outside_requests = []
            page.on("request", lambda r: _note_outside(page, r.url, ui.url))
            page.goto(ui.url)
            page.locator("#rag-question textarea").wait_for(timeout=60_000)
            yield SimpleNamespace(page=page, log=ui.log, llm=llm_server)
            browser.close()


def test_a_markdown_image_in_a_streamed_answer_is_never_fetched(hostile_page):
    from playwright.sync_api import expect

    page = hostile_page.page
    box = page.locator("#rag-question textarea")
    box.fill("2024年形成了多少份协商报告？")
    box.press("Enter")
    streaming = page.locator("#rag-chat [data-testid=bot] .rag-cursor")
    expect(streaming).to_have_count(1, timeout=60_000)  # the half-written answer, image syntax and all
    expect(page.locator("#rag-chat [data-testid=bot]").last).to_contain_text("evil.example")
    assert page.locator("#rag-chat img").count() == 0
    answer = ask_finished(page)
    expect(answer).to_contain_text("18份协商报告")
    assert "evil.example" not in answer.inner_text()
    assert page.locator("#rag-chat img").count() == 0
    assert page.locator("#rag-chat a[href*='evil']").count() == 0
    assert page.outside_requests == []


def test_hostile_answers_and_errors_fetch_nothing_and_show_no_key(hostile_page):
    from playwright.sync_api import expect

    page = hostile_page.page
    for mode, expected in (("unsupported", "协商报告"), ("image", "18份协商报告"), ("echo-auth-500", "返回错误 500")):
        hostile_page.llm.mode = mode
        answer = ask(page, "2024年形成了多少份协商报告？")
        expect(answer).to_contain_text(expected)
        assert "否决" not in answer.inner_text()
    assert page.locator("#rag-chat img").count() == 0
    assert page.outside_requests == []
    assert KEY not in page.content()
    assert KEY not in hostile_page.log.read_text(errors="replace")


def ask_finished(page):
    """The last answer once it is finished (its meta line or error is there)."""
    from playwright.sync_api import expect

    last = page.locator("#rag-chat [data-testid=bot]").last
    expect(last.locator(".rag-meta, .rag-error")).to_have_count(1, timeout=90_000)
    return last
