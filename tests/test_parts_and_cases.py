"""The parts of an answer a question asks for: both cases it joins by "或者", the sentence that names what the
best one told of, a file kind's entry by its suffix, a list item wrapped onto a second line, items named partly in
Latin letters, and "当前这个窗口" in a follow-up (the window at hand, not the earlier question's thing)."""

from __future__ import annotations

from rag.answering.evidence import versions
from rag.documents.cleaning import clean_text
from rag.documents.units import display, split_units
from rag.question.followup import rewrite_follow_up
from rag.question.multifact import alternatives, split_items
from tests.test_structured_answers import ask, indexed_all


def test_a_list_item_wrapped_onto_the_next_line_is_one_item():
    text = clean_text("有两种方式运行 saned：\n- 作为一个 inetd 服务，由 inetd 超级服务器启动。此模式下，\n"
                      "服务器在客户端有连接请求时，按需启动；\n- 作为一个独立的守护进程，在系统启动时启动。此模式下，saned 一直自己\n"
                      "在后台运行，并且监听客户端的连接。\n")
    items = [display(text, u) for u in split_units(text) if u.kind == "item"]
    assert items == ["作为一个 inetd 服务，由 inetd 超级服务器启动。此模式下，服务器在客户端有连接请求时，按需启动；",
                     "作为一个独立的守护进程，在系统启动时启动。此模式下，saned 一直自己在后台运行，并且监听客户端的连接。"]
    # items that end their sentence stay apart from the paragraph line after them
    short = clean_text("- 苹果。\n- 香蕉。\n以上两种水果都可以。\n")
    assert [display(short, u) for u in split_units(short) if u.kind == "item"] == ["苹果。", "香蕉。"]


def test_an_option_entry_keeps_its_argument_line_and_every_quoted_paragraph():
    page = clean_text("# 选项\n\n**-v**, **--verbose**  \n打印详细的警告消息。\n\n"
                      "**-s** *列表*, **--sections** *列表*  \n只搜索指定的手册章节。如果 *列表* 是简单的章节号，如“3”，只显示这一章。\n\n"
                      "**-l**, **--lock**\n\n> 锁定指定账户的密码。\n>\n> Note that this does not disable the account.\n>\n"
                      "> 被锁定了密码的用户不允许更改密码。\n\n**-q**, **--quiet**\n\n> 安静模式。\n\n这一段不属于任何选项。\n")
    units = [(u.kind, u.context, display(page, u)) for u in split_units(page)]
    assert ("option", "选项", "-s 列表, --sections 列表：只搜索指定的手册章节。") in units
    assert ("sentence", "选项 › -s 列表, --sections 列表", "如果 列表 是简单的章节号，如“3”，只显示这一章。") in units
    # every paragraph of a quoted description is the option's, an untranslated one too
    assert ("sentence", "选项 › -l, --lock", "Note that this does not disable the account.") in units
    assert ("sentence", "选项 › -l, --lock", "被锁定了密码的用户不允许更改密码。") in units
    assert ("sentence", "选项", "这一段不属于任何选项。") in units


def test_releases_a_question_names_by_number():
    assert versions("pypinyin 0.38.0 版本都更新了些什么？") == ["0.38.0"]
    assert versions("GIMP 2.6 版的新特性有哪些？") == ["2.6"] and versions("What changed in version 2.10?") == ["2.10"]
    assert versions("Python 3.10 能用吗？") == [] and versions("罚款是违法所得的 1.5 倍吗？") == []


def test_items_named_partly_in_latin_letters_and_placed_items():
    assert [item for item, _ in split_items("KiCad 导出给板厂的 Gerber 文件和钻孔文件，扩展名分别是什么？")] == \
        ["Gerber 文件", "钻孔文件"]
    assert [item for item, _ in split_items("打小册子时，Duplex 下拉框和 Include 下拉框分别该选什么？")] == \
        ["Duplex 下拉框", "Include 下拉框"]
    assert split_items("APT 操作的结果和 dpkg 的日志分别记录在哪些文件里？") == \
        [("APT 操作的结果", "APT 操作的结果记录在哪些文件里？"), ("dpkg 的日志", "dpkg 的日志记录在哪些文件里？")]
    # a Latin name before a phrase that is no item's ("$MANPATH 以冒号开头、……") stays out of the items
    assert [item for item, _ in split_items("$MANPATH 以冒号开头、以冒号结尾时，默认搜索路径分别会加到哪里？")] == \
        ["以冒号开头", "以冒号结尾"]
    assert split_items("在 Linux 上和 Windows 上分别怎么装？") == \
        [("Linux 上", "在 Linux 上怎么装？"), ("Windows 上", "在 Windows 上怎么装？")]


def test_the_two_cases_a_question_joins():
    assert alternatives("如果造成残疾或者死亡，还要另外赔什么？") == ("残疾", "死亡")
    assert alternatives("用 root 或 sudo 运行吗？") == ()  # not two Chinese words


def test_the_window_at_hand_is_no_pronoun_for_the_earlier_thing():
    history = [{"role": "user", "content": "GNOME 里截整个屏幕的快捷键是什么？"},
               {"role": "assistant", "content": "按 Shift+Print。"}]
    assert rewrite_follow_up("那只截当前这个窗口呢？", history) == "GNOME 里只截当前窗口的快捷键是什么？"
    earlier = [{"role": "user", "content": "sudo 是干什么的？"}, {"role": "assistant", "content": "以 root 身份运行命令。"}]
    assert rewrite_follow_up("用这个命令的时候要输入谁的密码？", earlier) == "用sudo命令的时候要输入谁的密码？"


