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


def indexed(base, name: str, text: str):
    """Settings over a fresh index of one document ``name`` holding ``text``, in ``base``."""
    return indexed_all(base, {name: text})


def indexed_all(base, documents: dict[str, str]):
    """Settings over a fresh index of ``documents`` (name → text), in ``base``."""
    from rag.settings import Settings

    (base / "docs").mkdir()
    for name, text in documents.items():
        (base / "docs" / name).write_text(text, encoding="utf-8")
    settings = Settings(index_dir=base / "vs", uploads_dir=base / "up", backend="extractive")
    ingest([base / "docs"], settings=settings)
    return settings


def ask(settings, question, history=None):
    return answer(question, history, settings=settings, backend="extractive")


def unit(text, kind="sentence", passage=0, supported=True):
    """An answer unit as the selector hands it to the preferences."""
    from rag.answering.evidence_units import Evidence

    return Evidence(passage, 0, len(text), text, 0.3, kind=kind, supported=supported)


def asked(text, kind="other"):
    """What the preferences know of a Chinese question."""
    from rag.question.analysis import QuestionInfo

    return QuestionInfo(text=text, kind=kind, years=(), terms=(), is_chinese=True)


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
    from tests.test_units import MAN_PAGE

    settings = indexed(tmp_path, "tool.1.md", MAN_PAGE)
    got = ask(settings, "退出状态 16 是什么意思？")
    assert not got.abstained and "至少有一个页面不存在或不匹配" in got.text
    assert got.citations and got.citations[0].source.endswith("tool.1.md")


def test_runners_up_close_to_the_best_unit_are_shown_after_it_each_once():
    from rag.answering.evidence_units import Evidence
    from rag.answering.extractive import runners_up

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
    settings = indexed(tmp_path, "mirror.md",
        "# 镜像站\n\n镜像站的软件包放在 pool 目录里，发布版本的索引放在 dists 目录里。\n\n## 辅助目录\n\n"
        "- tools：用于创建引导磁盘的 DOS 工具。\n- doc：基本的文档和常见问题。\n- indices：站点的各种索引文件。\n"
        "- project：给开发者的资料。\n- misc：其他杂项文件。\n\n# 更新\n\n镜像站每天更新四次。\n")
    got = ask(settings, "镜像站上还有哪些辅助目录？")
    assert all(name in got.text for name in ("tools", "doc", "indices", "project", "misc")), got.text
    got = ask(settings, "除了 pool 和 dists，镜像站上还有哪些目录？")  # the two named are set aside
    assert all(name in got.text for name in ("tools", "doc", "indices", "project", "misc")), got.text


TOOL_PAGE = """# TOOL(8)

## 退出状态

**1**  
用法、语法或配置文件出错。

**2**  
操作出错。

**3**  
子进程返回了非零的退出状态。

## 数据库

tool 可以使用支持异步更新的数据库，写入更快。但代价是可能在异常中止时损坏数据。万一这种事情发生，可能要重新以 -c 选项运行 tool 来重建数据库。

## 选项

**-p**, **--no-purge**  
不检查已删除的页面。

**-t**, **--test**  
只检查页面有没有问题，不更改现有的数据库。

**-r**, **--regex**  
显示名字与正则表达式匹配的所有页面。由于用正则表达式搜索时通常没办法选出最佳的页面，此选项隐含了 -a 选项。

## 环境变量

**TOOLPATH**  
如果设置了 $TOOLPATH，它的值就是搜索路径。

## 版本

公布日期: 1997-12-29

施行日期: 1998-10-01
"""


@pytest.fixture(scope="module")
def tool_page(tmp_path_factory):
    return indexed(tmp_path_factory.mktemp("tool"), "tool.8.md", TOOL_PAGE)


def test_items_asked_side_by_side_are_answered_each_with_its_label(tool_page):
    got = ask(tool_page, "tool 的退出状态 1、2、3 分别表示什么？")
    assert not got.abstained and "several-facts" in got.flags
    for label, meaning in (("1", "用法"), ("2", "操作出错"), ("3", "子进程")):
        assert f"{label}：" in got.text and meaning in got.text, got.text
    assert got.text.index("用法") < got.text.index("操作出错") < got.text.index("子进程")


