"""No false citation, no confident answer from nothing: markers, "who" answers and empty questions.

Real parts: small documents on disk, the real embedding model, a real FAISS index.
"""

from __future__ import annotations

import pytest

from rag import answer
from rag.answering.citations import markers
from rag.index.ingestion import ingest

DOCS = {
    "oasis.txt": "绿洲镇防沙治沙工作站成立于2021年，负责全镇的防沙治沙工作，共有职工12人。",
    "grass.txt": "青草乡防沙治沙工作站站长李水山介绍，今年全乡完成造林3000亩。",
    "river.txt": "清河县2024年新建污水处理厂3座，日处理能力达到5万吨。",
    "school.txt": "清河县2024年新建乡村学校4所，新增学位2600个。",
    "report.txt": "据统计，清河县2024年共接待游客120万人次[3]，旅游收入达到9亿元【来源5】。",
    "roads.txt": "清河县2024年修建农村公路85公里，惠及群众4万人。",
}


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    from rag.settings import Settings

    base = tmp_path_factory.mktemp("town")
    for name, text in DOCS.items():
        (base / name).write_text(text, encoding="utf-8")
    settings = Settings(index_dir=base / "vs", uploads_dir=base / "up", backend="extractive", top_k=6)
    ingest([base], settings=settings)
    return settings


def test_markers_written_in_a_document_never_become_citations(town):
    a = answer("清河县2024年接待了多少游客？", settings=town, backend="extractive")
    assert "120" in a.text
    cited = {c.source.split("/")[-1] for c in a.citations}
    assert cited == {"report.txt"}, (a.text, cited)
    assert markers(a.text) == [c.index for c in a.citations]
    assert "来源5" not in a.text


def test_document_markers_are_not_sent_to_an_llm_as_citations(town):
    from rag.answering.pipeline import _messages
    from rag.retrieval.hybrid import get_retriever

    passages = get_retriever(town).search("清河县旅游收入是多少？", 6)
    user = _messages("清河县旅游收入是多少？", passages, town)[1]["content"]
    assert "9亿元" in user and "【来源5】" not in user and "人次[3]" not in user


def test_who_is_answered_only_with_a_person_from_the_passage_about_the_subject(town):
    a = answer("绿洲镇防沙治沙工作站由谁负责？", settings=town, backend="extractive")
    assert "李水山" not in a.text
    assert a.abstained


def test_who_still_finds_the_person_named_with_the_subject(town):
    a = answer("青草乡防沙治沙工作站的站长是谁？", settings=town, backend="extractive")
    assert "李水山" in a.text and not a.abstained
    assert a.citations[0].source.endswith("grass.txt")


@pytest.mark.parametrize("question", ["😀😀😀", "？？？", "asdfghjkl", "SELECT * FROM users; DROP TABLE users;--",
                                      "rm -rf / --no-preserve-root", "!!!"])
def test_a_question_with_nothing_to_look_up_gets_the_abstention(town, question):
    a = answer(question, settings=town, backend="extractive")
    assert a.abstained and not a.citations, a.text


def test_an_english_question_using_a_documents_own_word_is_answered(tmp_path):
    from rag.settings import Settings

    doc = tmp_path / "ops.txt"
    doc.write_text("服务器的Docker镜像基于Alpine Linux构建，镜像大小约为350MB。", encoding="utf-8")
    settings = Settings(index_dir=tmp_path / "vs", backend="extractive")
    ingest([doc], settings=settings)
    a = answer("What size is the Alpine Linux Docker image?", settings=settings, backend="extractive")
    assert not a.abstained and "350" in a.text and a.citations


def test_a_subset_figure_is_told_as_a_near_miss_not_passed_off(sample_index):
    a = answer("2024年一共收到了多少件提案？", settings=sample_index, backend="extractive")
    assert a.abstained and "86" in a.text and "重点督办" in a.text and "没有" in a.text
    assert a.citations and a.citations[0].source.endswith("cppcc-2024-consultation-review.txt")


def test_a_count_asked_in_other_words_is_matched_to_the_documents_figure(sample_index):
    a = answer("2024年报上去的民情信息一共多少篇？", settings=sample_index, backend="extractive")
    assert not a.abstained and "1140" in a.text and a.text.endswith("。")
    assert "社情民意信息" in a.citations[0].quote


def test_count_answer_is_one_sentence_restating_the_question(sample_index):
    a = answer("2024年自治区政协形成了多少份协商报告？", settings=sample_index, backend="extractive")
    assert a.text == "2024年自治区政协形成了18份协商报告[1]。" or a.text.startswith("2024年自治区政协形成了18")


def test_asking_for_a_persons_name_needs_a_person_in_the_subjects_passage(town):
    a = answer("绿洲镇防沙治沙工作站的站长叫什么名字？", settings=town, backend="extractive")
    assert a.abstained and "李水山" not in a.text
    b = answer("青草乡防沙治沙工作站的站长叫什么名字？", settings=town, backend="extractive")
    assert "李水山" in b.text and not b.abstained


