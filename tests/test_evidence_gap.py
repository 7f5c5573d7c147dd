"""When the passages cannot answer: a name or a thing asked about that they never mention. The collection's own
subject and the asker's description of their situation are not such a thing."""

from __future__ import annotations

from rag import answer
from tests.test_structured_answers import indexed_all

HISTORY = {
    f"history-{v}.md": f"# FooEdit {v} 的新功能\n\nFooEdit {v} 改进了图层对话框和画笔工具，FooEdit {v} 的启动速度也比以前快。\n"
    for v in ("1.0", "2.0", "2.2")
}
LICENCE = ("# 附录：自由文本授权\n\n这是一份自由文本授权非正式的中文翻译，它并非由自由软件基金会发表。\n\n"
           "本版本由 Leo Hong 翻译整理，由 Delin Chang 进行复制和重新排版。\n\n"
           "## 批处理\n\n现在可以在批处理模式下运行程序了，而不一定需要 X 窗口服务器。\n")


def test_the_collections_own_subject_need_not_be_named_by_the_page_that_answers(tmp_path):
    settings = indexed_all(tmp_path, {**HISTORY, "licence.md": LICENCE})
    a = answer("FooEdit 帮助里附的自由文本授权中文版是谁翻译的？", settings=settings, backend="extractive")
    assert "FooEdit" not in a.text, a.text  # never "检索到的资料中没有提到“FooEdit”"
    assert not a.abstained and "Leo Hong" in a.text, a.text
    other = answer("BarPaint 帮助里附的自由文本授权中文版是谁翻译的？", settings=settings, backend="extractive")
    assert other.abstained and "BarPaint" in other.text, other.text  # a name no document says still is one


def test_a_yes_or_no_question_is_judged_by_the_clause_that_asks(tmp_path):
    settings = indexed_all(tmp_path, {**HISTORY, "licence.md": LICENCE})
    a = answer("我的服务器上没装图形界面，程序能在那种环境下跑吗？", settings=settings, backend="extractive")
    assert not a.abstained and "批处理模式" in a.text, a.text
    trap = answer("程序能在图形界面服务器上跑吗？", settings=settings, backend="extractive")
    assert trap.abstained and "图形界面" in trap.text, trap.text


def test_a_date_of_another_release_is_told_as_such_not_as_the_release_asked(tmp_path):
    docs = {**HISTORY, "early-days.md": "# 早期历史\n\nFooEdit 的 1.0 版于 2000 年 12 月 25 日发布，它的界面工具箱基于 GTK。\n"}
    settings = indexed_all(tmp_path, docs)
    a = answer("When was FooEdit 2.2 released?", settings=settings, backend="extractive")
    assert a.abstained and a.text.startswith("文档没有提到FooEdit 2.2"), a.text
    b = answer("FooEdit 1.0 是什么时候发布的？", settings=settings, backend="extractive")
    assert not b.abstained and "2000 年 12 月 25 日" in b.text, b.text


def test_names_given_as_examples_of_a_kind_stand_for_that_kind(tmp_path):
    settings = indexed_all(tmp_path, {**HISTORY, "signing.md": (
        "# 数字签名\n\n当您对 OOXML 文档进行签名时，签名将始终标记为「仅对文档的一部分进行签名」。"
        "OOXML 文件的元数据永远不会签名，以便与其他办公软件兼容。\n")})
    a = answer("为什么 docx、xlsx 这类 OOXML 文件签完名，状态总是显示只签了一部分？", settings=settings, backend="extractive")
    assert not a.abstained and "元数据" in a.text, a.text  # the documents say OOXML, never docx
    trap = answer("为什么 pages、numbers 这类 iWork 文件签完名，状态总是显示只签了一部分？", settings=settings,
                  backend="extractive")
    assert trap.abstained, trap.text  # neither the examples nor their kind is in the documents


def test_a_library_named_with_its_js_is_the_one_the_text_names_without_it(tmp_path):
    settings = indexed_all(tmp_path, {**HISTORY, "fly.md": (
        "# Fly\n\nFly 的 min 只有 4.6K 左右，GZIP 压缩后不到 2K。\n\n在 nodejs 等非浏览器环境下也可以使用 Fly 发请求。\n")})
    a = answer("fly.js 在浏览器里 gzip 压缩之后有多大？", settings=settings, backend="extractive")
    assert not a.abstained and "2K" in a.text, a.text
    trap = answer("axios.js 在浏览器里 gzip 压缩之后有多大？", settings=settings, backend="extractive")
    assert trap.abstained, trap.text  # a library the documents never name