def test_two_dates_asked_in_one_question_are_both_given(tool_page):
    got = ask(tool_page, "tool 是哪天公布的，又是哪天开始施行的？")
    assert "1997-12-29" in got.text and "1998-10-01" in got.text, got.text


def test_a_reason_is_given_with_the_sentence_it_leans_on(tool_page):
    got = ask(tool_page, "为什么用了支持异步更新的数据库，有时候得重新运行 tool -c？")
    assert not got.abstained and "损坏数据" in got.text, got.text


def test_an_option_answer_keeps_its_dashes(tool_page):
    got = ask(tool_page, "只想检查页面有没有问题、不动现有数据库，用哪个选项？")
    assert "-t" in got.text and "--test" in got.text, got.text
    assert " t, " not in got.text and not got.text.startswith("t,")


def test_a_variable_the_documents_never_name_is_not_answered(tool_page):
    got = ask(tool_page, "What does the TOOLCOLOR environment variable change?")
    assert got.abstained and "TOOLCOLOR" in got.text
    assert not ask(tool_page, "What does the TOOLPATH environment variable set?").abstained


def test_a_follow_up_action_takes_the_place_of_the_earlier_one():
    from rag.question.followup import rewrite_follow_up

    history = [{"role": "user", "content": "测试时用 dpkg 怎么卸载 gentoo 这个包？"},
               {"role": "assistant", "content": "sudo dpkg -r gentoo。"}]
    assert rewrite_follow_up("那彻底删除（purge）呢？", history) == "测试时用 dpkg 怎么彻底删除（purge） gentoo 这个包？"
    history[0]["content"] = "工程管理器里打开原理图编辑器的快捷键是什么？"
    assert rewrite_follow_up("那打开 PCB 编辑器呢？", history) == "工程管理器里打开 PCB 编辑器的快捷键是什么？"


@pytest.mark.parametrize("earlier, follow_up, standalone", [
    # an action or a wish with no subject of its own is about the thing the earlier question named
    ("grep 默认把模式当成什么来匹配？", "那要求整行都匹配呢？", "grep 要求整行都匹配？"),
    ("tool 的数据库坏了怎么办？", "那只想检查一下页面有没有问题、不动现有数据库，用哪个选项？",
     "tool 只想检查一下页面有没有问题、不动现有数据库，用哪个选项？"),
    # "这时候" is the earlier question's action, done
    ("编辑器的自动保存怎么关掉？", "那这时候“保存时创建备份”还管用吗？", "编辑器的自动保存关掉以后，“保存时创建备份”还管用吗？"),
    # a question that names its own subject stays as it is
    ("tool 的数据库坏了怎么办？", "那 other 的数据库坏了要运行哪个命令来重建？", "那 other 的数据库坏了要运行哪个命令来重建？"),
])
def test_a_follow_up_is_one_standalone_question_about_the_earlier_subject(earlier, follow_up, standalone):
    from rag.question.followup import rewrite_follow_up

    history = [{"role": "user", "content": earlier}, {"role": "assistant", "content": "……"}]
    assert rewrite_follow_up(follow_up, history) == standalone


def test_a_runner_up_from_an_option_s_description_shows_the_option(tool_page):
    got = ask(tool_page, "tool 的哪个选项只检查页面、不更改现有的数据库？")
    assert "-t" in got.text and "不更改现有的数据库" in got.text, got.text


CATALOG = """# 示例服务管理器的消息目录

-- 5a1b2c3d4e5f40718293a4b5c6d7e8f9
Subject: 单元 @UNIT@ 启动失败
Defined-By: demo-init
Support: https://example.org/support
Documentation: man:demo-init(8)

单元 @UNIT@ 启动失败，结果为 @RESULT@。

这通常表示单元的配置有误，或者它依赖的资源不可用。可以运行 democtl status @UNIT@ 查看详细信息。

-- 0f1e2d3c4b5a69788796a5b4c3d2e1f0
Subject: 磁盘空间不足，日志已停止写入
Defined-By: demo-journal
Documentation: man:demo-journal.conf(5)

日志目录所在的文件系统剩余空间低于 @LIMIT@，日志服务已暂停写入持久存储。

释放磁盘空间后，日志会自动恢复写入。也可以在 demo-journal.conf 中调小 SystemMaxUse= 的值。

-- 9a8b7c6d5e4f30211203f4e5d6c7b8a9
Subject: 系统时钟已更改
Defined-By: demo-timed

系统时钟被调整到了 @REALTIME@，与之前相差 @DELTA@ 微秒。

时钟跳变可能导致依赖时间的定时器提前或推迟触发。
"""


