"""A passage that sends the reader to a section ("（参见 默认值 一节）") brings that section along, and the answer
is what the section says rather than where to read it."""

from __future__ import annotations

from tests.test_structured_answers import ask, indexed

PAGE = (
    "# 描述\n\n**finder** 是系统的手册查找程序。如果指定了章节，finder 将只在手册的指定章节搜索。"
    "默认将按预定的顺序查找所有可用的章节（参见 **默认值** 一节），并只显示找到的第一个页。\n\n"
    + "".join(f"# 选项 {k}\n\n**-{chr(96 + k)}**\n\n这个选项让 finder 在第 {k} 种情况下改变输出的格式，"
              f"例如换一种分页程序、换一种编码，或者只列出文件名而不显示内容；它和其他选项可以一起使用。\n\n"
              for k in range(1, 9))
    + "# 默认值\n\n要搜索的章节顺序可以用环境变量覆盖。其默认行为如下所示：\n\n> 1 n l 8 3 0 2 5 4 9 6 7\n\n"
    "经过格式化的手册页将使用一个分页器进行显示，若无指定则将使用默认方式。\n"
)


def test_a_pointer_names_a_section_by_its_title_or_number():
    from rag.text.pointers import is_section, pointed_sections

    assert pointed_sections("默认将按预定的顺序查找所有可用的章节（参见 **默认值** 一节），并只显示") == [("", "默认值")]
    assert pointed_sections("参见第 6.2.4 节 “配置选项” 获取 APT 相关内容") == [("6.2.4", "配置选项")]
    assert pointed_sections("从模板创建工程在《工程 - 模板，工程模板》一节中介绍") == [("", "工程模板工程模板")]
    assert pointed_sections("详见第 9.2.1.4 节。") == [("9.2.1.4", "")]
    assert pointed_sections("见下文。") == [] and pointed_sections("这一节介绍选项。") == []
    assert is_section("6.2.4. 配置选项", "6.2.4", "") and not is_section("6.2.40. 别的", "6.2.4", "")
    assert is_section("5. 工程模板", "", "工程模板工程模板") and is_section("默认值", "", "默认值")
    assert not is_section("选项", "", "默认值")


def test_the_section_the_best_unit_points_to_is_read_and_answers(tmp_path):
    from rag.answering.evidence import analyse_question
    from rag.answering.selection import with_pointed
    from rag.retrieval.hybrid import get_retriever

    settings = indexed(tmp_path, "finder.1.md", PAGE)
    retriever = get_retriever(settings)
    question = "finder 默认按什么顺序查找所有可用的章节？"
    passages = retriever.search(question, 1)
    assert not any("1 n l 8 3 0 2" in p.text for p in passages)  # one passage: the one that points
    read = with_pointed(analyse_question(question, None, retriever), passages, retriever)
    assert any("1 n l 8 3 0 2" in p.text for p in read[len(passages):]), [p.text[:40] for p in read]
    a = ask(settings, question)
    assert not a.abstained and "其默认行为如下所示：1 n l 8 3 0 2" in a.text, a.text
