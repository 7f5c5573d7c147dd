"""Fault cases for the chat page and archive files, against a real server, HTTP clients and a browser.

Paths the page never received, foreign ``Host`` headers, zip bombs, hostile upload names,
markup in questions, eight users at once, and the "Ollama is down" note under every answer.
"""

from __future__ import annotations

import io
import json
import os
import struct
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from rag.documents.loaders import load_document
from rag.errors import DocumentError
from tests.test_ui_browser import ARTIFACTS, CHROMIUM_ARGS, _chromium, running_ui
from tests.test_ui_browser import ask as ask_in_page

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
DEFAULT_MAX_BYTES = 50 * MB  # the default max_file_mb
CONFIGURED_HOST = "docs.example.lan"
REFUSED = "不是通过本页面上传的文件"

# --- zip-based documents -----------------------------------------------------------------------

XML_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
)
XML_PARAGRAPH = "<w:p><w:r><w:t>这是一段重复的文字。</w:t></w:r></w:p>".encode()
XML_TAIL = b"</w:body></w:document>"


def write_docx(path: Path, *, body_mb: float = 0, text: str = "") -> Path:
    """A valid .docx made by python-docx; with ``body_mb``, its body XML is that many MB of repeated paragraphs."""
    import docx

    document = docx.Document()
    document.add_paragraph(text or "测试公司2026年共有员工321人。")
    plain = io.BytesIO()
    document.save(plain)
    if not body_mb:
        path.write_bytes(plain.getvalue())
        return path
    block = XML_PARAGRAPH * 1000
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for item in source.infolist():
            if item.filename != "word/document.xml":
                out.writestr(item, source.read(item))
        with out.open("word/document.xml", "w") as xml:  # streamed: the test never holds it in memory
            xml.write(XML_HEAD)
            for _ in range(int(body_mb * MB) // len(block)):
                xml.write(block)
            xml.write(XML_TAIL)
    return path


@pytest.fixture(scope="module")
def bomb(tmp_path_factory) -> Path:
    """A .docx of about 0.4 MB whose body XML unpacks to 120 MB."""
    return write_docx(tmp_path_factory.mktemp("bomb") / "报告.docx", body_mb=120)


def declare_size(path: Path, member: str, size: int) -> None:
    """Make the zip's headers claim ``member`` unpacks to ``size`` bytes (a bomb that lies about itself)."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info, position = archive.getinfo(member), archive.start_dir
    struct.pack_into("<I", data, info.header_offset + 22, size)  # local file header
    while data[position : position + 4] == b"PK\x01\x02":  # central directory entries
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, position + 28)
        if data[position + 46 : position + 46 + name_len].decode() == member:
            struct.pack_into("<I", data, position + 24, size)
        position += 46 + name_len + extra_len + comment_len
    path.write_bytes(bytes(data))


def test_docx_bomb_is_refused_before_it_is_unpacked(bomb):
    assert bomb.stat().st_size < MB
    with pytest.raises(DocumentError) as caught:
        load_document(bomb, max_bytes=DEFAULT_MAX_BYTES)
    assert "解压后" in caught.value.reason and "上限 100.0 MB" in caught.value.reason


def test_docx_bomb_that_understates_its_size_is_refused(bomb, tmp_path):
    liar = tmp_path / "liar.docx"
    liar.write_bytes(bomb.read_bytes())
    declare_size(liar, "word/document.xml", 2000)
    with pytest.raises(DocumentError) as caught:  # zipfile stops at the declared size; the CRC then fails
        load_document(liar, max_bytes=DEFAULT_MAX_BYTES)
    assert "不是有效的 Word" in caught.value.reason


def test_archive_with_too_many_parts_is_refused(tmp_path):
    from rag.documents.archives import MAX_PARTS

    path = write_docx(tmp_path / "parts.docx")
    with zipfile.ZipFile(path, "a") as archive:
        for number in range(MAX_PARTS):
            archive.writestr(f"extra/part{number}.xml", b"<a/>")
    with pytest.raises(DocumentError) as caught:
        load_document(path, max_bytes=DEFAULT_MAX_BYTES)
    assert f"超过上限 {MAX_PARTS}" in caught.value.reason


def test_archive_limit_follows_the_file_size_limit(bomb):
    from rag.documents.archives import check_archive, unpack_limit

    assert unpack_limit(1 * MB) == 2 * MB and unpack_limit(None) == unpack_limit(10_000 * MB) == 100 * MB
    with pytest.raises(DocumentError):  # a smaller size limit lowers the bar for every archive
        check_archive(write_docx(bomb.parent / "medium.docx", body_mb=3).read_bytes(), "medium.docx", max_bytes=MB)


def test_normal_docx_still_loads(tmp_path):
    document = load_document(write_docx(tmp_path / "简介.docx"), max_bytes=DEFAULT_MAX_BYTES)
    assert "321" in document.text


# --- the page's pieces, fast -------------------------------------------------------------------


def test_host_names_from_headers():
    from ui.hosts import allowed_hosts, host_name, origin_host

    assert host_name("[::1]:7860") == "::1" and host_name("::1") == "::1"
    assert host_name("Docs.Example.LAN.:8080") == "docs.example.lan"
    assert allowed_hosts("0.0.0.0") == {"localhost", "127.0.0.1", "::1"}  # binding everything names no host
    assert allowed_hosts("192.168.1.20", "rag.lan, 10.0.0.5") >= {"192.168.1.20", "rag.lan", "10.0.0.5"}
    assert allowed_hosts("127.0.0.1", "*") is None
    assert origin_host("http://[::1]:7860") == "::1" and origin_host("null") == ""


def test_binding_every_address_without_allowed_hosts_says_what_to_set(capsys):
    from ui.app import _warn_if_exposed

    _warn_if_exposed("127.0.0.1", "")
    _warn_if_exposed("0.0.0.0", "rag.lan")
    assert capsys.readouterr().out == ""
    _warn_if_exposed("0.0.0.0", "")
    assert "RAG_ALLOWED_HOSTS" in capsys.readouterr().out


def test_session_note_is_shown_once_but_answer_notes_every_time(monkeypatch, tmp_path):
    from rag.settings import Settings
    from rag.types import Answer
    from ui import actions

    flags = ["auto-extractive", "fallback-extractive"]
    monkeypatch.setattr(actions, "stream_answer", lambda *a, **k: iter([Answer(text="18份", question="q", flags=flags)]))
    settings, seen, chat = Settings(index_dir=tmp_path / "i", uploads_dir=tmp_path / "u"), set(), []
    for _ in range(3):
        chat, _, _ = list(actions.ask("问题", chat, [], "auto", "", settings=settings, notes_seen=seen))[-1]
    notes = [m["content"] for m in chat if m["role"] == "assistant"]
    assert ["没有就绪的大模型服务" in n for n in notes] == [True, False, False]
    assert all("已改为直接从原文摘录" in n for n in notes)  # about that answer: shown under each


# --- the real server ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``python -m ui`` with its own index, uploads and Gradio upload folders; Ollama down, backend auto."""
    base = tmp_path_factory.mktemp("faults-ui")
    env = {
        "RAG_INDEX_DIR": str(base / "vectorstore"),
        "RAG_BACKEND": "auto",
        "RAG_ALLOWED_HOSTS": CONFIGURED_HOST,
        "GRADIO_TEMP_DIR": str(base / "gradio"),
    }
    with running_ui(base, env) as ui:
        yield SimpleNamespace(url=ui.url, port=ui.port, uploads=ui.uploads, gradio_dir=base / "gradio", base=base)


@pytest.fixture(scope="module")
def api(server):
    """A gradio_client session and the page's endpoint names, found by their parameters."""
    from gradio_client import Client

    client = Client(server.url, verbose=False, download_files=False)
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]

    def named(parameters: list[str]) -> str:
        return next(n for n, e in endpoints.items() if [p["parameter_name"] for p in e["parameters"]] == parameters)

    return SimpleNamespace(
        client=client,
        upload=named(["files"]),
        ask=named(["chat", "backend", "model"]),
    )