def test_a_catalog_entry_s_subject_is_the_context_of_its_text(tmp_path):
    settings = indexed(tmp_path, "catalog.txt", CATALOG)
    got = ask(settings, "单元启动失败通常说明什么？")
    assert not got.abstained and "配置有误" in got.text, got.text
    got = ask(settings, "日志因为磁盘空间不足停止写入后，怎么让它恢复？")
    assert "释放磁盘空间" in got.text, got.text
    got = ask(settings, "“系统时钟已更改”这条消息是由哪个组件定义的？")
    assert "demo-timed" in got.text and "demo-journal" not in got.text, got.text


@pytest.mark.parametrize("question, entry_id", [
    ("“系统时钟已更改”这条消息的 ID 是什么？", "9a8b7c6d5e4f30211203f4e5d6c7b8a9"),
    ("磁盘空间不足的那条消息，它的 ID 是？", "0f1e2d3c4b5a69788796a5b4c3d2e1f0"),
    ("Which message ID says the system clock was changed?", "9a8b7c6d5e4f30211203f4e5d6c7b8a9"),
])
def test_a_catalog_entry_s_id_line_answers_which_id_it_has(catalog, question, entry_id):
    got = ask(catalog, question)
    assert not got.abstained and got.text.startswith(entry_id), got.text


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    return indexed(tmp_path_factory.mktemp("catalog"), "catalog.txt", CATALOG)


def test_a_question_written_in_the_text_is_never_a_runner_up():
    from rag.answering.evidence_units import Evidence
    from rag.answering.extractive import runners_up

    def unit(text, passage=0):
        return Evidence(passage, 0, len(text), text, 0.3, supported=True)

    best = unit("软件包放在 pool 目录里。")
    ranked = [best, unit("6.7. 镜像站上的目录都是干什么用的？", 1), unit("索引放在 dists 目录里。", 2)]
    assert [ev.answer_text for ev in runners_up(ranked, best.answer_text)] == ["索引放在 dists 目录里。"]


def test_dates_written_with_spaces_or_in_english_are_dates():
    from rag.text.tokens import DATE

    for text, date in (("项目于 1993 年 8 月 16 日宣布成立。", "1993 年 8 月 16 日"), ("It was founded in August 1993.",
                       "August 1993"), ("2024年3月5日召开", "2024年3月5日")):
        assert DATE.search(text).group() == date
    assert DATE.search("见第 3 章，共 12 个文件。") is None


@pytest.mark.parametrize("name, text, question, shown", [
    # a date written with spaces, as translations write them
    ("history.md", "# 项目历史\n\n本项目由一名大学生发起。项目于 1993 年 8 月 16 日正式宣布成立，最初只有十几名志愿者。\n\n"
     "# 名称\n\n项目的名称取自发起人和他妻子的名字。\n", "本项目是什么时候宣布成立的？", "1993 年 8 月 16 日"),
    # a quoted phrase matched without its punctuation
    ("rules.md", "# 店规\n\n有的商店贴出“先到，先得”的告示，这种告示对消费者没有约束力。\n\n# 退货\n\n商品有质量问题的，可以退货。\n",
     "商店贴出的“先到先得”告示有约束力吗？", "没有约束力"),
    # a person's name in Latin letters answers "谁"
    ("founders.md", "# 项目历史\n\n这个发行版最早由 Ian Murdock 在 1993 年发起。发行版的名字取自他和妻子的名字。\n\n"
     "# 代号\n\n用电影角色作为代号的决定是由 Bruce Perens 作出的，他当时是项目的领导者。\n", "用电影角色作为代号是谁决定的？",
     "Bruce Perens"),
])
def test_a_document_written_another_way_still_answers(tmp_path, name, text, question, shown):
    got = ask(indexed(tmp_path, name, text), question)
    assert not got.abstained and shown in got.text, got.text


