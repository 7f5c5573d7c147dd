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


def test_an_exit_status_is_answered_by_its_definition_entry(tmp_path):
    from rag.settings import Settings
    from tests.test_units import MAN_PAGE

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "tool.1.md").write_text(MAN_PAGE, encoding="utf-8")
    settings = Settings(index_dir=tmp_path / "vs", uploads_dir=tmp_path / "up", backend="extractive")
    ingest([tmp_path / "docs"], settings=settings)
    got = ask(settings, "退出状态 16 是什么意思？")
    assert not got.abstained and "至少有一个页面不存在或不匹配" in got.text
    assert got.citations and got.citations[0].source.endswith("tool.1.md")


def test_runners_up_close_to_the_best_unit_are_shown_after_it_each_once():
    from rag.answering.extractive import Evidence, runners_up

    def unit(text, passage=0, supported=True):
        return Evidence(passage, 0, len(text), text, 0.3, supported=supported)

    best = unit("有以下的辅助目录：tools：DOS 工具。")
    ranked = [best, unit("doc：基本的文档。", 1), unit("doc：基本的文档。", 2), unit("indices：索引文件。", 0, False),
              unit("DOS 工具。")]
    also = runners_up(ranked, best.answer_text)
    assert [ev.answer_text for ev in also] == ["doc：基本的文档。"]  # once; an unrated unit and a repeat are left out
    assert also[0].passage == 1


def test_a_command_is_shown_with_the_sentence_that_leads_into_it(manual):
    got = ask(manual, "在终端里要执行什么命令？")
    assert "sudo apt install foo" in got.text
    assert "在终端中执行" in got.text  # where the command goes, said before it


def test_a_mis_cut_phrase_is_not_taken_for_a_name_the_passages_lack(manual):
    from rag.question.analysis import named_entities

    assert named_entities("稳定版发出来以后还会往里加新功能吗？") == ()
    assert named_entities("郭玉广是谁？") == ("郭玉广",)


def test_a_which_ones_question_gets_every_entry_of_the_list(tmp_path):
    from rag.settings import Settings

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "mirror.md").write_text(
        "# 镜像站\n\n镜像站的软件包放在 pool 目录里，发布版本的索引放在 dists 目录里。\n\n## 辅助目录\n\n"
        "- tools：用于创建引导磁盘的 DOS 工具。\n- doc：基本的文档和常见问题。\n- indices：站点的各种索引文件。\n"
        "- project：给开发者的资料。\n- misc：其他杂项文件。\n\n# 更新\n\n镜像站每天更新四次。\n", encoding="utf-8")
    settings = Settings(index_dir=tmp_path / "vs", uploads_dir=tmp_path / "up", backend="extractive")
    ingest([tmp_path / "docs"], settings=settings)
    got = ask(settings, "镜像站上还有哪些辅助目录？")
    assert all(name in got.text for name in ("tools", "doc", "indices", "project", "misc")), got.text
