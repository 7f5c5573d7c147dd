"""Answers from a manual's structure, with the real model: a table row, a procedure's steps, a command, a reason,
a field, an option entry; follow-ups with a pronoun; relative years; a figure of another subject is no answer."""

from __future__ import annotations

import datetime

import pytest

from rag import answer
from rag.index.ingestion import ingest
from tests.test_units import MANUAL

OTHER_SUBJECT = "2025年，某区形成了77份测试报告。该区还举办了3场测试培训。\n"


@pytest.fixture(scope="module")
def manual(tmp_path_factory):
    from rag.settings import Settings

    base = tmp_path_factory.mktemp("manual")
    (base / "foo-manual.md").write_text(MANUAL, encoding="utf-8")
    settings = Settings(index_dir=base / "vs", uploads_dir=base / "up", backend="extractive")
    ingest([base], settings=settings)
    return settings


def ask(settings, question, history=None):
    return answer(question, history, settings=settings, backend="extractive")


def test_a_table_row_answers_with_its_header(manual):
    a = ask(manual, "安装 foo 需要的最低内存是多少？")
    assert not a.abstained and "512 MB" in a.text and "内存" in a.citations[0].quote


def test_a_procedure_is_answered_with_its_steps_in_order(manual):
    a = ask(manual, "foo 怎么安装？有哪些步骤？")
    assert not a.abstained
    steps = [a.text.find(s) for s in ("下载安装镜像", "写入 U 盘", "从 U 盘启动")]
    assert all(i >= 0 for i in steps) and steps == sorted(steps), a.text


def test_a_command_is_answered_from_the_code_block(manual):
    a = ask(manual, "在终端里用什么命令安装 foo？")
    assert not a.abstained and "sudo apt install foo" in a.text


def test_a_why_question_gets_the_reason(manual):
    a = ask(manual, "为什么建议升级？")
    assert not a.abstained and "旧版本不再维护" in a.text


def test_a_field_and_an_option_entry_are_answers(manual):
    assert "张三" in ask(manual, "foo 的维护者是谁？").text
    a = ask(manual, "-v 选项有什么作用？")
    assert not a.abstained and "输出更多信息" in a.text


def test_an_option_the_manual_never_names_is_not_answered(manual):
    a = ask(manual, "-j 选项有什么作用？")
    assert a.abstained and "-j" in a.text


def test_a_pronoun_in_a_follow_up_takes_the_earlier_subject(manual):
    history = [{"role": "user", "content": "foo 的维护者是谁？"}, {"role": "assistant", "content": "维护者: 张三[1]。"}]
    a = ask(manual, "它的版本号是多少？", history)
    assert a.standalone_question == "foo的版本号是多少？" and "2.1" in a.text


def test_a_figure_of_another_subject_is_not_the_answer(tmp_path, corpus):
    from rag.settings import Settings

    (corpus / "other-district.txt").write_text(OTHER_SUBJECT, encoding="utf-8")
    settings = Settings(index_dir=tmp_path / "vs", uploads_dir=tmp_path / "up", backend="extractive")
    ingest([corpus], settings=settings)
    a = ask(settings, "2025年自治区政协形成了多少份协商报告？")
    assert "77" not in a.text and a.abstained


def test_last_year_is_resolved_and_said(sample_index):
    a = ask(sample_index, "去年形成了多少份协商报告？")
    last = datetime.date.today().year - 1
    assert f"{last}年" in a.standalone_question
    if last not in (2023, 2024):  # the documents cover 2023 and 2024
        assert a.abstained and f"{last}年" in a.text