def test_an_item_s_label_is_not_said_twice(tmp_path):
    settings = indexed(tmp_path, "layout.md",
        "# 页面选项\n\n每个项目都可以设置它出现在哪些页面上。\n\n- 仅限首页：这些项目只在首页上可见。\n"
        "- 不在首页：这些项目在首页以外的所有页面上可见。\n\n# 导出\n\n布局可以导出为文件。\n")
    got = ask(settings, "“仅限首页”和“不在首页”各是什么效果？")
    assert "只在首页上可见" in got.text and "首页以外的所有页面" in got.text, got.text
    assert "仅限首页：仅限首页" not in got.text and "不在首页：不在首页" not in got.text, got.text


def test_when_something_started_is_answered_by_the_best_dated_unit(tmp_path):
    settings = indexed(tmp_path, "plan.md",
        "# 迁移计划\n\n新的镜像同步方案自 2021 年 3 月 1 日起在所有镜像站启用，旧方案同时停止维护。\n\n"
        "# 签署\n\n合作框架于 2020 年 5 月召开的座谈会上讨论。\n")
    got = ask(settings, "新的镜像同步方案是什么时候开始的？")
    assert not got.abstained and "2021 年 3 月 1 日" in got.text, got.text
    got = ask(settings, "合作框架是哪天签署的？")  # the date of a meeting about it is not when it was signed
    assert got.abstained, got.text


def test_an_option_asked_why_is_given_with_the_reason_in_its_description():
    from types import SimpleNamespace

    from rag.answering.compose import _entry_reason

    texts = ["-r, --regex：显示名字与正则表达式匹配的所有页面。", "显示名字与正则表达式匹配的所有页面。",
             "由于用正则表达式搜索时通常没办法选出最佳的页面，此选项隐含了 -a 选项。", "-w, --wildcard：按通配符匹配。"]
    table = SimpleNamespace(texts=texts, contexts=["选项", "选项 › -r, --regex", "选项 › -r, --regex", "选项"])
    spans = [(0, 0), (0, 1), (20, 2), (60, 3)]
    kinds = ["option", "sentence", "sentence", "option"]
    got = _entry_reason(0, spans, kinds, table, texts[0])
    assert got == "-r, --regex：显示名字与正则表达式匹配的所有页面。由于用正则表达式搜索时通常没办法选出最佳的页面，此选项隐含了 -a 选项。"
    assert _entry_reason(3, spans, kinds, table, texts[3]) is None  # no reason in its description: none is made up


def test_a_key_combination_in_the_question_finds_the_row_that_says_it(tmp_path):
    from rag.retrieval.hybrid import get_retriever

    prose = "".join(f"## 3.{k} 管理器的第 {k} 个功能\n\n工程管理器的左侧是文件树，右侧是启动各个工具的按钮；"
                    f"从管理器打开工具时，工具只编辑当前工程里的文件，这是管理器第 {k} 项说明。\n\n" for k in range(1, 9))
    rows = "".join(f"| Tool {chr(65 + k)} | Ctrl+{chr(75 + k)} | Open tool {k} |\n" for k in range(8))
    settings = indexed(tmp_path, "manager.md", f"# 工程管理器\n\n{prose}## 快捷键\n\n| 工具 | 快捷键 | 说明 |\n|---|---|---|\n"
                                           f"{rows}| Image Converter | Ctrl+B | Convert bitmap images |\n")
    found = get_retriever(settings).search("在工程管理器里按 Ctrl+B 会打开哪个工具？", 3)
    assert "Ctrl+B" in found[0].text, [p.text[:60] for p in found]


