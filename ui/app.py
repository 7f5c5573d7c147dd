"""The chat page: Gradio wiring over ``ui.actions``; ``launch()`` serves it on 127.0.0.1 by default."""

from __future__ import annotations

from functools import partial

import gradio as gr
from starlette.middleware import Middleware

from rag.documents.loaders import SUPPORTED_SUFFIXES
from rag.settings import Settings, get_settings
from ui import actions, hosts, limits, locale, render, theme, uploads

TITLE = "中文文档问答"
DESCRIPTION = "基于本地文档回答问题，结论都标注出处：点击 [1] 即可查看原文和高亮的依据句。"
EXAMPLES = [
    "2024年形成了多少份协商报告？",
    "2023年自治区政协微信公众号累计推送稿件多少条？",
    "2024年自治区政协有多少件重点督办提案？",
    "特邀调解员参与调解了多少件案件？",
]
PLACEHOLDER = (
    "### 想从文档里查点什么？\n"
    "回答中的 **[1]** 是出处标记，点一下就能看到原文。可以接着追问，例如先问推送了多少条稿件，再问“阅读量呢？”"
)
CHAT_CONCURRENCY = 4  # answering is I/O-bound (Ollama) or light (extractive); index writes stay serial
NO_ANSWER_YET = "还没有提问。"
UPLOAD_CAP_FACTOR = 4


def build_app(settings: Settings | None = None) -> gr.Blocks:
    """The whole page: a chat tab with a side panel, and a documents tab."""
    settings = settings or get_settings()
    with gr.Blocks(title=TITLE, analytics_enabled=False) as app:
        gr.HTML(
            f'<div id="rag-header"><h1>{TITLE}<span class="rag-badge">本机运行</span></h1><p>{DESCRIPTION}</p></div>'
        )
        with gr.Tabs():
            with gr.Tab("问答", id="chat"):
                chat = _chat_tab(settings)
            with gr.Tab("文档管理", id="documents"):
                docs = _documents_tab(settings, app)
        _wire_index_views(app, settings, chat, docs)
    # Gradio's own texts (the upload box, menus) in Chinese whatever the browser's language; mounting the
    # page elsewhere keeps it, and launch() passes it again (it would reset it).
    app.i18n_instance = locale.make_i18n()
    return app


def _chat_tab(settings: Settings) -> dict:
    """The conversation on the left, backend choice and answer details on the right."""
    history = gr.State([])  # plain question/answer text for follow-ups, without the source cards
    notes_seen = gr.State(set())  # session-wide notes already shown (e.g. "Ollama is down"): once per session
    pending = gr.State("")
    with gr.Row(equal_height=False):
        with gr.Column(scale=4, min_width=420):
            chatbot = gr.Chatbot(
                show_label=False,
                elem_id="rag-chat",
                height="64vh",
                min_height=420,
                layout="panel",
                placeholder=PLACEHOLDER,
                examples=[{"text": q} for q in EXAMPLES],
                latex_delimiters=[],
                feedback_options=None,
                buttons=[],  # copying would copy the source cards' HTML
            )
            question = gr.Textbox(
                show_label=False,
                placeholder="输入问题，按回车发送…",
                submit_btn="发送",
                max_lines=4,
                autofocus=True,
                elem_id="rag-question",
            )
        with gr.Column(scale=1, min_width=260, elem_id="rag-side"):
            backend, model = _backend_panel(settings)
            # Markdown shows no label: the theme's CSS titles this box 「本次回答」.
            status = gr.Markdown(NO_ANSWER_YET, container=True, padding=True, elem_id="rag-status")
            new_chat = gr.Button("开始新对话", size="sm", elem_id="rag-new-chat")
            summary = gr.Markdown(elem_id="rag-index-summary")
    state = {"history": history, "notes_seen": notes_seen}
    _wire_chat(settings, question, pending, chatbot, state, backend, model["box"], status, new_chat)
    return {"model": model, "summary": summary}


