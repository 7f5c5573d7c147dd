""""谁写的" is answered by the unit that names the doer by its noun ("作者：……") as well as by the one that says the
deed ("由……编写"): the selector's best of them, not whichever happens to contain the characters "写的"."""

from __future__ import annotations

from rag.answering.who import _deed
from tests.test_structured_answers import ask, indexed


def test_a_deed_is_told_by_its_verb_or_by_its_doer():
    assert _deed("写的").search("作者：Steve Oualline") and _deed("写的").search("由 Michael Pierce 编写")
    assert _deed("翻译").search("译者：梁昌泰") and _deed("翻译").search("由 Leo-Hong 翻译整理")
    assert not _deed("翻译").search("作者：Steve Oualline")


def test_the_author_of_the_book_asked_is_named(tmp_path):
    settings = indexed(tmp_path, "tutor.txt",
        "编辑器教程\n\n本教程是由来自科罗拉多矿业学院的 Michael Pierce 和 Robert Ware 所编写的，"
        "其中很多创意来自 Charles Smith。\n\n本教程只是为了简明地介绍一下这个编辑器，但已足以让您很容易使用它了。"
        "要学习更多，请阅读用户手册。\n\n下面这本书值得推荐用于更进一步的阅读和学习：\n\n"
        "Editing Text Well - 作者：Steve Oualline\n出版社：New Riders\n\n这是第一本完全讲解这个编辑器的书籍。\n")
    got = ask(settings, "教程最后推荐的那本《Editing Text Well》是谁写的？")
    assert not got.abstained and "Steve Oualline" in got.text and "Pierce" not in got.text, got.text