def test_a_value_the_text_does_not_call_the_default_does_not_answer_what_the_default_is(tmp_path):
    settings = indexed(tmp_path, "prefs.md",
        "# 自动保存\n\n自动保存间隔可以在偏好设置里修改，设置为 0 分钟表示禁用自动保存。\n\n"
        "# 备份\n\n每次保存时都会创建备份，备份默认保留 5 份，旧的备份会被自动删除。\n")
    got = ask(settings, "自动保存间隔的默认值是多少分钟？")
    assert got.abstained and "默认值" in got.text, got.text
    got = ask(settings, "备份默认保留几份？")
    assert not got.abstained and "5 份" in got.text, got.text


def test_each_part_of_a_side_by_side_question_gets_the_unit_about_its_own_item(tmp_path):
    settings = indexed(tmp_path, "settings.md",
        "# 设置文件\n\n工具把设置文件存储在用户目录内的文件夹中，每个大版本把设置存在该文件夹的子文件夹里。"
        "这些文件夹是：\n\n|  |  |\n|---|---|\n| Windows | `%APPDATA%\\tool` |\n| Linux | `~/.config/tool` |\n"
        "| Mac OS | `/Users/<username>/Library/Preferences/tool` |\n\n"
        "# 搜索路径\n\n如果变量以逗号开头，则默认路径将添加到其开头位置。如果变量以逗号结尾，则默认路径将添加到其结束位置。"
        "如果变量的值包含双逗号（,,），则默认路径将插入到两个逗号之间。\n")
    got = ask(settings, "工具的设置文件夹在 Windows 和 macOS 上分别在什么位置？")
    assert "%APPDATA%" in got.text and "Library/Preferences" in got.text, got.text
    got = ask(settings, "变量以逗号开头、以逗号结尾、中间有双逗号时，默认路径分别会加到哪里？")
    assert all(w in got.text for w in ("开头位置", "结束位置", "两个逗号之间")), got.text


def test_a_command_s_option_is_found_on_the_page_named_after_it(tmp_path):
    # four pages whose option entries read alike and never name their command: only the page's name tells them apart
    pages = (("frob", "-f, --force", "整理磁盘上的旧文件"), ("grind", "-y, --yes", "压缩日志文件"),
             ("plunk", "-n, --no-ask", "同步两个目录"), ("zest", "-b, --batch", "检查配置文件的语法"))
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, flag, topic in pages:
        intro = "".join(f"本工具用于{topic}，第 {k} 段说明它在各种情况下的行为，以及它读写哪些目录和文件。\n\n" for k in range(1, 17))
        (docs / f"{name}.1.md").write_text(
            f"# 名称\n\n{name} - {topic}\n\n# 描述\n\n{intro}# 选项\n\n**{flag}**\n\n跳过确认，直接执行。\n\n"
            f"**-v**, **--verbose**\n\n显示每一步的详细信息。\n", encoding="utf-8")
    from rag.settings import Settings

    settings = Settings(index_dir=tmp_path / "vs", uploads_dir=tmp_path / "up", backend="extractive")
    ingest([docs], settings=settings)
    for name, flag, _ in pages:
        got = ask(settings, f"{name} 用哪个选项可以跳过确认？")
        assert not got.abstained and flag in got.text, got.text
        assert {c.source for c in got.citations} == {f"{name}.1.md"}, got.citations


def test_a_sentence_of_an_entry_answers_with_the_whole_entry():
    from rag.answering.evidence_units import Evidence
    from rag.answering.extractive import extract
    from rag.question.analysis import analyse
    from rag.types import Chunk, Passage

    entry = "tool -t report | lpr -Pcolor：将 report 格式化，并通过管道送至名为 color 的打印机。"
    sentence = "将 report 格式化，并通过管道送至名为 color 的打印机。"
    passage = Passage(Chunk("tool.1.md", entry, 0, len(entry), 0), 1.0, 1)
    ranked = [Evidence(0, 28, len(entry), sentence, 0.6, supported=True), Evidence(0, 0, len(entry), entry, 0.3, supported=True)]
    got = extract(analyse("怎么把 report 格式化后送到名为 color 的打印机？"), [passage], lambda info, ps: ranked,
                  compose=lambda ev, whole=True: ev.answer_text)
    assert got.answer == entry.rstrip("。") and got.evidence.start == 0 and not got.also  # the entry, once


