"""The chat page in a real headless chromium: ask, follow up, upload, reject, errors, and where it binds."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
# Without the background-networking flags chromium stalls on a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP_SECONDS = 300  # the first start builds the sample index with the real embedding model
ANSWER_MS = 90_000
UPLOAD_MS = 120_000


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path:
        return path
    message = "chromium is not installed (apt-get install chromium fonts-noto-cjk); the browser tests need it"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``python -m ui`` in a subprocess with its own index and uploads folders, extractive answers only."""
    base = tmp_path_factory.mktemp("ui")
    with running_ui(base, {"RAG_INDEX_DIR": str(base / "vectorstore"), "RAG_BACKEND": "extractive"}) as ui:
        yield ui


@contextmanager
def running_ui(base: Path, env: dict[str, str]) -> Iterator[SimpleNamespace]:
    """``python -m ui`` on a free loopback port with ``env`` over the tests' defaults; stopped on leaving."""
    port = _free_port()
    env = {
        **os.environ,
        "RAG_UPLOADS_DIR": str(base / "uploads"),
        # a port nobody listens on: "Ollama is down" whatever runs on this machine
        "RAG_OLLAMA_HOST": f"http://127.0.0.1:{_free_port()}",
        "HF_HUB_OFFLINE": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        **env,
    }
    log_path = base / "server.log"
    with running_process([sys.executable, "-m", "ui", "--port", str(port)], env, port, log_path) as proc:
        yield SimpleNamespace(url=f"http://127.0.0.1:{port}", port=port, uploads=base / "uploads", log=log_path,
                              pid=proc.pid, env=env)