def _backend_panel(settings: Settings) -> tuple[gr.Radio, dict]:
    """Which backend answers, which model of its server (listed by the server; free text allowed), and a note
    when that server is not found (then ``auto`` offers no model: it answers from the documents)."""
    from rag.llm import BACKEND_NAMES

    default = _default_backend(settings)
    backend = gr.Radio(
        [(render.BACKEND_LABELS.get(n, n), n) for n in BACKEND_NAMES],
        value=default,
        label="回答方式",
        info="自动：依次尝试已配置的 OpenAI 兼容服务、Ollama，都不可用时直接从原文摘录作答。",
        elem_id="rag-backend",
    )
    model = gr.Dropdown(
        [actions.chosen_model(default, None, settings)],
        value=actions.chosen_model(default, None, settings),
        allow_custom_value=True,
        visible=False,  # shown on page load once its server answered (_model_panel)
        elem_id="rag-model",
        **_model_box_text(actions.model_backend(default, settings)),
    )
    note = gr.Markdown(visible=False, elem_id="rag-backend-note")
    panel = {"box": model, "note": note}
    backend.change(partial(_model_panel, settings=settings), backend, [model, note], queue=False)
    return backend, panel


def _default_backend(settings: Settings) -> str:
    from rag.llm import BACKEND_NAMES

    return settings.backend if settings.backend in BACKEND_NAMES else "auto"


def _model_box_text(kind: str | None) -> dict:
    if kind == "openai":
        return {"label": "OpenAI 兼容服务的模型", "info": "列表来自该服务的 /v1/models，也可直接输入模型名。"}
    return {"label": "Ollama 模型", "info": "列表来自 Ollama 服务，也可直接输入模型名。"}


def _model_panel(backend: str, *, settings: Settings) -> tuple[dict, dict]:
    """The model box and the note for a newly chosen backend: that server's models, or no box when it needs none
    (or, for ``auto``, when no server answers: the note says how it answers instead)."""
    kind, models, note = actions.model_box(backend, settings)
    shown = gr.update(value=note, visible=bool(note))
    if kind is None:
        return gr.update(visible=False), shown
    return gr.update(visible=True, choices=models, value=models[0] if models else None, **_model_box_text(kind)), shown


def _model_box(backend: str, *, settings: Settings) -> dict:
    """The model box alone for ``backend`` (see ``_model_panel``)."""
    return _model_panel(backend, settings=settings)[0]


def _wire_chat(settings, question, pending, chatbot, state, backend, model, status, new_chat) -> None:
    """Typing or an example → lock the box and show a stop button → stream the answer → unlock."""
    ask = partial(_ask, settings=settings)
    history, notes_seen = state["history"], state["notes_seen"]
    runs = []
    # No progress overlay on the box: it would hide the stop button while an answer streams.
    quiet = {"queue": False, "show_progress": "hidden"}
    for started in (
        question.submit(_take_question, question, [question, pending], **quiet),
        chatbot.example_select(_take_example, None, [question, pending], **quiet),
    ):
        answering = started.then(
            ask,
            [pending, chatbot, history, backend, model, notes_seen],
            [chatbot, history, status, notes_seen],
            show_progress="hidden",
        )
        answering.then(_release_question, None, question, **quiet)
        runs.append(answering)
    question.stop(_stopped, chatbot, [chatbot, question, status], cancels=runs, queue=False)
    new_chat.click(lambda: ([], [], NO_ANSWER_YET), None, [chatbot, history, status], queue=False)
    chatbot.clear(lambda: ([], NO_ANSWER_YET), None, [history, status], queue=False)


def _ask(question, chat, history, backend, model, notes_seen, *, settings: Settings):
    seen = set(notes_seen or ())
    for step in actions.ask(question, chat, history, backend, model, settings=settings, notes_seen=seen):
        yield (*step, seen)


def _take_question(text: str) -> tuple:
    return gr.update(value="", submit_btn=False, stop_btn="停止"), text