def test_an_option_written_against_chinese_is_the_option_alone():
    from rag.text.tokens import OPTION as OPTION_TOKEN
    from rag.question.followup import rewrite_follow_up
    from rag.text.tokens import exact_terms

    history = [{"role": "user", "content": "chage -l 是干什么的？"}, {"role": "assistant", "content": "显示账户年龄信息。"}]
    assert rewrite_follow_up("普通用户也能用它吗？", history) == "普通用户也能用chage -l吗？"
    assert OPTION_TOKEN.findall("普通用户也能用chage -l吗？") == ["-l"]
    assert exact_terms("按Ctrl+B打开，用-t选项") == ["Ctrl+B", "-t"]


def test_a_where_question_gets_the_unit_that_names_the_path():
    from rag.answering.preferences import path_first


    lead = unit("如果你已经更新了源代码树，在存放 debian 目录的源码目录里执行 pdebuild。")
    hooks = unit("HOOKDIR=/var/cache/pbuilder/hooks", kind="code")
    result = unit("新构建的软件包会被放置于 /var/cache/pbuilder/result/。")
    ranked = [lead, hooks, result]
    got = path_first(asked("用 pbuilder 构建出来的软件包会放在哪个目录？"), ranked)
    # the path that says more of the question goes first, with the best unit's verdict on answering
    assert got[0].answer_text == result.answer_text and got[1:] == [lead, hooks]
    assert path_first(asked("pbuilder 构建出来的软件包怎么签名？"), ranked) == ranked  # no place asked
    assert path_first(asked("软件包放在哪个目录？"), [result, lead]) == [result, lead]  # the best names one
    # a path the question names itself, or one in a unit the selector does not back, is no answer
    assert path_first(asked("/var/cache/pbuilder/hooks 是哪个目录？"), [lead, hooks]) == [lead, hooks]
    assert path_first(asked("软件包放在哪个目录？"), [lead, unit(result.text, supported=False)])[0] == lead
    # "和/或", a fraction or a URL is not a path
    from rag.answering.preferences import PATH
    assert PATH.findall("和/或 1/2 见 http://a.org/x 或 ~/.ssh/config") == ["~/.ssh/config"]


def test_a_short_second_question_asks_on_about_the_first_one_s_subject():
    from rag.question.compare import split_asks

    assert split_asks("用 apt 下载的 .deb 安装包本地会留一份吗？放在哪个目录？") == [
        "用 apt 下载的 .deb 安装包本地会留一份吗？", "用 apt 下载的 .deb 安装包本地会留一份，放在哪个目录？"]


def test_the_number_of_the_things_asked_for_is_no_figure_the_evidence_must_state():
    from rag.question.analysis import stated_numbers

    assert stated_numbers("SSH 附带的两个文件传输工具分别是什么？") == ()
    assert stated_numbers("KiCad 能从哪两种工具导入工程？") == ()
    assert stated_numbers("退出状态 2 是什么意思？") == (2.0,)
    assert stated_numbers("第二回委员集中学习是在哪儿办的？") == (2.0,)  # an ordinal names which one


def test_a_reason_is_a_purpose_said_with_yi_not_the_ke_yi_of_can():
    from rag.answering.unit_features import REASON

    assert REASON.search("请先备份，以避免丢失数据") and REASON.search("请备份配置，以免丢失")
    assert not REASON.search("这样可以避免将来的问题") and not REASON.search("也可以确保安装成功")


