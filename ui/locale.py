"""Gradio's own words on the page (the upload box, table menus, toasts) in Chinese, whatever the browser's language.

Gradio picks its built-in texts by the browser's language, so an en-US browser would read
"Drop File Here / Click to Upload" on an otherwise Chinese page. Its custom translations
(``gr.I18n``) take precedence over the built-in ones, key by key: the keys below are given in
Chinese for every language Gradio ships (its own Simplified Chinese leaves some of them in English).
"""

from __future__ import annotations

# The languages Gradio's frontend ships texts for (it falls back to "en" for any other).
GRADIO_LOCALES = (
    "ar", "ca", "de", "en", "es", "et", "eu", "fa", "fi", "fr", "he", "hi", "id", "ja", "ko", "lt", "nb", "nl",
    "pl", "pt", "pt-BR", "ro", "ru", "sv", "ta", "th", "tr", "uk", "ur", "uz", "zh-CN", "zh-TW",
)  # fmt: skip

TEXTS = {
    # the upload box
    "upload_text.drop_file": "把文件拖到这里",
    "upload_text.click_to_upload": "点击选择文件",
    "upload_text.paste_clipboard": "从剪贴板粘贴",
    "common.or": "或",
    "file.uploading": "正在上传…",
    # buttons and words any component may show
    "common.clear": "清除",
    "common.download": "下载",
    "common.download_all": "全部下载",
    "common.edit": "编辑",
    "common.empty": "空",
    "common.error": "出错了",
    "common.loading": "加载中",
    "common.progress": "进度",
    "common.remove": "移除",
    "common.submit": "提交",
    "common.undo": "撤销",
    "common.settings": "设置",
    "common.language": "语言",
    "common.display_theme": "显示主题",
    "dropdown.dropdown": "下拉菜单",
    "radio.radio": "单选框",
    # the chat
    "chatbot.edit": "编辑",
    "chatbot.retry": "重试",
    "chatbot.undo": "撤销",
    "chatbot.submit": "发送",
    "chatbot.cancel": "取消",
    "chatbot.clear": "清空对话",
    "chatbot.complete": "完成",
    "chatbot.copy_message": "复制消息",
    "chatbot.copied_message": "已复制",
    # the documents table's column menu
    "dataframe.sort_column": "排序",
    "dataframe.sort_ascending": "升序",
    "dataframe.sort_descending": "降序",
    "dataframe.clear_sort": "取消排序",
    "dataframe.filter": "筛选",
    "dataframe.clear_filter": "清除筛选",
    # the connection and the queue
    "blocks.connection_can_break": "在手机上，切换到其他页面或锁屏可能会断开连接。",
    "blocks.long_requests_queue": "正在排队的请求较多，请稍候。",
    "blocks.lost_connection": "与服务器的连接断开了，正在重新连接…",
    "blocks.waiting_for_inputs": "文件还在上传，请稍后再试。",
    "status.queue_position": "排队中：第 {position} 位，共 {size} 位",
}


def translations() -> dict[str, dict[str, str]]:
    """The same Chinese texts for every language Gradio may pick."""
    return {locale: dict(TEXTS) for locale in GRADIO_LOCALES}


def make_i18n():
    """The ``gr.I18n`` to serve the page with (``Blocks.launch(i18n=...)`` or ``mount_gradio_app(i18n=...)``)."""
    import gradio as gr

    return gr.I18n(**translations())