def listed(server) -> str:
    """The documents table as the page gets it (a fresh session's view)."""
    from gradio_client import Client

    rows = Client(server.url, verbose=False).predict(api_name="/refresh")[0]
    return json.dumps(rows, ensure_ascii=False)


def call_upload(server, api, files: list[dict]) -> str:
    """Call the upload endpoint over plain HTTP, as any program on the network can.

    Returns the message the page would show, or ``"error"`` when Gradio refused the call itself.
    """
    name = api.upload.lstrip("/")
    with httpx.Client(base_url=server.url, timeout=120) as http:
        event = http.post(f"/gradio_api/call/{name}", json={"data": [files]}).json()["event_id"]
        stream = http.get(f"/gradio_api/call/{name}/{event}").text
    kind, _, data = stream.partition("\ndata: ")
    return json.loads(data.splitlines()[0])[0] if kind.endswith("complete") else "error"


def file_data(path: str, name: str | None = None) -> dict:
    return {"path": path, "orig_name": name or Path(path).name, "meta": {"_type": "gradio.FileData"}}


FOREIGN_HOSTS = ["evil.example", "evil.example:{port}", "127.0.0.1.nip.io:{port}", "localhost.evil.example"]


@pytest.mark.slow
@pytest.mark.parametrize("host", FOREIGN_HOSTS)
def test_foreign_host_is_refused(server, host):
    host = host.format(port=server.port)
    for path in ("/", "/config", "/gradio_api/info"):
        response = httpx.get(server.url + path, headers={"Host": host})
        assert response.status_code == 400, (path, response.status_code)
        assert "RAG_ALLOWED_HOSTS" in response.text
    upload = httpx.post(
        server.url + "/gradio_api/upload", headers={"Host": host}, files={"files": ("x.txt", b"secret")}
    )
    assert upload.status_code == 400
    assert not list(server.gradio_dir.rglob("x.txt"))