def test_a_question_asking_for_the_command_gets_the_unit_holding_the_command_line():
    from rag.answering.preferences import command_first


    said = unit("当 VNC 会话关闭时，记得退出相应的 SSH 会话来关闭隧道。")
    tunnel = unit("ssh -L localhost:5901:localhost:5900 -N -T machine 命令创建本地端口 5901 的隧道。")
    ranked = [said, unit("VNC 缺省在第一个屏幕使用端口号 5900。"), tunnel]
    got = command_first(asked("通过 SSH 隧道连 VNC 桌面，具体命令怎么敲？"), ranked)
    assert got[0].answer_text == tunnel.answer_text and got[1:] == ranked[:2]
    assert command_first(asked("通过 SSH 隧道连 VNC 桌面要注意什么？"), ranked) == ranked  # no command asked
    assert command_first(asked("ssh 这个命令一般用在什么场合？"), ranked) == ranked  # it names one
    block = unit("$ ssh -L 5901:localhost:5900 machine", kind="code")
    named = unit("debc(1) 命令列出一个二进制软件包中的文件。")
    assert command_first(asked("用哪个命令列出软件包里的文件？"), [named, tunnel]) == [named, tunnel]  # it names one
    assert command_first(asked("用什么命令建隧道？"), [block, tunnel]) == [block, tunnel]  # the best holds one
    assert command_first(asked("用什么命令建隧道？"), [said, unit(tunnel.text, supported=False)])[0] == said


def test_a_unit_that_says_something_and_points_on_in_brackets_is_an_answer():
    from rag.answering.pointing import only_points

    assert only_points("从模板创建工程在《工程模板》一节中介绍。")
    assert only_points("详见第 9.2.1.4 节。")
    assert not only_points("想要经由 VNC 链接而不传明文，可以把数据打包在 SSH 信道内 (见 第 9.2.1.4 节 “端口转发”)。")
    assert not only_points("可以把数据打包在 SSH 信道内。")


def test_a_yes_or_no_question_about_a_thing_the_documents_never_name_abstains_naming_it(tmp_path):
    settings = indexed(tmp_path, "tax-law.md",
        "# 车辆购置税法\n\n第九条 下列车辆免征车辆购置税：\n\n"
        "（一）外国驻华使馆、领事馆和国际组织驻华机构及其有关人员自用的车辆；\n"
        "（二）中国人民解放军和中国人民武装警察部队列入装备订货计划的车辆；\n"
        "（三）城市公交企业购置的公共汽电车辆。\n\n"
        "第十条 纳税人应当在向公安机关交通管理部门办理车辆注册登记前，缴纳车辆购置税。\n")
    from rag.question.analysis import long_nouns

    assert long_nouns("那这样账户就彻底不能用了吗？") == ()  # jieba's "账户就" is no noun
    trap = ask(settings, "车辆购置税法规定新能源汽车免征车辆购置税吗？")
    assert trap.abstained and "新能源" in trap.text and not trap.citations
    asked = ask(settings, "城市公交企业购置的公共汽电车辆免征车辆购置税吗？")
    assert not asked.abstained and "公共汽电车辆" in asked.text and asked.citations


def test_a_figure_asked_in_a_measure_is_never_a_count_of_something_else(tmp_path):
    from rag.question.units import asked_measure

    settings = indexed(tmp_path, "report.md",
        "# 2024年工作回顾\n\n2024年，全区交通系统办好两件大事，建成农村公路养护站12个。\n\n"
        "全年新修农村公路300公里，改造危桥45座。\n")
    road = ask(settings, "2024年新修了多少公里农村公路？")
    assert not road.abstained and "300公里" in road.text
    trap = ask(settings, "2024年全区供暖温度标准提高到了多少摄氏度？")
    assert trap.abstained and "两件" not in trap.text and "12" not in trap.text
    assert asked_measure("一共多少个部门？") is None and asked_measure("要在几个工作日内办完？")
    assert asked_measure("How much did the committee spend on the survey?") == asked_measure("花了多少钱？")
    assert asked_measure("What is the maximum size of a package that can be uploaded?") == asked_measure("多少MB？")
    assert asked_measure("How many packages does the release contain?") is None


def test_a_which_ones_question_gets_the_entries_before_a_sentence_about_them():
    from rag.answering.preferences import entries_first

    about = unit("KiCad 可以导入由其他一些软件包创建的文件。")
    eagle, cadstar = unit("*.sch, *.brd：Eagle 6.x 或更高版本", "row"), unit("*.csa, *.cpa：CADSTAR 档案格式", "row")
    ranked = [about, unit("要导入工程，请在文件菜单中选择。"), cadstar, eagle]
    got = entries_first(asked("KiCad 能从哪两种工具导入工程？", "list"), ranked)
    assert got[0].answer_text == cadstar.answer_text and got[1:] == [about, ranked[1], eagle]
    assert entries_first(asked("KiCad 怎么导入工程？"), ranked) == ranked  # no list asked
    lone = [about, cadstar, unit("*.sch：Eagle", "row", passage=1)]  # entries of two lists are no list
    assert entries_first(asked("KiCad 能从哪两种工具导入工程？", "list"), lone) == lone


