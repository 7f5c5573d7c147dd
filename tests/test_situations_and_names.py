"""Follow-ups that lean on the situation the earlier turn set up ("那这时候该怎么处理？"), who did a deed named in
Latin letters ("由 Leo-Hong 翻译"), a name the asker adds in brackets, and English compounds the dictionary has only
word by word ("Back-Cover" → 后封面)."""

from __future__ import annotations

from rag.answering.persons import persons
from rag.question.analysis import glosses
from rag.question.followup import rewrite_follow_up
from rag.text.lexicon import chinese_keywords, corpus_vocabulary
from tests.test_structured_answers import ask, indexed_all


def _after(question: str, previous: str, said: str = "……") -> str:
    return rewrite_follow_up(question, [{"role": "user", "content": previous}, {"role": "assistant", "content": said}])


def test_the_situation_of_a_yes_no_question_as_the_answer_settled_it():
    assert (_after("那这时候该怎么处理？", "这个用户还有进程在跑，userdel 能直接把他删掉吗？", "不能。userdel 不允许删除该账户。")
            == "这个用户还有进程在跑，userdel 不能直接把他删掉，该怎么处理？")  # "该" is "should" here, not a pronoun
    assert _after("那这样的话要交多少？", "个人买的自用车辆是否要交车辆购置税？", "要，税率百分之十。") == \
        "个人买的自用车辆要交车辆购置税，要交多少？"
    assert _after("那这样的话要交多少？", "个人买的自用车辆是否要交车辆购置税？", "不要。") == \
        "个人买的自用车辆不要交车辆购置税，要交多少？"


def test_the_situation_of_a_how_question_is_its_action_done():
    assert _after("那这样账户就彻底不能用了吗？", "怎么锁定一个用户的密码？") == "锁定一个用户的密码以后，账户就彻底不能用了吗？"
    # a question asking a figure states no situation: the situation rewrite leaves it alone
    assert not _after("那这时候谁负责？", "自治区政协有多少委员？").startswith("自治区政协有多少委员，")


def test_names_in_latin_letters_joined_by_a_hyphen_or_with_accents_are_persons():
    assert persons("本版本由 Leo-Hong (leohca (at) yahoo.com) 翻译整理") >= {"Leo-Hong"}
    assert "Raphaël Hertzog" in persons("作者是 Raphaël Hertzog 和 Roland Mas")
    assert not persons("运行 Debian-Installer 的第二阶段")  # a program's name, not a person's


def test_a_name_added_in_brackets_is_another_name_for_the_thing():
    assert glosses("GNU 自由文本授权（GFDL）中文版是谁翻译的？") == {"GFDL": "自由文本授权"}
    assert glosses("内蒙古2024年的地区生产总值（GDP）是多少？") == {"GDP": "地区生产总值"}
    assert glosses("Debian 的 GFDL 中文版是谁翻译的？") == {}


def test_an_english_compound_the_documents_say_word_by_word():
    text = "前封面文字最多可以包含 5 个单词，后封面文字最多可以包含 25 个单词。"
    keywords = chinese_keywords("How many words may a Back-Cover Text contain?", corpus_vocabulary([text]))
    assert "后封面" in keywords and "前封面" not in keywords