def _take_example(event: gr.SelectData) -> tuple:
    return _take_question(event.value["text"])


def _release_question():
    return gr.update(submit_btn="发送", stop_btn=False)


def _stopped(chat: list) -> tuple:
    return actions.mark_stopped(chat), _release_question(), "已停止生成。"


def _documents_tab(settings: Settings, app: gr.Blocks) -> dict:
    """Upload on the left, the indexed documents (and delete, once confirmed) on the right."""
    kinds = sorted(SUPPORTED_SUFFIXES)
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=320):
            gr.Markdown(
                f"### 添加文档\n支持 {'、'.join(kinds)}，单个文件不超过 {settings.max_file_mb:g} MB。"
                "上传后自动加入知识库，只处理新增或改动过的文件。"
            )
            # file_types: the file picker offers only the kinds ingest reads
            files = gr.File(label="上传文件", file_count="multiple", type="filepath", file_types=kinds,
                            elem_id="rag-upload")
            upload_result = gr.Markdown(elem_id="rag-upload-result")
        with gr.Column(scale=3, min_width=420):
            gr.Markdown("### 已收录的文档")
            table = gr.Dataframe(
                headers=render.DOCUMENT_HEADERS,
                datatype=["str", "number", "number", "str"],
                interactive=False,
                wrap=True,
                elem_id="rag-docs",
                column_widths=["46%", "14%", "14%", "26%"],
                buttons=[],  # no copy / fullscreen icons (their tooltips are English)
            )
            with gr.Row(equal_height=False, elem_id="rag-delete-row"):
                pick = gr.Dropdown([], label="选择要删除的文档", scale=4, elem_id="rag-delete-pick")
                delete = gr.Button("删除", variant="stop", scale=1, min_width=80, elem_id="rag-delete")
            with gr.Column(visible=False, variant="panel", elem_id="rag-delete-confirm") as confirm_box:
                confirm_text = gr.Markdown(elem_id="rag-delete-question")
                with gr.Row():
                    confirm = gr.Button("确认删除", variant="stop", size="sm", elem_id="rag-delete-yes")
                    cancel = gr.Button("取消", size="sm", elem_id="rag-delete-no")
            delete_result = gr.Markdown(elem_id="rag-delete-result")
    # Index writes take a lock that fails fast, so they run one at a time.
    serial = {"concurrency_limit": 1, "concurrency_id": "index"}
    upload = partial(_upload, settings=settings, app=app)
    upload_event = files.upload(upload, files, [upload_result, table, files], **serial)
    asking = [confirm_box, confirm_text, delete_result]
    delete.click(_ask_to_delete, pick, asking, queue=False)
    pick.input(lambda: (gr.update(visible=False), "", ""), None, asking, queue=False)  # a new choice asks again
    cancel.click(lambda: (gr.update(visible=False), "", "已取消，没有删除任何文档。"), None, asking, queue=False)
    confirmed = confirm.click(lambda: gr.update(visible=False), None, confirm_box, queue=False)
    delete_event = confirmed.then(
        partial(actions.handle_delete, settings=settings), pick, [delete_result, table], **serial
    )
    return {"table": table, "pick": pick, "events": [upload_event, delete_event]}


def _ask_to_delete(source: str | None) -> tuple:
    """Deleting asks first, naming the document and what goes with it; nothing chosen is a hint instead."""
    if not source:
        return gr.update(visible=False), "", "请先在列表中选择要删除的文档。"
    question = (f"确定要从知识库删除 **{render.escape_md(source)}** 吗？"
                "删除后不能再就它提问；通过本页面上传的文件也会一并删除。")
    return gr.update(visible=True), question, ""


def _upload(files, *, settings: Settings, app: gr.Blocks, progress=gr.Progress()) -> tuple:
    foreign = uploads.foreign_files(files or [], getattr(app, "upload_file_set", ()))
    if foreign:  # a path named through the API, not a file sent to this page: copy and index nothing
        message = uploads.refusal(foreign)
        actions.warn(message)
        return render.format_error(message), actions.documents_view(settings)[0], None
    message, rows = actions.handle_upload(files, settings=settings, progress=lambda f, desc: progress(f, desc=desc))
    return message, rows, None  # None empties the upload box for the next batch