def test_the_unit_naming_the_key_or_option_the_question_names_goes_first_however_low_it_ranks():
    from rag.answering.preferences import exact_first

    rows = [unit("工程管理器的启动器包含各种工具的快捷方式。", "sentence"), *(unit(f"new project {k}：创建工程。", "row") for k in range(6))]
    image = unit("Action：Image Converter；Default Hotkey：Ctrl+B；Description：Convert bitmap images", "row")
    got = exact_first(asked("在工程管理器里按 Ctrl+B 会打开哪个工具？"), [*rows, image])
    assert got[0].answer_text == image.answer_text and got[1:] == rows
    assert exact_first(asked("按 ctrl+b 会打开哪个工具？"), [*rows, image])[0].answer_text == image.answer_text
    # an option is named as written: "-n" is another option than "-N"; an unrated unit is no answer
    options = [unit("-n, --dry-run：只显示要做什么。", "option"), unit("-N, --no-user-group：不创建同名的组。", "option")]
    assert exact_first(asked("useradd 的 -N 是什么意思？"), options)[0] is not options[0]
    assert exact_first(asked("useradd 的 -n 是什么意思？"), options) == options
    assert exact_first(asked("按 Ctrl+B 会打开哪个工具？"), [rows[0], unit(image.text, supported=False)])[0] == rows[0]


def test_a_when_question_in_the_asker_s_own_words_is_dated_by_the_unit_that_tells_it(tmp_path):
    settings = indexed(tmp_path, "release.md",
        "# 发布\n\n按照以往的经验，一般是每年的 11 月前后发布新版本。\n\n"
        "# 框架\n\n合作框架于 2020 年 5 月召开的座谈会上讨论。\n")
    got = ask(settings, "下一年的放假安排出来以后，这个库一般什么时候跟着出新版？")  # no passage says "跟着"
    assert not got.abstained and "11 月" in got.text, got.text
    got = ask(settings, "合作框架是哪天签署的？")  # a meeting that discussed it does not date the signing
    assert got.abstained, got.text


def test_a_figure_worked_out_to_a_day_written_iso_is_found(tmp_path):
    settings = indexed(tmp_path, "datedif.md",
        "# DATEDIF\n\n## 示例\n\n某人出生于 1974 年 4 月 17 日。\n\n"
        "「=DATEDIF(\"1974-04-17\";\"2012-06-13\";\"m\")」得到 457, 他已存活 457 个月。\n\n"
        "「=DATEDIF(\"1974-04-17\";\"2012-06-13\";\"d\")」得到 13937，他已存活 13937 天。\n")
    got = ask(settings, "DATEDIF 的例子里，这人到 2012-06-13 一共活了多少天？")
    assert not got.abstained and "13937" in got.text, got.text


def test_a_default_in_a_table_s_default_column_is_a_default(tmp_path):
    settings = indexed(tmp_path, "dialog.md",
        "# Dialog 模态窗\n\n## API\n\n### Dialog Props\n\n|属性 | 说明 | 类型 | 默认值|备注|\n|----|-----|------|------|------|\n"
        "| v-model | 双向绑定是否显示窗口 | Boolean | `false`|-|\n| title | 窗口标题 | String | -|-|\n"
        "| icon | Icon组件图标名称 | String | -|-|\n| closable | 是否显示关闭按钮 | Boolean | `true`|-|\n"
        "| layout | 底部按钮组布局方式 | String | `row` | - |\n| btns | 底部操作按钮组 | Array | `[]`|-|\n"
        "| append-to | 组件的挂载节点 | HTMLElement | `document.body`|-|\n")
    got = ask(settings, "Dialog 组件默认挂载到哪个节点上？")  # the column far above the row says "默认值"
    assert not got.abstained and "document.body" in got.text, got.text