def test_who_did_it_and_what_to_do_then_end_to_end(tmp_path):
    docs = {
        "license.md": "# 附录 E. 自由文本授权\n\n这是一份自由文本授权非正式的中文翻译。它并非由自由软件基金会所发表。"
                      "然而，我们希望这份翻译能帮助中文的使用者更了解自由文本授权。\n\n"
                      + "允许每个人复制和发布本授权文件的完整副本，但不允许对它进行任何修改。"
                      + "本版本由 Leo-Hong 翻译整理，由 Delin Chang 进行复制和重新排版。\n",
        "userdel.md": "# userdel\n\nuserdel - 删除用户账户和相关文件\n\n## 注意\n\n如果有属于这个账户的进程正在运行，"
                      "userdel 不允许删除该账户。这时候需要先杀死这些进程，或者先锁定这个账户的密码，以后再删除它。"
                      "-f 选项可以强制删除这个账户。\n",
    }
    settings = indexed_all(tmp_path, docs)
    who = ask(settings, "自由文本授权（GFDL）的中文版是谁翻译的？")
    assert not who.abstained and "Leo-Hong" in who.text, who.text
    then = ask(settings, "那这时候该怎么处理？",
               [{"role": "user", "content": "这个用户还有进程在跑，userdel 能直接把他删掉吗？"},
                {"role": "assistant", "content": "不能。如果有属于这个账户的进程正在运行，userdel 不允许删除该账户[1]。"}])
    assert not then.abstained and ("杀死" in then.text or "-f" in then.text), then.text


def test_this_kind_of_thing_is_the_one_the_last_answer_named_before_that_word():
    assert _after("存这个格式的时候压缩级别该怎么设？", "做网页用的图片适合存成什么格式？", "颜色少的图片更适合用 PNG 格式。") == \
        "存PNG 格式的时候压缩级别该怎么设？"
    # "-l 命令" is no name of a command: the option's letter is not taken for one
    assert "l 命令" not in _after("这个命令要 root 权限吗？", "怎么列出已安装的包？", "用 dpkg -l 命令。")


def test_a_term_alone_over_its_description_is_an_entry():
    from rag.documents.cleaning import clean_text
    from rag.documents.units import display, split_units

    text = clean_text("第一个字段标识源的类型：\n\n`deb`  \n二进制软件包的软件包源（仓库）\n\n`deb-src`  \n源代码软件包的软件包源（仓库）\n\n"
                      "The second field gives the base URL of the source.\n\n# 文件\n\n$HOME/.hushlogin\n\n> 阻止显示系统信息。\n")
    shown = {display(text, u) for u in split_units(text) if u.kind == "option"}
    assert shown == {"deb：二进制软件包的软件包源（仓库）", "deb-src：源代码软件包的软件包源（仓库）", "$HOME/.hushlogin：阻止显示系统信息。"}


def test_items_after_the_same_verb_said_again():
    from rag.question.multifact import split_items

    parts = split_items("sources.list 里每行开头写 deb 和写 deb-src，各自代表什么样的软件源？")
    assert [item for item, _ in parts] == ["deb", "deb-src"]
    assert parts[1][1] == "sources.list 里每行开头写 deb-src，代表什么样的软件源？"


def test_the_release_a_changelog_line_stands_under():
    from rag.answering.phrasing import release_of
    from rag.question.analysis import analyse
    from rag.types import Chunk, Passage

    text = "## [0.45.0](https://example.org/c) (2022-01-23)\n\n- 新增 to_initials 函数。\n\n" \
           "## [0.44.0](https://example.org/c) (2021-11-14)\n\n- 增加 Python 3.10 下的测试，正式支持 Python 3.10 。\n"
    passage = Passage(chunk=Chunk(source="CHANGELOG.md", text=text, start=0, end=len(text), order=0), score=1.0, rank=1)
    at = text.index("- 增加")
    asked = analyse("pypinyin 从哪个版本开始正式支持 Python 3.10？")
    assert release_of(asked, "增加 Python 3.10 下的测试", passage, at) == "0.44.0 (2021-11-14)"
    assert release_of(analyse("pypinyin 什么时候支持 Python 3.10？"), "增加 Python 3.10 下的测试", passage, at) == ""
    assert release_of(asked, "0.43.0 起支持", passage, at) == ""  # the answer names a release itself


