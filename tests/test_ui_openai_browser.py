"""The chat page with an OpenAI-compatible server configured, in a real headless chromium.

The page runs as ``python -m ui`` in a subprocess; its server is the test model server
(``tests/fake_llm_server.py``) with a scripted model behind the OpenAI routes (``/v1/models``, streamed
``/v1/chat/completions``).
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.fake_llm_server import serve_llm
from tests.test_answer_backends import ScriptedLLM, _index_of
from tests.test_ui_browser import CHROMIUM_ARGS, _chromium, ask, running_ui

pytestmark = pytest.mark.slow
MODEL = "served-by-v1:7b"
KEY = "sk-page-must-not-show-9d3e1f"


def reply(passages, prompt):
    return f"2024年形成了18份协商报告[{_index_of(passages, r'18[篇份]协商报告')}]。"


@pytest.fixture(scope="module")
def openai_page(sample_index, tmp_path_factory):
    """The page, configured for an OpenAI-compatible server (``auto`` picks it), in a browser."""
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    base = tmp_path_factory.mktemp("ui-openai")
    with serve_llm(ScriptedLLM(reply), MODEL) as llm_server:
        env = {
            "RAG_INDEX_DIR": str(sample_index.index_dir),  # read only: the page finds the index built
            "RAG_BACKEND": "auto",
            "RAG_OPENAI_BASE_URL": f"{llm_server.url}/v1",
            "RAG_OPENAI_API_KEY": KEY,
        }
        with running_ui(base, env) as ui, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(locale="zh-CN", viewport={"width": 1366, "height": 900})
            page.goto(ui.url)
            page.locator("#rag-question textarea").wait_for(timeout=60_000)
            yield SimpleNamespace(page=page, log=ui.log)
            browser.close()


def test_page_offers_the_server_and_its_models_and_answers_through_it(openai_page):
    from playwright.sync_api import expect

    page = openai_page.page
    expect(page.locator("#rag-backend")).to_contain_text("OpenAI 兼容服务")
    model_box = page.locator("#rag-model")
    expect(model_box).to_contain_text("OpenAI 兼容服务的模型")
    expect(model_box.locator("input")).to_have_value(MODEL, timeout=15_000)  # from /v1/models
    answer = ask(page, "2024年形成了多少份协商报告？")
    expect(answer).to_contain_text("2024年形成了18份协商报告")
    expect(answer.locator(".rag-file").first).to_have_text("cppcc-2024-consultation-review.txt")
    expect(page.locator("#rag-status")).to_contain_text(f"OpenAI 兼容服务 · {MODEL}")
    page.locator("#rag-backend").get_by_text("抽取式", exact=False).click()
    expect(model_box).to_be_hidden()
    page.locator("#rag-backend").get_by_text("OpenAI 兼容服务", exact=True).click()
    expect(model_box.locator("input")).to_have_value(MODEL)


def test_the_api_key_never_reaches_the_page_or_the_log(openai_page):
    assert KEY not in openai_page.page.content()
    assert KEY not in openai_page.log.read_text(errors="replace")