@pytest.mark.slow
@pytest.mark.parametrize("origin", ["http://evil.example", "null"])
def test_request_from_another_sites_page_is_refused(server, origin):
    # A page elsewhere can post a form straight to 127.0.0.1; the browser then says where it came from.
    headers = {"Origin": origin}
    upload = httpx.post(server.url + "/gradio_api/upload", headers=headers, files={"files": ("csrf.txt", b"x")})
    assert upload.status_code == 403 and "其他网站" in upload.text
    assert not list(server.gradio_dir.rglob("csrf.txt"))
    same_site = httpx.get(server.url + "/config", headers={"Origin": f"http://localhost:{server.port}"})
    assert same_site.status_code == 200


@pytest.mark.slow
@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST", "[::1]:{port}", CONFIGURED_HOST])
def test_loopback_and_configured_hosts_are_served(server, host):
    response = httpx.get(server.url + "/", headers={"Host": host.format(port=server.port)})
    assert response.status_code == 200 and "<html" in response.text.lower()


@pytest.mark.slow
def test_file_in_gradios_folder_but_never_uploaded_is_refused(server, api):
    # Gradio's own check lets any file in its upload folder through (shared by every Gradio app here).
    planted = server.gradio_dir / "planted" / "机密.txt"
    planted.parent.mkdir(parents=True, exist_ok=True)
    planted.write_text("机密：服务器的备份口令是 hunter2，请勿外传。", encoding="utf-8")
    assert REFUSED in call_upload(server, api, [file_data(str(planted))])
    assert not server.uploads.exists() or not any(server.uploads.iterdir())
    assert "机密.txt" not in listed(server)


@pytest.mark.slow
def test_server_path_through_the_api_is_refused(server, api, tmp_path):
    secret = tmp_path / "服务器上的笔记.txt"  # readable by the server, outside any upload folder
    secret.write_text("这是服务器上的私人笔记，不应被导入。", encoding="utf-8")
    assert call_upload(server, api, [file_data(str(secret))]) == "error"  # Gradio's own check
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError):  # gradio_client passes a dict without meta through as a server path
        api.client.predict([{"path": str(secret)}], api_name=api.upload)
    assert not server.uploads.exists() or secret.name not in os.listdir(server.uploads)
    assert secret.name not in listed(server)


@pytest.mark.slow
def test_real_upload_through_the_client_is_accepted(server, api, tmp_path):
    from gradio_client import handle_file

    doc = tmp_path / "上传测试.txt"
    doc.write_text("上传测试公司2026年共有员工456人。\n", encoding="utf-8")
    message = api.client.predict([handle_file(str(doc))], api_name=api.upload)[0]
    assert "已添加" in message and doc.name in message
    assert (server.uploads / doc.name).read_text(encoding="utf-8") == doc.read_text(encoding="utf-8")
    assert doc.name in listed(server)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["../../逃逸.txt", "..\\..\\逃逸2.txt", "/etc/逃逸3.txt"])
def test_upload_with_a_traversal_name_stays_in_the_uploads_folder(server, api, name):
    content = f"路径测试：{name} 的内容是七七七。".encode()
    with httpx.Client(base_url=server.url, timeout=60) as http:
        stored = http.post("/gradio_api/upload", files={"files": (name, content)}).json()[0]
    message = call_upload(server, api, [file_data(stored, name)])
    assert "已添加" in message
    inside = [p for p in server.uploads.iterdir() if p.read_bytes() == content]
    assert len(inside) == 1 and inside[0].parent == server.uploads
    escaped = [p for p in server.base.rglob("*逃逸*") if p.is_file() and server.uploads not in p.parents]
    assert all(server.gradio_dir in p.parents for p in escaped)  # only Gradio's own copy, in its folder
    assert not (server.uploads.parent.parent / "逃逸.txt").exists()