def test_two_questions_one_answered_options_by_their_entry_and_a_day_told_by_the_event_end_to_end(tmp_path):
    filler = "".join(f"第{n}条 这是关于其他事项的规定，与本问题无关，只是占据篇幅的第{n}条内容。\n\n" for n in range(20, 32))
    docs = {
        "tax.md": "# 车辆购置税法\n\n第十二条 车辆购置税的纳税义务发生时间为纳税人购置应税车辆的当日。\n\n"
                  "第十三条 纳税人应当在向公安机关交通管理部门办理车辆注册登记前，缴纳车辆购置税。\n\n" + filler,
        "login.1.md": "# 名称\n\nlogin - 在系统上启动会话\n\n# 大纲\n\n**login** \\[-p\\] \\[-h *host*\\] \\[*用户名*\\]\n\n"
                      "**login** \\[-p\\] -r *host*\n\n# 描述\n\n" + "login 程序用于在系统上建立一个新会话。它通常由 getty 调用。" * 12
                      + "\n\n# 选项\n\n**-f**\n\n> 不要执行认证，用户已经预认证过。\n\n**-h**\n\n> 此登录的远程主机名。\n\n"
                      "**-p**\n\n> 保留环境。\n\n**-r**\n\n> 执行 rlogin 的自动登录协议。\n",
    }
    settings = indexed_all(tmp_path, docs)
    day = ask(settings, "车辆购置税的纳税义务从哪天算起？")
    assert not day.abstained and "购置应税车辆的当日" in day.text, day.text
    two = ask(settings, "车辆购置税的纳税义务从哪天算起？办理车辆注册登记的最低年龄是多少？")
    assert not two.abstained and "当日" in two.text and "没有找到" in two.text, two.text
    option = ask(settings, "login 的 -p 选项是干什么的？")
    assert not option.abstained and "保留环境" in option.text, option.text


def test_a_counter_after_a_number_starts_no_name_and_a_multiple_narrows_nothing():
    from rag.answering.nearmiss import subset_qualifier
    from rag.question.analysis import analyse, named_entities

    assert named_entities("只想在第 3 章里查某个名字的一句话简介，whatis 该怎么用？") == ("whatis",)
    assert "郭玉广" in named_entities("2024年郭玉广主持了几次会议？")
    asked = analyse("商家明知东西有毛病还卖，还能额外要多少惩罚性赔偿？")
    assert subset_qualifier(asked, "并有权要求所受损失二倍以下的惩罚性赔偿") is None
    assert subset_qualifier(analyse("2024年有多少件提案？"), "86件重点督办提案") == "重点督办"


def test_the_parts_of_one_sentence_answer_a_question_asking_for_several(tmp_path):
    docs = {"corrector.md": "# 自定义混淆集\n\n通过加载自定义混淆集，支持用户纠正已知的错误，包括两方面功能：1）【提升准确率】误杀加白；"
                            "2）【提升召回率】补充召回。\n\n混淆集文件每行一个词对，用空格分开。自定义混淆集ConfusionCorrector类，"
                            "除了和Corrector类一起使用，还可以和MacBertCorrector一起使用，也可以独立使用。\n\n"
                            "example: examples/kenlm/use_custom_confusion.py\n"}
    settings = indexed_all(tmp_path, docs)
    got = ask(settings, "自定义混淆集主要是拿来解决哪两方面的问题？")
    assert "误杀加白" in got.text and "补充召回" in got.text, got.text
    other = ask(settings, "pycorrector 的自定义混淆集主要是拿来解决哪两方面的问题？")  # a name no passage says
    assert other.abstained and "pycorrector" in other.text, other.text


def test_another_release_named_under_the_heading_of_the_one_asked_is_no_near_miss():
    from rag.answering.nearmiss import other_version
    from rag.question.analysis import analyse

    asked = analyse("自己编译 GIMP 2.6 时要怎么配置才能打开远程文件？")
    clause = "文本工具的使用并不很好，计划在 GIMP 2.8 中优化它；你需要明确传递 --without-gvfs 给 configure 命令"
    assert other_version(asked, clause) == "GIMP 2.6"
    assert other_version(asked, clause, "GIMP 帮助 › 7. GIMP 2.6 的新特性") is None
    assert other_version(asked, clause, "GIMP 帮助 › 8. GIMP 2.8 的新特性") == "GIMP 2.6"
