"""A plain-text tutorial's key lists and titles (a tutorial or manual saved as text, GB18030 as often as UTF-8): each
"term  description" line is an entry, a title underlined with dashes heads what follows it, and keys written the
way editors write them ("C-M-v", "CTRL-O") are keys."""

from __future__ import annotations

from rag.documents.cleaning import clean_text
from rag.documents.text_tables import laid_out_rows
from rag.documents.units import display, split_units
from rag.text.tokens import exact_terms, key_combos, names_key
from tests.test_structured_answers import ask

TUTORIAL = """快速指南

这份指南带你一步一步学会编辑器的基本操作。屏幕上显示的文字比一屏多的时候，需要翻页。

* 基本的光标控制（BASIC CURSOR CONTROL）
----------------------------------------

翻页时下面几个命令相当有用：

        C-v     向前移动一屏
        M-v     向后移动一屏
        C-l     重绘屏幕，并将光标所在行置于屏幕的中央
                （注意是 CONTROL-L，不是 CONTROL-1）

* 命令集扩展（EXTENDING THE COMMAND SET）
-----------------------------------------

命令太多，没法都对应到组合键上，扩展命令有两种风格：

        C-x     字符扩展。  C-x 之后输入另一个字符或者组合键。
        M-x     命令名扩展。M-x 之后输入一个命令名。

* 获得帮助（GETTING HELP）
--------------------------

   C-h a        相关命令搜索。
                输入一个关键词，编辑器会列出所有命令名中包含此关键词
                的命令。

在光标跳到别处以后，可以按 CTRL-O 回到原来的位置。无需离开当前窗格，你就可以用 C-M-v 滚动另一个窗格。
"""


def test_a_list_of_keys_is_a_list_of_entries_under_its_title():
    page = clean_text(TUTORIAL)
    units = [(u.kind, u.context, display(page, u)) for u in split_units(page)]
    rows = [(context.split(" › ")[0], text) for kind, context, text in units if kind == "row"]
    assert ("基本的光标控制（BASIC CURSOR CONTROL）", "M-v：向后移动一屏") in rows
    assert ("基本的光标控制（BASIC CURSOR CONTROL）",
            "C-l：重绘屏幕，并将光标所在行置于屏幕的中央（注意是 CONTROL-L，不是 CONTROL-1）") in rows
    assert ("命令集扩展（EXTENDING THE COMMAND SET）", "M-x：命令名扩展。M-x 之后输入一个命令名。") in rows
    assert ("获得帮助（GETTING HELP）", "C-h a：相关命令搜索。输入一个关键词，编辑器会列出所有命令名中包含此关键词的命令。") in rows
    assert "## 命令集扩展（EXTENDING THE COMMAND SET）" in page and "-----" not in page


def test_what_is_no_list_of_terms_stays_as_it_was():
    # a Chinese table keeps its header; prose with two spaces after a full stop is prose
    table = laid_out_rows(["软件包      说明", "apt         高级软件包工具", "aptitude    终端交互式前端"])
    assert table == ["| 软件包 | 说明 |", "| apt | 高级软件包工具 |", "| aptitude | 终端交互式前端 |"]
    assert laid_out_rows(["This is prose.  Two spaces after a full stop.", "And a second line of it."]) is None
    assert laid_out_rows(["  1.  打开文件", "  2.  保存文件"]) is None  # a numbered list
    assert laid_out_rows(["       -a     显示全部", "       -l     长格式"]) is None  # a man page's options


def test_a_rule_of_tildes_parts_sections_and_the_title_after_it_heads_them():
    page = clean_text("提示：还可以读取外部命令的输出。\n\n" + "~" * 78 + "\n                第五讲小结\n\n"
                      "  1. :!command 用于执行一个外部命令。\n\n  2. :r !dir 可以读取 dir 命令的输出。\n")
    assert "~~~" not in page
    units = [(u.kind, u.context, display(page, u)) for u in split_units(page)]
    assert ("item", "第五讲小结", "2. :r !dir 可以读取 dir 命令的输出。") in units


def test_keys_as_editors_write_them():
    assert key_combos("用 C-M-v 滚动，C-x C-s 保存，M-<DEL> 删词") == ["ctrl+meta+v", "ctrl+x", "ctrl+s", "meta+<del>"]
    assert key_combos("按 CTRL-O 回去，Ctrl-Alt-Del 重启") == ["ctrl+o", "ctrl+alt+del"]
    assert exact_terms("C-M-v 是干什么的") == ["C-M-v"]
    assert exact_terms("第五讲小结里的 :r !dir 是干什么用的？") == [":r !dir"] and exact_terms("输入 :q! 放弃修改") == [":q!"]
    assert exact_terms("Note:Avoid it, 12:30, http://x.org") == []
    assert names_key("你就可以用 C-M-v 滚动另一个窗格") and not names_key("C语言和 A-B 测试")
    assert key_combos("C-3PO 和 M-16") == []
    # a key that happens to be C or M stays that key, and Emacs's lower-case "c-x" is no key
    assert key_combos("Ctrl+C 复制，Ctrl+M 换行，Alt+M，Control+X，c-x") == ["ctrl+c", "ctrl+m", "alt+m", "ctrl+x"]


def test_a_gb18030_tutorial_answers_from_its_key_lists(tmp_path):
    from rag.index.ingestion import ingest
    from rag.settings import Settings

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "tutorial.txt").write_bytes(TUTORIAL.encode("gb18030"))
    settings = Settings(index_dir=tmp_path / "vs", uploads_dir=tmp_path / "up", backend="extractive")
    ingest([docs], settings=settings)
    got = ask(settings, "C-l 是做什么的？")
    assert not got.abstained and "重绘屏幕" in got.text, got.text
    got = ask(settings, "扩展命令有哪两种风格？")
    assert "C-x" in got.text and "M-x" in got.text, got.text
    got = ask(settings, "Which key scrolls the other window without leaving the current one?")
    assert not got.abstained and "C-M-v" in got.text, got.text


def test_a_number_the_question_names_may_be_the_heading_the_passage_stands_under(tmp_path):
    from tests.test_structured_answers import indexed

    lessons = []
    for k, name in enumerate(("一", "二", "三", "四", "五"), 1):
        items = "".join(f"  {j}. 这一讲的要点：练习{a}和{b}，再把{c}的结果保存起来，确认无误以后退出编辑器。\n\n"
                        for j, (a, b, c) in enumerate(zip("移动光标 删除文字 插入文字 复制一行".split(),
                                                          "撤销修改 查找单词 替换单词 合并两行".split(),
                                                          "改动 练习 操作 编辑".split()), 1))
        lessons.append(f"{'~' * 78}\n                第{name}讲小结\n\n{items}")
    lessons[4] += "  9. :r !dir 可以读取 dir 命令的输出并将其放置到当前文件的光标位置后面。\n\n"
    settings = indexed(tmp_path, "tutor.txt", "编辑器教程\n\n" + "".join(lessons))
    got = ask(settings, "第五讲小结里的 :r !dir 是干什么用的？")
    assert not got.abstained and "dir 命令的输出" in got.text, got.text
    got = ask(settings, "第八讲小结里的 :r !dir 是干什么用的？")  # no such lesson
    assert "dir 命令的输出" not in got.text, got.text