def test_a_count_in_other_words_gets_the_right_figure_or_an_abstention_never_another(sample_index):
    # "文章" for the document's "推送稿件": the selector may not tie them, but it never answers another count
    a = answer("2023年政协公众号一共发了多少篇文章？", settings=sample_index, backend="extractive")
    if not a.abstained:
        assert "1825" in a.text and "推送稿件" in a.citations[0].quote


def test_a_count_asked_with_another_measure_word_is_answered(sample_index):
    a = answer("2023年《内蒙古文史资料》编辑出版了几本？", settings=sample_index, backend="extractive")
    assert not a.abstained and "4" in a.text and "本本" not in a.text
    assert "文史资料" in a.citations[0].quote


def test_which_two_systems_is_answered_from_the_sentence_naming_them(sample_index):
    a = answer("2023年自治区政协推行了哪两项委员制度？", settings=sample_index, backend="extractive")
    assert not a.abstained and "主动请辞" in a.text


def test_the_same_figure_of_another_year_is_told_with_its_citation(sample_index):
    a = answer("2023年重点督办提案一共有多少件？", settings=sample_index, backend="extractive")
    assert a.abstained and "near-miss" in a.flags
    assert a.text.startswith("文档没有给出2023年的") and "只提到2024年" in a.text and "86" in a.text
    assert a.citations[0].source.endswith("cppcc-2024-consultation-review.txt") and "86件" in a.citations[0].quote


def test_a_year_the_documents_never_reach_is_told_with_the_year_they_do_give(sample_index):
    a = answer("2025年自治区政协形成了多少份协商报告？", settings=sample_index, backend="extractive")
    assert a.abstained and "文档没有给出2025年" in a.text and "2024年" in a.text and "18" in a.text
    assert "18" in a.citations[0].quote


def test_a_figure_near_in_meaning_is_not_taken_for_a_quoted_name_it_lacks(sample_index):
    # "“温暖工程”" is in the documents, with no temperature figure: "六个工程" is not its answer
    a = answer("“温暖工程”让室内温度提高了多少度？", settings=sample_index, backend="extractive")
    assert a.abstained and "六个工程" not in a.text


def test_a_count_in_plain_words_is_matched_when_the_documents_never_use_them(sample_index):
    a = answer("2024年初派了几支队伍去北京对接？", settings=sample_index, backend="extractive")
    assert not a.abstained and "6个调研对接组" in a.text
    # the best match by meaning, first on one ranking only: the documents never say 文章
    b = answer("自治区政协在微信上总共发过多少篇文章？", settings=sample_index, backend="extractive")
    assert not b.abstained and "1825" in b.text and "推送稿件" in b.citations[0].quote


def test_a_date_of_another_event_about_the_same_agreement_is_not_its_signing_date(sample_index):
    # the documents date a meeting about the agreement, never its signing
    a = answer("《“京蒙协作 政协助力”框架协议》是什么时候签署的？", settings=sample_index, backend="extractive")
    assert a.abstained and "7月15日" not in a.text
    b = answer("自治区政协十三届一次会议是什么时候闭幕的？", settings=sample_index, backend="extractive")
    assert not b.abstained and "1月15日" in b.text


def test_an_english_how_many_people_question_finds_the_attendance_figure(sample_index):
    a = answer("How many people took part in the second special training course in 2023?", settings=sample_index,
               backend="extractive")
    assert not a.abstained and "223" in a.text


def test_an_ordinal_with_another_counter_finds_the_place_of_that_session(sample_index):
    a = answer("第二回委员专题学习在哪儿举行的？", settings=sample_index, backend="extractive")
    assert not a.abstained and "全国政协干部培训中心" in a.text


def test_a_count_about_a_quoted_topic_comes_from_the_sentence_about_that_topic(sample_index):
    # another sentence counts "10个方面" of something else; only the quoted meeting's outcome answers
    a = answer("“有形有感有效铸牢中华民族共同体意识”专题协商一共形成了几个方面的成果？", settings=sample_index,
               backend="extractive")
    assert not a.abstained and "4个方面" in a.text and "10个方面" not in a.text


@pytest.mark.parametrize("question", ["绿洲镇防沙治沙工作站的站长的名字是什么？", "绿洲镇防沙治沙工作站的负责人是哪一位？"])
def test_a_persons_name_asked_in_other_words_needs_a_person(town, question):
    a = answer(question, settings=town, backend="extractive")
    assert a.abstained and "成立于" not in a.text
    b = answer(question.replace("绿洲镇", "青草乡"), settings=town, backend="extractive")
    assert "李水山" in b.text and not b.abstained


def test_a_year_after_the_documents_is_told_with_the_figure_of_the_year_they_give(tmp_path):
    from rag.index.ingestion import ingest
    from rag.settings import Settings

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "report-2025.txt").write_text(
        "2025年工作回顾\n\n2025年建设社区书屋12家，全年开展读书活动40场。\n\n各街道的书屋由街道办事处管理。\n", encoding="utf-8")
    settings = Settings(index_dir=tmp_path / "vs", uploads_dir=tmp_path / "up", backend="extractive")
    ingest([tmp_path / "docs"], settings=settings)
    a = answer("2026年建设了多少家社区书屋？", settings=settings, backend="extractive")
    assert a.abstained and "文档没有给出2026年" in a.text and "只提到2025年" in a.text and "12" in a.text