def test_cases_names_suffixes_and_wrapped_items_end_to_end(tmp_path):
    filler = "".join(f"第{n}条 这是关于其他事项的规定，与本问题无关，只是占据篇幅的第{n}条内容。\n\n" for n in range(60, 72))
    docs = {
        "law.md": "# 消费者权益保护法\n\n第四十九条 经营者提供商品或者服务，造成消费者人身伤害的，应当赔偿医疗费、护理费、交通费等"
                  "合理费用。造成残疾的，还应当赔偿残疾生活辅助具费和残疾赔偿金。造成死亡的，还应当赔偿丧葬费和死亡赔偿金。\n\n"
                  + filler,
        "archive.md": "# 镜像的目录\n\n每个发行版的目录下都有索引文件。binary-* 中的索引文件名为 Packages(.gz, .bz2)，"
                      "它们包含了每个二进制软件包的摘要。此外，还有一个子目录叫做 source/，它包含了源码包的索引文件。"
                      "这个文件名为 Sources(.gz, .bz2)。\n\n" + "镜像站按地区分布，用户可以选择离自己近的镜像站下载软件包。" * 6 + "\n",
        "build.md": "# 构建软件包\n\n构建完成以后，上一级目录中会有这些文件：\n\n- 制作 `.dsc` 文件\n\n- 制作 `.changes` 文件\n\n"
                    "下面逐个说明它们。\n\n`gentoo_0.9.12.orig.tar.gz`\n\n> 这是原始的源代码 tarball，内容与上游 tarball 相同。\n\n"
                    "`gentoo_0.9.12-1.dsc`\n\n> 这是一个从 control 文件生成的源代码概要，可被 dpkg-source 程序解包。\n\n"
                    "`gentoo_0.9.12-1_i386.deb`\n\n> 这是完整的二进制包，可以用 dpkg 安装。\n",
    }
    settings = indexed_all(tmp_path, docs)
    # what the answer says first, before its first citation: the runners-up after it may say more of it anyway
    cases = ask(settings, "如果造成残疾或者死亡，还要另外赔什么？")
    assert not cases.abstained and all(w in _first(cases.text) for w in ("残疾赔偿金", "丧葬费")), cases.text
    named = ask(settings, "源码包的索引文件叫什么文件名？")
    assert not named.abstained and "Sources" in _first(named.text), named.text
    dsc = ask(settings, "构建完以后上一级目录里的 .dsc 是什么文件？")
    assert not dsc.abstained and "源代码概要" in _first(dsc.text), dsc.text


def _first(text: str) -> str:
    return text.split("[", 1)[0]


def test_a_release_never_named_and_what_to_do_if_end_to_end(tmp_path):
    docs = {
        "CHANGELOG.md": "# 更新日志\n\n## 0.40.0 (2020-11-22)\n\n- [New] 新增 tone_convert 模块。\n\n"
                        "## 0.39.1 (2020-10-07)\n\n- [Fixed] 修复拼音数据的一个错误。\n",
        "checkit.md": "# 检查软件包\n\n对于 lintian 报告的警告，你应该改进软件包或者检查警告是否的确无意义。"
                      "如果确定没有意义，则使用 lintian-overrides 文件将其覆盖。\n\n" + "软件包构建完成以后要逐项检查。" * 8 + "\n",
    }
    settings = indexed_all(tmp_path, docs)
    never = ask(settings, "0.38.0 版本都更新了些什么？")
    assert never.abstained and "0.38.0" in never.text, never.text
    told = ask(settings, "0.40.0 版本都更新了些什么？")
    assert not told.abstained and "tone_convert" in told.text, told.text
    then = ask(settings, "lintian 报的某个警告我确认是误报，想把它屏蔽掉，该怎么做？")
    # what to do comes with the case it is for, not as a sentence of its own
    assert not then.abstained and "是否的确无意义。如果确定没有意义，则使用 lintian-overrides" in then.text, then.text


def test_where_the_asker_is_need_not_be_said_by_the_passages_end_to_end(tmp_path):
    docs = {
        "keyboard.md": "# 键盘快捷键\n\n| 快捷键 | 作用 |\n|---|---|\n| Alt+F2 | 显示运行命令提示符 |\n| Alt+F4 | 关闭当前窗口 |\n"
                       "| Super | 打开活动概览 |\n\n" + "使用键盘快捷键可以更快地完成常见操作。" * 6 + "\n",
        "security.md": "# 网络安全\n\nGNOME 桌面自带的防火墙设置很少，需要时可以安装其他工具。" + "防火墙可以阻止不需要的连接。" * 6 + "\n",
    }
    settings = indexed_all(tmp_path, docs)
    here = ask(settings, "GNOME 里按哪个组合键可以关闭当前窗口？")  # the collection names GNOME, the key table does not
    assert not here.abstained and "Alt+F4" in here.text, here.text
    other = ask(settings, "BarPaint 里按哪个组合键可以关闭当前窗口？")  # a program the collection never names
    assert other.abstained and "BarPaint" in other.text, other.text


def test_a_wish_not_to_do_it_is_answered_by_the_entry_that_says_not_to():
    from rag.answering.negation import negated_first
    from tests.test_structured_answers import asked, unit

    question = asked("建新用户时不想顺带生成一个跟用户名一样的组，useradd 用哪个开关？")
    ranked = [unit("useradd - 创建一个新用户"), unit("-U, --user-group：创建一个和用户同名的组", "option"),
              unit("-N, --no-user-group：Do not create a group with the same name as the user", "option")]
    assert negated_first(question, "command", ranked)[0].answer_text.startswith("-N")
    # a question with no such wish, or not asking for an option, keeps the selector's order
    assert negated_first(asked("useradd 用哪个开关创建同名的组？"), "command", ranked) == ranked
    assert negated_first(question, "definition", ranked) == ranked