@pytest.mark.slow
def test_zip_bomb_uploaded_through_the_page_is_refused(server, api, bomb):
    from gradio_client import handle_file

    message = api.client.predict([handle_file(str(bomb))], api_name=api.upload)[0]
    assert "未添加" in message and "解压后" in message
    assert not (server.uploads / bomb.name).exists()
    assert bomb.name not in listed(server)


@pytest.mark.slow
def test_eight_users_at_once_each_get_their_own_answer(server, api):
    from gradio_client import Client

    questions = {
        "2024年形成了多少份协商报告？": "18",
        "2024年有多少件重点督办提案？": "86",
        "特邀调解员参与调解了多少件案件？": "5633",
        "2023年自治区政协微信公众号累计推送稿件多少条？": "1825",
    }

    def one_user(question: str) -> str:
        client = Client(server.url, verbose=False)
        client.predict(question, api_name="/_take_question")
        chat = client.predict([], "extractive", "", api_name=api.ask)[0]
        return json.dumps(chat[-1]["content"], ensure_ascii=False)

    asked = list(questions) * 2
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(one_user, asked))
    for question, answer in zip(asked, answers):
        assert questions[question] in answer, (question, answer[:200])


# --- the page in a browser ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900}).new_page()
        page.goto(server.url)
        page.locator("#rag-question textarea").wait_for(timeout=60_000)
        yield page
        browser.close()


@pytest.mark.slow
def test_ollama_down_note_is_shown_once_per_session(page):
    from playwright.sync_api import expect

    first = ask_in_page(page, "2024年形成了多少份协商报告？")
    expect(first.locator(".rag-note")).to_contain_text("没有就绪的大模型服务")
    second = ask_in_page(page, "2024年有多少件重点督办提案？")
    expect(second).to_contain_text("86")
    expect(second.locator(".rag-meta")).to_contain_text("抽取式")
    expect(second.locator(".rag-note")).to_have_count(0)
    expect(page.locator("#rag-chat .rag-note").filter(has_text="没有就绪的大模型服务")).to_have_count(1)


@pytest.mark.slow
def test_markup_in_a_question_is_shown_as_text(page):
    from playwright.sync_api import expect

    question = '<img src=x onerror="window.pwned=1"><b>粗体</b> **星号** [1] 协商报告有多少份？'
    ask_in_page(page, question)
    expect(page.locator("#rag-chat [data-testid=user]").last).to_contain_text(question)  # as typed, no backslashes
    assert page.locator("#rag-chat img[src=x], #rag-chat b:text('粗体')").count() == 0
    assert page.evaluate("window.pwned") is None
    page.screenshot(path=str(ARTIFACTS / "ui-faults-markup-question.png"))


@pytest.mark.slow
def test_markup_in_a_document_is_shown_as_text(page, api, tmp_path):
    from gradio_client import handle_file
    from playwright.sync_api import expect

    doc = tmp_path / "标记测试.txt"
    doc.write_text('<img src=x onerror="window.pwned=2"><b>标记</b>测试协会2026年共有会员789人。\n', encoding="utf-8")
    assert "已添加" in api.client.predict([handle_file(str(doc))], api_name=api.upload)[0]
    answer = ask_in_page(page, "测试协会2026年共有会员多少人？")
    expect(answer).to_contain_text("789")
    card = answer.locator("details.rag-source").first
    card.locator("summary").click()
    expect(card.locator(".rag-passage")).to_contain_text('<img src=x onerror="window.pwned=2"><b>标记</b>')
    assert answer.locator("img, b").count() == 0
    assert page.evaluate("window.pwned") is None


def test_an_upload_over_the_cap_is_refused_in_chinese(tmp_path):
    """Gradio's own refusal of a huge upload is English; the page's says the limit and the setting in Chinese."""
    import httpx

    from tests.test_ui_browser import running_ui

    env = {"RAG_INDEX_DIR": str(tmp_path / "vectorstore"), "RAG_MAX_FILE_MB": "0.25",
           "GRADIO_TEMP_DIR": str(tmp_path / "gradio"), "RAG_BACKEND": "extractive"}
    with running_ui(tmp_path, env) as ui:
        big = b"x" * (2 * MB)  # over 4 x 0.25 MB
        r = httpx.post(f"{ui.url}/gradio_api/upload", files={"files": ("big.txt", big, "text/plain")}, timeout=60)
    assert r.status_code == 413
    assert "文件太大" in r.text and "RAG_MAX_FILE_MB" in r.text and "File size exceeded" not in r.text
