"""The chat page's logic without a browser: answer and source HTML, chat turns, uploads, launch options."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from rag.errors import LLMUnavailable, QuestionError
from rag.types import Answer, Chunk, Citation, Passage
from ui import actions, render

DOC = "cppcc-2024-consultation-review.txt"
PASSAGE_TEXT = "数字无声，最具说服力。\n\n2024年形成的18份协商报告全部得到党政领导批示。这是充分肯定。"
QUOTE = "2024年形成的18份协商报告全部得到党政领导批示。"


def make_answer(text="共形成18份协商报告[1]。", *, source=DOC, passage_text=PASSAGE_TEXT, quote=QUOTE, **kw) -> Answer:
    chunk = Chunk(source=source, text=passage_text, start=100, end=100 + len(passage_text), order=3)
    passage = Passage(chunk=chunk, score=0.0325, rank=1, dense_score=0.871, bm25_score=12.5)
    other = Passage(chunk=Chunk(source="other.txt", text="无关", start=0, end=2, order=0), score=0.01, rank=2)
    citation = Citation(index=1, source=source, text=passage_text, start=100, end=100 + len(passage_text), quote=quote)
    fields = {
        "question": "2024年形成了多少份协商报告？",
        "backend": "extractive",
        "timings": {"retrieval": 0.123, "generation": 3.4},
        **kw,
    }
    return Answer(text=text, citations=[citation], passages=[other, passage], **fields)


# --- answers and their sources ----------------------------------------------------------------


def test_sources_highlight_the_supporting_sentence():
    html = render.format_sources(make_answer(), turn=2)
    assert f"<mark>{QUOTE}</mark>" in html
    assert DOC in html
    assert '<details class="rag-source" id="rag-src-2-1">' in html


def test_sources_show_the_rank_of_the_matching_passage_not_its_raw_score():
    html = render.format_sources(make_answer())
    assert "相关度第 1" in html
    assert "得分" not in html and "0.033" not in html and "0.871" not in html  # fused scores mean nothing to a reader


def test_markers_link_to_their_source_cards():
    message = render.format_answer(make_answer("共18份[1]，另见[7]。"), turn=3)
    link = re.search(r'<a class="rag-cite" href="#([^"]+)"[^>]*>\[1\]</a>', message)
    assert link and f'id="{link.group(1)}"' in message
    assert "另见[7]" in message  # a marker nothing backs stays plain text


def test_markdown_in_answers_is_shown_as_text():
    # an HTML block: Markdown is not parsed inside it, so nothing a model wrote becomes an image or a link
    for text in ("![x](http://evil.example/a.png)", "[点这里](http://evil.example)", "http://evil.example"):
        message = render.format_answer(make_answer(f"答案{text}[1]\n\n第二段"))
        assert message.startswith('<div class="rag-answer">') and message.index("</div>") > message.index("第二段")
        assert "\n\n" not in message.split("</div>", 1)[0]
        assert render.format_streaming(text).startswith('<div class="rag-answer">')


def test_html_in_documents_and_answers_is_shown_as_text():
    evil = "<script>alert(1)</script>"
    answer = make_answer(f"答案{evil}[1]", source="<b>x</b>.txt", passage_text=f"前文{evil}。{QUOTE}", quote=QUOTE)
    message = render.format_answer(answer)
    assert "<script>" not in message and "<b>x</b>" not in message
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in message
    assert "&lt;b&gt;x&lt;/b&gt;.txt" in message


def test_quote_with_markup_is_escaped_inside_the_highlight():
    html = render.highlight("a<b>c</b>d", "<b>c</b>")
    assert html == "a<mark>&lt;b&gt;c&lt;/b&gt;</mark>d"


def test_source_cards_are_one_html_block_without_blank_lines():
    # a blank line inside would end Markdown's HTML block and break the card apart
    extras = render.format_answer(make_answer()).split("\n\n", 1)[1]
    assert "\n" not in extras
    assert "数字无声，最具说服力。<br><mark>2024年" in extras


def test_quote_not_found_in_the_passage_still_shows_the_passage():
    html = render.format_sources(make_answer(quote="不在原文里的句子"))
    assert "<mark>" not in html and "数字无声" in html and "不在原文里的句子" in html


def test_citation_is_matched_to_the_passage_from_the_same_file_and_span():
    answer = make_answer()
    assert render.passage_for(answer.citations[0], answer.passages).rank == 1
    assert render.passage_for(answer.citations[0], answer.passages[:1]) is None


def test_no_citations_means_no_sources_block():
    answer = Answer(question="q", text="文档中没有提到这一点。", abstained=True, backend="extractive", flags=["no-evidence"])
    assert render.format_sources(answer) == ""
    assert "rag-note" not in render.format_answer(answer)


def test_timings_in_seconds():
    assert render.format_timings(make_answer()) == "检索\u00a00.12\u00a0秒 · 生成\u00a03.4\u00a0秒"
    assert render.format_timings(make_answer(timings={"retrieval": 0.5})) == "检索\u00a00.50\u00a0秒"
    assert render.format_timings(make_answer(timings={})) == ""


def test_meta_names_the_backend_and_the_ollama_model():
    assert "抽取式" in render.format_meta(make_answer())
    assert "Ollama · qwen2.5:3b" in render.format_meta(make_answer(backend="ollama"), "qwen2.5:3b")


def test_fallback_note_replaces_the_number_warning():
    notes = render.format_notes(make_answer(flags=["unsupported-number", "fallback-extractive"]))
    assert notes.count("rag-note") == 1 and "摘录" in notes


@pytest.mark.parametrize("flags, said", [
    (["near-miss", "other-year"], "另一年份"),
    (["near-miss"], "最接近的相关数字"),
    (["several-facts"], "分别查找"),
])
def test_status_explains_the_kind_of_answer_in_words_never_internal_flags(flags, said):
    status = render.format_status(make_answer(flags=[*flags, "evidence-gap", "off-target-figure"]))
    assert said in status
    assert "标记" not in status and not re.search(r"[a-z]+-[a-z]+", status)


def test_status_says_nothing_of_flags_it_has_no_words_for():
    status = render.format_status(make_answer(flags=["off-target-figure", "llm-deadline"]))
    assert "说明" not in status and "off-target" not in status


def test_status_shows_how_a_follow_up_was_understood():
    answer = make_answer(question="阅读量呢？", standalone_question="2023年公众号*阅读量*是多少？")
    status = render.format_status(answer)
    assert "抽取式" in status and "检索用时" in status and "生成用时" in status
    assert r"2023年公众号\*阅读量\*是多少？" in status


# --- chat turns -----------------------------------------------------------------------------------


@pytest.fixture
def warnings(monkeypatch):
    shown: list[str] = []
    monkeypatch.setattr(actions, "warn", shown.append)
    return shown


def fake_stream(*items):
    calls = []

    def stream_answer(question, history=None, **options):
        calls.append(SimpleNamespace(question=question, history=list(history or []), **options))
        for item in items:
            if isinstance(item, Exception):
                raise item
            yield item

    stream_answer.calls = calls
    return stream_answer


def test_a_turn_streams_then_shows_the_verified_answer(monkeypatch, settings):
    final = make_answer()
    stream = fake_stream("共形成", "十八份", final)
    monkeypatch.setattr(actions, "stream_answer", stream)
    steps = list(actions.ask("2024年形成了多少份协商报告？", [], [], "extractive", "", settings=settings))
    chats = [chat for chat, _, _ in steps]
    assert "rag-waiting" in chats[0][-1]["content"]
    assert chats[2][-1]["content"] == render.format_streaming("共形成十八份")  # streamed text, with a cursor
    chat, history, status = steps[-1]
    assert "<mark>" in chat[-1]["content"] and "十八份" not in chat[-1]["content"]
    assert history == [
        {"role": "user", "content": "2024年形成了多少份协商报告？"},
        {"role": "assistant", "content": final.text},
    ]
    assert "抽取式" in status
    assert stream.calls[0].backend == "extractive" and stream.calls[0].settings is settings


def test_follow_up_sends_the_plain_history(monkeypatch, settings):
    stream = fake_stream(make_answer())
    monkeypatch.setattr(actions, "stream_answer", stream)
    earlier = [{"role": "user", "content": "推送稿件多少条？"}, {"role": "assistant", "content": "1825条[1]"}]
    chat = [{"role": "user", "content": "推送稿件多少条？"}, {"role": "assistant", "content": "<div>卡片</div>"}]
    chat, history, _ = list(actions.ask("阅读量呢？", chat, earlier, "auto", "", settings=settings))[-1]
    assert stream.calls[0].history == earlier
    assert len(history) == 4 and len(chat) == 4
    assert 'id="rag-src-2-1"' in chat[-1]["content"]  # the second answer's cards get their own ids


def test_empty_question_is_a_hint_not_an_error(monkeypatch, settings, warnings):
    monkeypatch.setattr(actions, "stream_answer", fake_stream(AssertionError("must not be called")))
    steps = list(actions.ask("   ", [], [], "auto", "", settings=settings))
    assert len(steps) == 1 and steps[0][0] == [] and steps[0][1] == []
    assert warnings and "请先输入问题" in warnings[0]


@pytest.mark.parametrize(
    "error, expected",
    [
        (LLMUnavailable("无法连接 Ollama：请先运行 `ollama serve`。"), "ollama serve"),
        (QuestionError("问题过长"), "问题过长"),
        (RuntimeError("boom"), "意外错误"),
    ],
)
def test_errors_become_a_friendly_line_in_the_chat(monkeypatch, settings, error, expected):
    monkeypatch.setattr(actions, "stream_answer", fake_stream("半句", error))
    chat, history, status = list(actions.ask("问题", [], [], "ollama", "", settings=settings))[-1]
    message = chat[-1]["content"]
    assert 'class="rag-error"' in message and expected in message
    assert "Traceback" not in message and "boom" not in message
    assert history == [] and "没有回答成功" in status


def test_chosen_ollama_model_travels_in_a_reused_settings_copy(settings):
    assert actions.answer_options("ollama", "", settings)["settings"] is settings
    first = actions.answer_options("ollama", "qwen2.5:3b", settings)["settings"]
    assert first.ollama_model == "qwen2.5:3b" and first.index_dir == settings.index_dir
    assert actions.answer_options("auto", "qwen2.5:3b", settings)["settings"] is first


def test_stopping_keeps_the_partial_answer():
    chat = [{"role": "user", "content": "q"}, {"role": "assistant", "content": render.format_streaming("共形成")}]
    stopped = actions.mark_stopped(chat)
    assert stopped[-1]["content"] == render.answer_block("共形成" + render.format_stopped())
    done = [{"role": "assistant", "content": [{"type": "text", "text": "完整回答"}]}]
    assert actions.mark_stopped(done) == done


# --- documents ------------------------------------------------------------------------------------


def fake_ingest(skipped: dict[str, str]):
    calls = []

    def ingest(paths, *, settings=None, progress=None, **_):
        calls.append([Path(p) for p in paths])
        names = [Path(p).name for p in paths]
        return SimpleNamespace(
            added=[n for n in names if n not in skipped],
            updated=[],
            unchanged=[],
            removed=[],
            skipped=[(n, skipped[n]) for n in names if n in skipped],
            chunks=3,
            total_chunks=47,
            seconds=0.4,
        )

    ingest.calls = calls
    return ingest


@pytest.fixture
def documents(monkeypatch):
    listed = [SimpleNamespace(source="a.txt", chunks=2, chars=90, ingested_at=0)]
    monkeypatch.setattr(actions, "list_documents", lambda settings=None: listed)


def test_upload_copies_files_under_their_names_and_indexes_them(monkeypatch, settings, tmp_path, documents):
    upload = tmp_path / "gradio" / "报告.md"
    upload.parent.mkdir()
    upload.write_text("# 报告\n内容", encoding="utf-8")
    ingest = fake_ingest({})
    monkeypatch.setattr(actions, "ingest", ingest)
    message, rows = actions.handle_upload([str(upload)], settings=settings)
    target = Path(settings.uploads_dir) / "报告.md"
    assert ingest.calls == [[target]] and target.read_text(encoding="utf-8") == "# 报告\n内容"
    assert "已添加" in message and "报告.md" in message and "知识库共 47 个" in message
    assert rows == [["a.txt", 2, 90, ""]]


def test_rejected_upload_leaves_the_uploads_folder_as_it_was(monkeypatch, settings, tmp_path, documents, warnings):
    uploads = Path(settings.uploads_dir)
    uploads.mkdir(parents=True)
    (uploads / "旧.txt").write_text("旧内容", encoding="utf-8")
    bad_new, bad_replacement = tmp_path / "程序.exe", tmp_path / "旧.txt"
    bad_new.write_bytes(b"MZ")
    bad_replacement.write_bytes(b"\xff\xfe\x00")
    reasons = {"程序.exe": "不支持的文件类型 <.exe>", "旧.txt": "无法识别编码"}
    monkeypatch.setattr(actions, "ingest", fake_ingest(reasons))
    message, _ = actions.handle_upload([str(bad_new), str(bad_replacement)], settings=settings)
    assert sorted(p.name for p in uploads.iterdir()) == ["旧.txt"]
    assert (uploads / "旧.txt").read_text(encoding="utf-8") == "旧内容"
    assert "未添加" in message and "不支持的文件类型 &lt;.exe&gt;" in message and "无法识别编码" in message
    assert warnings and "程序.exe" in warnings[0]


def test_failed_ingest_is_reported_and_undone(monkeypatch, settings, tmp_path, documents, warnings):
    upload = tmp_path / "新.txt"
    upload.write_text("内容", encoding="utf-8")

    def busy(*args, **kwargs):
        from rag.errors import IndexBusyError

        raise IndexBusyError("busy")

    monkeypatch.setattr(actions, "ingest", busy)
    message, _ = actions.handle_upload([str(upload)], settings=settings)
    assert "知识库正在更新" in message and not (Path(settings.uploads_dir) / "新.txt").exists()


def test_delete_removes_the_document_and_its_uploaded_copy(settings, fake_embedder, tmp_path):
    from rag.index.ingestion import ingest

    uploads = Path(settings.uploads_dir)
    uploads.mkdir(parents=True)
    (uploads / "b.txt").write_text("上传的文件：本单位2024年共有会员12名。", encoding="utf-8")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "b.txt").write_text("另一个同名文件：2023年共有会员34名。", encoding="utf-8")
    ingest([uploads / "b.txt", tmp_path / "other" / "b.txt"], settings=settings, embedder=fake_embedder)
    message, rows = actions.handle_delete("other/b.txt", settings=settings)
    assert "已删除" in message and (uploads / "b.txt").exists()  # a namesake's upload copy stays
    assert [row[0] for row in rows] == ["b.txt"]
    message, rows = actions.handle_delete("b.txt", settings=settings)
    assert "已删除" in message and not (uploads / "b.txt").exists() and rows == []
    assert "请先" in actions.handle_delete(None, settings=settings)[0]


def test_documents_summary():
    docs = [SimpleNamespace(source="a", chunks=3, chars=10), SimpleNamespace(source="b", chunks=4, chars=20)]
    assert render.format_index_summary(docs) == "知识库：2 篇文档 · 7 个文本块"
    assert "空" in render.format_index_summary([])


class _Server:
    """An Ollama / OpenAI client stand-in listing ``MODELS`` (None: the server is down)."""

    MODELS: list[str] | None = None

    def __init__(self, settings):
        pass

    def list_models(self):
        if self.MODELS is None:
            raise OSError("connection refused")
        return self.MODELS


@pytest.fixture
def servers(monkeypatch):
    import rag.llm

    ollama, openai = type("Ollama", (_Server,), {}), type("OpenAI", (_Server,), {})
    monkeypatch.setattr(rag.llm, "OllamaLLM", ollama)
    monkeypatch.setattr(rag.llm, "OpenAILLM", openai)
    return SimpleNamespace(ollama=ollama, openai=openai)


def test_model_list_survives_a_missing_server(servers, settings):
    assert actions.list_models(settings) == [settings.ollama_model]


def test_auto_without_a_model_server_offers_no_model_but_says_how_it_answers(servers, settings):
    kind, models, note = actions.model_box("auto", settings)
    assert kind is None  # no "Ollama 模型" box to pick from
    assert "没有找到可用的 Ollama 服务" in note and "直接从原文摘录" in note and "ollama serve" in note


def test_auto_with_ollama_running_offers_its_models(servers, settings):
    servers.ollama.MODELS = ["qwen2.5:3b", settings.ollama_model]
    assert actions.model_box("auto", settings) == ("ollama", [settings.ollama_model, "qwen2.5:3b"], "")


def test_a_server_chosen_by_name_keeps_its_box_with_a_note_when_down(servers, settings):
    kind, models, note = actions.model_box("ollama", settings)
    assert kind == "ollama" and models == [settings.ollama_model] and "ollama serve" in note
    assert actions.model_box("extractive", settings) == (None, [], "")


def test_auto_names_a_configured_server_that_does_not_answer(servers, settings):
    configured = settings.model_copy(update={"openai_base_url": "http://127.0.0.1:9/v1"})
    kind, _, note = actions.model_box("auto", configured)
    assert kind is None and "http://127.0.0.1:9/v1" in note and "连不上" in note


def test_an_auto_answer_without_the_configured_server_says_so_once(monkeypatch, settings):
    configured = settings.model_copy(update={"openai_base_url": "http://127.0.0.1:9/v1"})
    answer = make_answer(flags=["auto-extractive"])
    monkeypatch.setattr(actions, "stream_answer", fake_stream(answer))
    seen: set[str] = set()
    first = list(actions.ask("问题", [], [], "auto", "", settings=configured, notes_seen=seen))[-1][0][-1]["content"]
    assert "已配置的 OpenAI 兼容服务（http://127.0.0.1:9/v1）没有应答" in first and "改用直接从原文摘录作答" in first
    assert render.FLAG_NOTES["auto-extractive"] not in first  # the exact note replaces the general one
    second = list(actions.ask("问题", [], [], "auto", "", settings=configured, notes_seen=seen))[-1][0][-1]["content"]
    assert "OpenAI 兼容服务" not in second and "rag-note" not in second
    # answered by the server itself, or with another backend chosen: nothing to say
    for backend, by in (("auto", "openai"), ("extractive", "extractive")):
        monkeypatch.setattr(actions, "stream_answer", fake_stream(make_answer(backend=by)))
        message = list(actions.ask("问题", [], [], backend, "", settings=configured))[-1][0][-1]["content"]
        assert "没有应答" not in message


def test_starting_without_an_index_says_so_builds_apart_then_loads(monkeypatch, settings, capsys):
    from ui import worker

    built = []
    monkeypatch.setattr(worker, "ensure_index", lambda s, progress=None: built.append(s) or progress(0.5, "14/28 块 · a.txt")
                        or SimpleNamespace(added=["a.txt", "b.txt"], total_chunks=28))
    monkeypatch.setattr(actions, "warm_up", lambda s: print("(warm)"))
    actions.prepare_index(settings)
    out = capsys.readouterr().out
    assert built == [settings]
    steps = ["首次启动：正在从示例文档建立索引", "14/28 块", "已从示例文档建立索引：2 篇文档，28 个文本块", "正在加载嵌入模型", "(warm)"]
    assert [out.index(step) for step in steps] == sorted(out.index(step) for step in steps)


# --- the page -------------------------------------------------------------------------------------


def test_launch_binds_loopback_without_a_share_link(monkeypatch, capsys):
    import gradio as gr

    from ui import app

    seen = {}
    monkeypatch.setattr(actions, "prepare_index", lambda settings: None)
    monkeypatch.setattr(gr.Blocks, "launch", lambda self, **kwargs: seen.update(kwargs))
    app.launch(port=_free_port())
    assert seen["server_name"] == "127.0.0.1"
    assert seen["share"] is False and seen["inbrowser"] is False
    assert seen["footer_links"] == []  # no English footer, no API page link
    assert seen["quiet"] is True  # Gradio's English start-up lines, "set share=True" among them, are not printed
    assert "聊天页面已就绪：http://127.0.0.1:" in capsys.readouterr().out
    assert seen["i18n"].translations_dict["en"]["upload_text.drop_file"] == "把文件拖到这里"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_page_address_for_any_bound_host():
    from ui.app import page_url

    assert page_url("0.0.0.0", 7860) == "http://127.0.0.1:7860"
    assert page_url("::1", 8000) == "http://[::1]:8000" and page_url("rag.lan", 80) == "http://rag.lan:80"


def test_gradio_texts_are_chinese_for_every_browser_language():
    from ui import locale

    texts = locale.translations()
    assert {"en", "de", "zh-CN", "zh-TW"} <= set(texts)
    assert all(t["upload_text.click_to_upload"] == "点击选择文件" for t in texts.values())
    assert not any(re.search(r"[A-Za-z]{3,}", re.sub(r"\{\w+\}", "", v)) for v in locale.TEXTS.values())


def test_command_line_defaults(monkeypatch):
    import ui.app
    from ui.__main__ import main

    calls = []
    monkeypatch.setattr(ui.app, "launch", lambda *args, **kwargs: calls.append((args, kwargs)))
    main([])
    main(["--host", "0.0.0.0", "--port", "8000", "--open"])
    assert calls == [(("127.0.0.1", 7860), {"open_browser": False}), (("0.0.0.0", 8000), {"open_browser": True})]
