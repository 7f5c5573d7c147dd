"""The page as a first-time user meets it: an en-US browser, ``auto`` answering with no model server running.

Everything on the page reads Chinese (Gradio's own upload box and menus too), the side panel offers no
model to pick when no server answers and says how it answers instead, and a configured OpenAI-compatible
server that does not answer is named in the answer, not skipped silently.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from types import SimpleNamespace

import pytest

from tests.test_ui_browser import CHROMIUM_ARGS, _chromium, _free_port, ask, running_ui, shot

pytestmark = pytest.mark.slow
# Gradio's built-in English texts the page could show (upload box, menus, toasts, queue)
GRADIO_ENGLISH = ("Drop File Here", "Click to Upload", "Uploading", "Loading", "Error", "Warning", "Sort",
                  "Filter", "Clear", "Copy", "In queue", "Dropdown", "Fullscreen")
# ...and the English of its tooltips and screen-reader labels
GRADIO_LABELS = re.compile(r"message: |Select example|Click to|conversation|Table actions|Dataframe|Copy|Fullscreen|"
                           r"Clear|Remove|Download|Upload")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@contextmanager
def page_with(browser, sample_index, tmp_path_factory, env: dict[str, str], locale: str):
    """The page over the sample index with ``env`` (``auto``, nothing listening on the model ports), in ``locale``."""
    base = tmp_path_factory.mktemp("ui-first-hour")
    env = {"RAG_INDEX_DIR": str(sample_index.index_dir), "RAG_BACKEND": "auto", **env}
    with running_ui(base, env) as ui:
        context = browser.new_context(locale=locale, viewport={"width": 1366, "height": 900})
        page = context.new_page()
        page.goto(ui.url)
        page.locator("#rag-question textarea").wait_for(timeout=60_000)
        yield SimpleNamespace(page=page, ui=ui)
        context.close()


@pytest.fixture(scope="module")
def english_browser(browser, sample_index, tmp_path_factory):
    with page_with(browser, sample_index, tmp_path_factory, {}, "en-US") as opened:
        yield opened


def _english_on(page) -> list[str]:
    """English words a reader sees or hears: visible text, tooltips and screen-reader labels of visible elements."""
    text = page.locator("body").inner_text()
    labels = page.evaluate("""() => [...document.querySelectorAll('[aria-label], [title]')]
        .filter(e => e.offsetParent !== null)
        .map(e => (e.getAttribute('aria-label') || '') + ' ' + (e.getAttribute('title') || ''))""")
    return [word for word in GRADIO_ENGLISH if word in text] + [label for label in labels if GRADIO_LABELS.search(label)]


def test_an_en_us_browser_reads_the_upload_box_in_chinese(english_browser, tmp_path):
    from playwright.sync_api import expect

    page = english_browser.page
    assert page.evaluate("navigator.language") == "en-US"
    page.get_by_role("tab", name="文档管理").click()
    upload = page.locator("#rag-upload")
    expect(upload).to_contain_text("把文件拖到这里")
    expect(upload).to_contain_text("点击选择文件")
    shot(page, "20-en-us-documents")
    assert _english_on(page) == []
    bad = tmp_path / "setup.exe"
    bad.write_bytes(b"MZ")
    upload.locator("input[type=file]").set_input_files(str(bad))  # refused by the picker's own check
    toast = page.get_by_test_id("toast-body")
    expect(toast).to_contain_text("未添加：setup.exe 的文件类型不支持")
    expect(toast.locator(".toast-title")).to_have_text("出错了")
    expect(upload).not_to_contain_text("出错了")  # the toast says why; the box itself is ready for the next file
    shot(page, "20b-en-us-refused")
    assert _english_on(page) == []
    toast.get_by_test_id("toast-close").click()
    page.get_by_role("tab", name="问答").click()


def test_auto_with_no_model_server_offers_no_model_and_says_how_it_answers(english_browser):
    from playwright.sync_api import expect

    page = english_browser.page
    note = page.locator("#rag-backend-note")
    expect(note).to_contain_text("没有找到可用的 Ollama 服务")
    expect(note).to_contain_text("直接从原文摘录作答")
    expect(page.locator("#rag-model")).to_be_hidden()
    shot(page, "21-auto-no-server")
    page.locator("#rag-backend").get_by_text("Ollama", exact=True).click()  # chosen by name: a box, and the fix
    expect(page.locator("#rag-model")).to_be_visible()
    expect(note).to_contain_text("ollama serve")
    page.locator("#rag-backend").get_by_text("自动选择", exact=True).click()
    expect(page.locator("#rag-model")).to_be_hidden()


def test_an_auto_answer_in_an_en_us_browser_is_all_chinese(english_browser):
    from playwright.sync_api import expect

    page = english_browser.page
    answer = ask(page, "2024年形成了多少份协商报告？", example=True)
    expect(answer).to_contain_text("18份协商报告")
    expect(answer.locator(".rag-note")).to_contain_text("没有就绪的大模型服务")
    shot(page, "22-en-us-answer")
    assert _english_on(page) == []


def test_a_configured_server_that_does_not_answer_is_named_not_skipped_silently(browser, sample_index,
                                                                                 tmp_path_factory):
    from playwright.sync_api import expect

    url = f"http://127.0.0.1:{_free_port()}/v1"  # nothing listens there
    with page_with(browser, sample_index, tmp_path_factory, {"RAG_OPENAI_BASE_URL": url}, "zh-CN") as opened:
        page = opened.page
        expect(page.locator("#rag-backend-note")).to_contain_text(f"已配置的 OpenAI 兼容服务（{url}）连不上")
        expect(page.locator("#rag-model")).to_be_hidden()
        answer = ask(page, "2024年形成了多少份协商报告？")
        expect(answer).to_contain_text("18")
        note = answer.locator(".rag-note")
        expect(note).to_have_count(1)
        expect(note).to_contain_text(f"已配置的 OpenAI 兼容服务（{url}）没有应答或没有所选模型，本次改用直接从原文摘录作答")
        shot(page, "23-openai-skipped")
        again = ask(page, "2023年自治区政协微信公众号累计推送稿件多少条？")
        expect(again.locator(".rag-note")).to_have_count(0)  # said once per conversation