@contextmanager
def running_process(command: list[str], env: dict[str, str], port: int, log_path: Path) -> Iterator[subprocess.Popen]:
    """``command`` started from the project's folder, its output in ``log_path``, once it answers on ``port``;
    stopped on leaving (killed if it does not stop within 15 s)."""
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_until_up(proc, port, log_path)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def _wait_until_up(proc: subprocess.Popen, port: int, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the UI exited with {proc.returncode}:\n{log_path.read_text(errors='replace')[-3000:]}")
        if _port_answers("127.0.0.1", port):
            return
        time.sleep(0.5)
    pytest.fail(f"the UI did not start in {STARTUP_SECONDS} s:\n{log_path.read_text(errors='replace')[-3000:]}")


@pytest.fixture(scope="module")
def page(server):
    """One Chinese-locale page shared by the tests below, which run in order like one user's session."""
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
        page = context.new_page()
        page.outside_requests = []  # offline first: the page must not fetch anything from elsewhere
        page.on("request", lambda r: _note_outside(page, r.url, server.url))
        page.goto(server.url)
        page.locator("#rag-question textarea").wait_for(timeout=60_000)
        yield page
        browser.close()


def _note_outside(page, url: str, base: str) -> None:
    if not url.startswith((base, "data:", "blob:")):
        page.outside_requests.append(url)


def settle(page) -> None:
    """Wait until no component shows Gradio's pending overlay."""
    from playwright.sync_api import expect

    expect(page.locator("[data-testid=status-tracker]:not(.hide)")).to_have_count(0, timeout=UPLOAD_MS)


def shot(page, name: str) -> None:
    settle(page)
    page.screenshot(path=str(ARTIFACTS / f"ui-{name}.png"), full_page=True)


def ask(page, question: str, *, example: bool = False):
    """Ask by typing (or by clicking the example card); wait for the answer to finish and return it."""
    from playwright.sync_api import expect

    bots = page.locator("#rag-chat [data-testid=bot]")
    before = bots.count()
    if example:
        page.locator("#rag-chat button.example").filter(has_text=question).click()
    else:
        box = page.locator("#rag-question textarea")
        box.fill(question)
        box.press("Enter")
    expect(bots).to_have_count(before + 1, timeout=ANSWER_MS)
    last = bots.last
    expect(last.locator(".rag-meta, .rag-error")).to_have_count(1, timeout=ANSWER_MS)
    expect(page.locator("#rag-question").get_by_role("button", name="停止")).to_have_count(0, timeout=10_000)
    return last


def assert_no_traceback(page) -> None:
    text = page.locator("body").inner_text()
    assert "Traceback" not in text and 'File "' not in text


def test_answer_cites_its_source(page):
    from playwright.sync_api import expect

    expect(page.locator("#rag-index-summary")).to_contain_text("2 篇文档")
    shot(page, "01-start")
    answer = ask(page, "2024年形成了多少份协商报告？", example=True)
    expect(answer).to_contain_text("18")
    card = answer.locator("details.rag-source").first
    expect(card.locator(".rag-file")).to_have_text("cppcc-2024-consultation-review.txt")
    expect(card.locator(".rag-rank")).to_have_text(re.compile(r"^相关度第 \d+$"))
    expect(answer).not_to_contain_text("得分")  # a raw fused score means nothing to a reader
    shot(page, "02-answer")
    answer.locator("a.rag-cite").first.click()
    expect(card).to_have_attribute("open", "")
    expect(card.locator(".rag-passage mark")).to_contain_text("18份协商报告")
    shot(page, "03-source-opened")
    expect(page.locator("#rag-status")).to_contain_text("抽取式")
    expect(page.locator("#rag-status")).to_contain_text("检索")


def test_follow_up_question_uses_the_history(page):
    from playwright.sync_api import expect

    first = ask(page, "2023年自治区政协微信公众号累计推送稿件多少条？")
    expect(first).to_contain_text("1825")
    follow_up = ask(page, "阅读量呢？")
    expect(follow_up).to_contain_text("145万")
    expect(follow_up.locator(".rag-file").first).to_have_text("cppcc-2023-consensus-review.txt")
    shot(page, "04-follow-up")


def test_status_panel_explains_an_answer_about_another_year_without_internal_flags(page):
    from playwright.sync_api import expect

    answer = ask(page, "2025年形成了多少份协商报告？")
    expect(answer).to_contain_text("只提到2024年")
    status = page.locator("#rag-status")
    expect(status).to_contain_text("说明")
    expect(status).to_contain_text("文档里没有所问年份的这个数字")
    for internal in ("标记", "near-miss", "other-year", "evidence-gap"):
        expect(status).not_to_contain_text(internal)
    shot(page, "04b-other-year")


def test_empty_question_gets_a_friendly_hint(page):
    from playwright.sync_api import expect

    bots = page.locator("#rag-chat [data-testid=bot]")
    before = bots.count()
    page.locator("#rag-question textarea").fill("   ")
    page.locator("#rag-question textarea").press("Enter")
    toast = page.get_by_test_id("toast-body").filter(has_text="请先输入问题")
    expect(toast).to_be_visible(timeout=10_000)
    shot(page, "05-empty-question")
    expect(bots).to_have_count(before)
    assert_no_traceback(page)
    toast.get_by_test_id("toast-close").click()


def test_ollama_down_is_a_friendly_line_in_the_chat(page):
    from playwright.sync_api import expect

    page.locator("#rag-backend").get_by_text("Ollama", exact=True).click()
    answer = ask(page, "2024年有多少件重点督办提案？")
    expect(answer.locator(".rag-error")).to_contain_text("大模型暂时不可用")
    shot(page, "06-ollama-down")
    assert_no_traceback(page)
    page.locator("#rag-backend").get_by_text("抽取式", exact=False).click()


def _documents_tab(page):
    page.get_by_role("tab", name="文档管理").click()
    return page.locator("#rag-docs")


def _sample_documents(page):
    """The documents table once it lists the sample documents and the page is idle, and its text then."""
    from playwright.sync_api import expect

    table = _documents_tab(page)
    expect(table).to_contain_text("cppcc-2024-consultation-review.txt")
    settle(page)
    return table, table.inner_text()


def _upload(page, path: Path, expect_text: str | re.Pattern) -> None:
    from playwright.sync_api import expect

    page.locator("#rag-upload input[type=file]").set_input_files(str(path))
    expect(page.locator("#rag-upload-result")).to_contain_text(expect_text, timeout=UPLOAD_MS)


def test_uploaded_document_can_be_asked_about(page, tmp_path):
    from playwright.sync_api import expect

    doc = tmp_path / "测试公司简介.txt"
    doc.write_text("测试公司成立于2010年。\n测试公司2026年共有员工321人，其中研发人员120人。\n", encoding="utf-8")
    table = _documents_tab(page)
    expect(table).to_contain_text("cppcc-2024-consultation-review.txt")
    shot(page, "07-documents")
    _upload(page, doc, "已添加")
    expect(table).to_contain_text(doc.name)
    shot(page, "08-uploaded")
    page.get_by_role("tab", name="问答").click()
    answer = ask(page, "测试公司2026年共有员工多少人？")
    expect(answer).to_contain_text("321")
    expect(answer.locator(".rag-file").first).to_have_text(doc.name)
    shot(page, "09-answer-from-upload")


def test_an_uploaded_web_page_is_read_without_its_navigation(page, tmp_path):
    from playwright.sync_api import expect

    doc = tmp_path / "机房巡检.html"
    doc.write_bytes(('<html><head><meta charset="gbk"><title>机房巡检</title><script>var x = "访问统计";</script>'
                     '</head><body><p><a href="a.html">上一页</a> | <a href="c.html">下一页</a></p><h1>机房巡检</h1>'
                     "<table><tr><th>项目</th><th>周期</th></tr><tr><td>空调滤网</td><td>每 90 天清洗一次</td></tr>"
                     "<tr><td>UPS 电池</td><td>每 180 天做一次放电测试</td></tr></table></body></html>").encode("gbk"))
    _documents_tab(page)
    _upload(page, doc, re.compile(r"已添加\s*机房巡检\.html"))  # not an earlier upload's "已添加", nor the progress line
    page.get_by_role("tab", name="问答").click()
    answer = ask(page, "机房的 UPS 电池多久做一次放电测试？")
    expect(answer).to_contain_text("180")
    expect(answer.locator(".rag-file").first).to_have_text(doc.name)
    expect(answer).not_to_contain_text("上一页")


def test_file_picker_offers_only_the_supported_kinds(page):
    _documents_tab(page)
    accept = page.locator("#rag-upload input[type=file]").get_attribute("accept") or ""
    kinds = sorted(kind.strip() for kind in accept.split(","))
    assert kinds == [".csv", ".docx", ".htm", ".html", ".md", ".pdf", ".tsv", ".txt", ".xhtml", ".xlsx"]


def test_a_file_of_another_kind_is_refused_in_chinese_and_changes_nothing(page, server, tmp_path):
    from playwright.sync_api import expect

    bad = tmp_path / "setup.exe"
    bad.write_bytes(b"MZ\x90\x00\x03")
    table, rows_before = _sample_documents(page)
    page.locator("#rag-upload input[type=file]").set_input_files(str(bad))  # as "all files" in the picker would
    toast = page.get_by_test_id("toast-text").filter(has_text="setup.exe")
    expect(toast).to_have_text("未添加：setup.exe 的文件类型不支持，只能上传 .csv、.docx、.htm、.html、.md、.pdf、.tsv、.txt、.xhtml、.xlsx 文件。")
    expect(page.locator("#rag-upload")).to_contain_text("把文件拖到这里")
    expect(page.locator("#rag-upload")).not_to_contain_text("出错了")  # ready for the next file
    shot(page, "10-rejected-exe")
    page.get_by_test_id("toast-close").first.click()
    assert table.inner_text() == rows_before and not (server.uploads / bad.name).exists()
    assert_no_traceback(page)


def test_an_empty_file_is_refused_with_its_reason_and_changes_nothing(page, server, tmp_path):
    from playwright.sync_api import expect

    bad = tmp_path / "空白.txt"
    bad.write_bytes(b"")
    table, rows_before = _sample_documents(page)
    _upload(page, bad, "未添加")
    expect(page.locator("#rag-upload-result")).to_contain_text(bad.name)
    shot(page, "10-rejected-txt")
    settle(page)
    assert table.inner_text() == rows_before
    assert not (server.uploads / bad.name).exists()
    assert_no_traceback(page)


def test_upload_progress_names_each_total_once_and_never_goes_back(page, tmp_path):
    from playwright.sync_api import expect

    names = []
    for i, lines in enumerate((40, 3, 12)):
        path = tmp_path / f"进度{i}.txt"
        path.write_text("".join(f"进度测试{i}号文件第{n}段：本单位第{n}次会议形成意见{n % 7}条。\n\n" for n in range(lines)),
                        encoding="utf-8")
        names.append(str(path))
    _documents_tab(page)
    page.evaluate("""() => {
      window.ragProgress = [];
      new MutationObserver(() => {
        for (const el of document.querySelectorAll('#rag-upload .progress-level-inner')) {
          const text = el.textContent.trim();
          if (text.includes('块') || text.includes('文件')) window.ragProgress.push(text);
        }
      }).observe(document.body, { childList: true, subtree: true, characterData: true });
    }""")
    page.locator("#rag-upload input[type=file]").set_input_files(names)
    expect(page.locator("#rag-upload-result")).to_contain_text("已添加", timeout=UPLOAD_MS)
    seen = page.evaluate("window.ragProgress")
    files = {int(m.group(1)) for text in seen if (m := re.search(r"读取文件 \d+/(\d+)", text))}
    chunks = {int(m.group(1)) for text in seen if (m := re.search(r"\d+/(\d+) 块", text))}
    assert files == {3}, seen
    assert len(chunks) <= 1, seen  # a chunk total is named only once it is known: it never jumps
    percents = [float(m.group(1)) for text in seen if (m := re.search(r"([\d.]+)%", text))]
    assert percents == sorted(percents), seen


def test_delete_asks_first_and_cancel_keeps_the_document(page, server):
    from playwright.sync_api import expect

    name = "进度1.txt"
    table = _documents_tab(page)
    expect(table).to_contain_text(name)
    page.locator("#rag-delete-pick input").click()
    page.get_by_role("option", name=name).click()
    page.locator("#rag-delete").click()
    expect(page.locator("#rag-delete-confirm")).to_be_visible()
    expect(page.locator("#rag-delete-question")).to_contain_text(f"确定要从知识库删除 {name} 吗")
    shot(page, "11a-delete-asks")
    page.locator("#rag-delete-no").click()
    expect(page.locator("#rag-delete-confirm")).to_be_hidden()
    expect(page.locator("#rag-delete-result")).to_contain_text("已取消")
    settle(page)
    expect(table).to_contain_text(name)
    assert (server.uploads / name).exists()


def test_delete_a_document(page, server):
    from playwright.sync_api import expect

    name = "测试公司简介.txt"
    table = _documents_tab(page)
    expect(table).to_contain_text(name)
    page.locator("#rag-delete-pick input").click()
    page.get_by_role("option", name=name).click()
    page.locator("#rag-delete").click()
    expect(page.locator("#rag-delete-result")).not_to_contain_text("已删除")  # not before it is confirmed
    expect(table).to_contain_text(name)
    page.locator("#rag-delete-yes").click()
    expect(page.locator("#rag-delete-result")).to_contain_text("已删除", timeout=UPLOAD_MS)
    expect(table).not_to_contain_text(name)
    expect(table).to_contain_text("cppcc-2024-consultation-review.txt")
    assert not (server.uploads / name).exists()
    shot(page, "11-deleted")


_QUERY_PATH = """
from pathlib import Path
from rag import answer
from rag.retrieval.hybrid import get_retriever
from rag.settings import get_settings

settings = get_settings()
answer("2024年形成了多少份协商报告？", settings=settings)
getattr(get_retriever(settings).embedder, "wait_ready", lambda: None)()  # the question engine fully loaded
answer("那2023年呢？", settings=settings)
status = Path("/proc/self/status").read_text().splitlines()
print(int(next(line for line in status if line.startswith("VmRSS")).split()[1]) // 1024)
"""
GRADIO_MB = 450  # the page's server over a process that only answers: Gradio, uvicorn, the page's state (~280 MB here)


def test_the_server_holds_no_embedding_model_after_building_indexes(server):
    # the sample index at start and every upload were built in a child process: the ingest engine never stays
    maps = Path(f"/proc/{server.pid}/maps")
    if not maps.exists():
        pytest.skip("needs /proc (Linux)")
    assert "libtorch" not in maps.read_text()
    rss_mb = int(next(line for line in Path(f"/proc/{server.pid}/status").read_text().splitlines()
                      if line.startswith("VmRSS")).split()[1]) / 1024
    # the baseline, measured now: a process over the same index that has answered questions and nothing more
    done = subprocess.run([sys.executable, "-c", _QUERY_PATH], cwd=ROOT, env=server.env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    query_path_mb = int(done.stdout.split()[-1])
    assert rss_mb < query_path_mb + GRADIO_MB, (
        f"the page's server uses {rss_mb:.0f} MB, a process that only answers {query_path_mb} MB")


def test_the_console_says_each_step_in_chinese_and_no_share_link_hint(server):
    log = server.log.read_text(errors="replace")
    steps = ["正在启动聊天页面", "首次启动：正在从示例文档建立索引", "正在加载嵌入模型", f"聊天页面已就绪：{server.url}"]
    assert [log.index(step) for step in steps] == sorted(log.index(step) for step in steps), log
    assert "share=True" not in log and "Running on local URL" not in log


def test_page_fetches_nothing_from_elsewhere(page):
    assert page.outside_requests == []


def test_server_binds_loopback_only(server):
    assert _port_answers("127.0.0.1", server.port)
    for address in _other_addresses():
        assert not _port_answers(address, server.port), f"the page is reachable on {address}"


def _other_addresses() -> list[str]:
    """Addresses of this machine other than 127.0.0.1 (another loopback address, the LAN address)."""
    addresses = ["127.0.0.2"] if sys.platform.startswith("linux") else []
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))  # UDP connect sends nothing; it only picks the outgoing address
            lan = s.getsockname()[0]
        if not lan.startswith("127."):
            addresses.append(lan)
    except OSError:
        pass
    return addresses