def _wire_index_views(app: gr.Blocks, settings: Settings, chat: dict, docs: dict) -> None:
    """Fill the model list and document views on page load, and refresh them after index changes."""

    def refresh():
        rows, names, summary = actions.documents_view(settings)
        return rows, gr.update(choices=names, value=None), summary

    views = [docs["table"], docs["pick"], chat["summary"]]
    for event in docs["events"]:
        event.then(refresh, None, views)
    app.load(refresh, None, views)
    model = chat["model"]
    app.load(lambda: _model_panel(_default_backend(settings), settings=settings), None, [model["box"], model["note"]])


def launch(host: str = "127.0.0.1", port: int = 7860, *, open_browser: bool = False) -> None:
    """Serve the page (blocking) on ``host:port``; never a public share link, only the allowed host names.

    Every step that takes time is said first, in Chinese; Gradio's own English start-up lines are not printed.
    """
    from rag.llm.redact import install_log_filter

    install_log_filter()  # no secret (RAG_OPENAI_API_KEY, RAG_MILVUS_TOKEN) in any log line
    settings = get_settings()
    hosts.check_port_free(host, port)  # before the index is built: a taken port is known at once
    allowed = hosts.allowed_hosts(host, settings.allowed_hosts)
    _warn_if_exposed(host, settings.allowed_hosts)
    actions.prepare_index(settings)
    app = build_app(settings)
    app.queue(default_concurrency_limit=CHAT_CONCURRENCY)
    app.launch(
        server_name=host,
        server_port=port,
        share=False,
        inbrowser=open_browser,
        quiet=True,  # no "Running on local URL" / "To create a public link, set share=True": said below
        prevent_thread_lock=True,
        show_error=False,
        app_kwargs={"middleware": [Middleware(hosts.HostCheck, allowed=allowed),
                                   Middleware(limits.TooLarge, limit_mb=UPLOAD_CAP_FACTOR * settings.max_file_mb)]},
        footer_links=[],
        ssr_mode=False,
        # A backstop only: files over settings.max_file_mb are refused by ingest, with a reason in Chinese;
        # Gradio's own refusal (for the truly huge) is in English.
        max_file_size=f"{UPLOAD_CAP_FACTOR * settings.max_file_mb:g}mb",
        theme=theme.make_theme(),
        css=theme.CSS,
        js=theme.JS,
        i18n=app.i18n_instance,
    )
    print(f"聊天页面已就绪：{page_url(host, port)} （按 Ctrl+C 停止）", flush=True)
    _serve_until_stopped(app)


def page_url(host: str, port: int) -> str:
    """The address to open in a browser for a server bound to ``host``."""
    name = hosts.host_name(host)
    if name in hosts.ANY_ADDRESS:
        name = "127.0.0.1"
    return f"http://{f'[{name}]' if ':' in name else name}:{port}"


def _serve_until_stopped(app: gr.Blocks) -> None:
    import time

    try:
        while app.is_running:
            time.sleep(0.2)
    except KeyboardInterrupt:
        print("\n已停止聊天页面。", flush=True)
    finally:
        app.close()


def _warn_if_exposed(host: str, configured: str) -> None:
    # Bound to every address by choice, but only loopback names allowed: other machines get refusals.
    if hosts.host_name(host) in hosts.ANY_ADDRESS and not configured.strip():
        print(
            f"注意：页面监听 {host}，其他机器可以连接，但只有 localhost / 127.0.0.1 的访问会被接受。"
            "要让别的机器通过某个名字或地址访问，请设置 RAG_ALLOWED_HOSTS（逗号分隔，例如 192.168.1.20,rag.lan）。",
            flush=True,
        )
