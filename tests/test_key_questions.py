"""Questions that ask for a key or shortcut: the key table is found however it writes its keys, a key answers,
and text that names no key is never passed off as the shortcut asked for."""

from __future__ import annotations

import pytest

from tests.test_structured_answers import ask, asked, indexed, unit

KEY_TABLE = (
    "# 图像编辑器的快捷键\n\n## 编辑器的快捷键设置\n\n"
    "编辑器很早就可以配置动态快捷键，这样可以很方便地操作菜单。菜单打开的时候，把鼠标停在想要的菜单项上，"
    "然后按住想设置的快捷键组合就可以了。这个功能默认是关闭的，是为了避免不小心和已有的快捷键冲突。\n\n"
    "快捷键设置保存在用户数据文件夹的 menurc 文件中，把这个文件复制到另一台电脑的用户数据文件夹，"
    "就能在那台电脑上用同样的快捷键。\n\n"
    + "".join(f"## 第 {k} 版的改进\n\n第 {k} 版改进了快捷键编辑器：现在可以在专门的对话框里查看和修改快捷键，"
              f"菜单里每个功能旁边都显示它的快捷键；第 {k} 版还让键盘操作菜单更方便，按住 Alt 键再按菜单名里带下划线的"
              f"字母就能打开菜单，这种键盘操作和快捷键不同，它只是在菜单里快速翻阅。\n\n" for k in range(2, 9))
    + "## 文件菜单\n\n"
    "**Ctrl** + N  \n新建图像\n\n"
    "**Ctrl** + O  \n打开图像\n\n"
    "**Ctrl** + **Alt** + O  \nOpen image as layers\n\n"
    "**Ctrl** + S  \n保存图像\n\n"
    "**Ctrl** + P  \n打印\n\n"
    "**Ctrl** + W  \n关闭窗口\n\n"
    "**Ctrl** + Q  \n退出\n"
)


@pytest.fixture(scope="module")
def editor(tmp_path_factory):
    return indexed(tmp_path_factory.mktemp("keys"), "keys.md", KEY_TABLE)


def test_a_key_combination_is_one_token_however_it_is_written():
    from rag.text.tokens import bigrams, key_combos

    assert key_combos("**Ctrl** + **Alt** + O  Open image as layers") == ["ctrl+alt+o"]
    assert key_combos("<kbd>Ctrl</kbd>+<kbd>Shift</kbd>+<kbd>S</kbd>") == ["ctrl+shift+s"]
    assert key_combos("按 Ctrl+B 打开") == ["ctrl+b"]
    assert key_combos("Shift + 点击") == [] and key_combos("C++ 程序") == []
    assert "ctrl+alt+o" in bigrams("**Ctrl** + **Alt** + O") and bigrams("Ctrl+B").count("ctrl+b") == 1


def test_a_key_written_in_bold_parts_is_found_and_answers(editor):
    a = ask(editor, "Ctrl+Alt+O 是什么功能？")
    assert not a.abstained and a.text.startswith("Ctrl + Alt + O Open image as layers"), a.text


def test_a_shortcut_is_answered_with_the_row_that_names_the_thing(editor):
    a = ask(editor, "退出程序的快捷键是什么？")
    assert not a.abstained and "Ctrl + Q" in a.text, a.text


def test_text_that_names_no_key_is_not_passed_off_as_the_shortcut(editor):
    a = ask(editor, "新建图层的快捷键是什么？")
    assert a.abstained and a.text.startswith("文档没有给出这个操作的快捷键"), a.text
    # how to move the shortcuts asks for steps, not a key
    how = ask(editor, "怎么把设好的快捷键搬到另一台电脑上？")
    assert not how.abstained and "menurc" in how.text, how.text


def test_a_key_question_is_told_from_a_question_about_keys():
    from rag.question.answer_type import asks_for_key

    assert asks_for_key("GIMP 里退出程序的快捷键是什么？") and asks_for_key("拉线拉到一半想作罢，按哪个键？")
    assert asks_for_key("What is the keyboard shortcut for Quit?")
    assert not asks_for_key("怎么把一台电脑上调好的快捷键搬到另一台电脑上？")
    assert not asks_for_key("为什么默认关闭动态快捷键？")


def test_of_the_top_units_one_with_a_key_for_the_thing_asked_goes_first():
    from rag.answering.preferences import key_first

    said = unit("这个功能默认是关闭的，是为了避免不小心和已有的快捷键冲突。")
    other = unit("Ctrl + N 新建图像", "option")
    row = unit("Ctrl + Q 退出", "option")
    got = key_first(asked("退出程序的快捷键是什么？"), [said, other, row])
    assert got[0].answer_text == row.answer_text and got[1:] == [said, other]
    assert key_first(asked("退出程序的快捷键是什么？"), [said, other]) == [said, other]  # none names the thing
    assert key_first(asked("退出程序的快捷键是什么？"), [row, said]) == [row, said]  # the best names a key
    # a key table's row for the action asked goes first even when the selector ranked it low
    assert key_first(asked("退出程序的快捷键是什么？"), [said, unit(row.text, supported=False)])[0].answer_text == row.text
    # but not the row that does the action to another thing, and not a low one that only shares a word
    assert key_first(asked("新建图层的快捷键是什么？"), [said, unit(other.text, supported=False)])[0] == said
    assert key_first(asked("关闭程序的快捷键是什么？"), [said, unit(row.text + "程序", supported=False)])[0] == said
