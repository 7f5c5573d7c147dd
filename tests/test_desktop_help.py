"""Help pages of a whole desktop: the question names the help it asks, a scene-setting clause opens an English
question, "只有一次机会" counts one, a key table lists the defaults, a table row names what it is about, an
untranslated paragraph does not outrank the translation, a lead-in's steps come with it, and a follow-up's
"它" is found through the answer it goes on from."""

from __future__ import annotations

from rag.answering.compose import composer
from rag.answering.evidence import names_the_source
from rag.answering.figures import quantities
from rag.answering.nearmiss import no_default, not_in_entry
from rag.question.analysis import analyse, long_nouns, named_entities
from rag.question.answer_type import answer_type
from rag.question.followup import search_context
from tests.test_structured_answers import ask, indexed_all

POWER = ("# 电池和电源\n\n## 电池续航估计值不对\n\n"
         "如果您获取了一个不合情理的电池续航时间估计值(几百天)，则电源管理器可能无法探测到部分需要的数据。\n\n"
         "如果您拔下电源插头并使用电池运行笔记本电脑一会儿，然后插上电源并将其继续充电，则电源管理器应该可以重新获取到其需要的数据。\n\n"
         "## 屏幕变暗\n\n使用电池时屏幕会变暗以节省电能，这是桌面的默认行为。\n")
PORTS = ("# 常用网络端口\n\nThis is a list of network ports commonly used by applications that provide network services.\n\n"
         "| 端口 | 名称 | 描述 |\n|---|---|---|\n"
         "| 5353/udp | mDNS, Avahi | 允许系统在网络中彼此查找 |\n"
         "| 631/tcp | 打印 | 允许您通过网络与其他人共享打印机 |\n"
         "| 5900/tcp | 远程桌面 | 允许您共享桌面，以便其他人可以查看或提供远程协助 |\n")
SERVERS = "# 连接到服务器\n\n许多网络主机提供 SSH 帐户，成员可以安全上传文件，SSH 服务器总是需要用户登录。\n"
KEYS = ("# Acme 桌面的键盘快捷键\n\n## 预定义的快捷键\n\n有许多定义好的快捷键可以被更改，按组排列如下：\n\n"
        "| 动作 | 快捷键 |\n|---|---|\n| 减小文本字号 | 禁用 |\n| 开关屏幕键盘 | 禁用 |\n"
        "| 开关屏幕阅读器 | Alt+Super+S |\n| 开关屏幕缩放 | Alt+Super+8 |\n")
REMOVE = ("# 安全移除外置设备\n\n1. 打开文件管理器。\n\n2. 在侧边栏中找到设备，点击它旁边的弹出小图标。\n\n"
          "## 设备正忙\n\n如果设备上有文件被其他程序打开，那么您将不能安全移除设备。这时会出来一个提示窗口告诉您卷正忙，要安全移除此设备：\n\n"
          "1. 点取消。\n\n2. 关闭此设备上的所有文件。\n\n3. 点击弹出图标安全移除或弹出设备。\n")
WIRELESS = ("# 无线网络安全\n\nWEP and WPA are names for different encryption tools used to secure your wireless connection, "
            "so that no one can listen in.\n\n使用一些加密总是比不加密要好些，但 WEP 是这些标准里安全性低的一个，如果可能，您不应当使用它。"
            "WPA2 是三者中最安全的一个。\n")
DOCS = {"power.md": POWER, "ports.md": PORTS, "servers.md": SERVERS, "keys.md": KEYS, "remove.md": REMOVE, "wireless.md": WIRELESS}


def test_an_opening_clause_of_an_english_question_is_not_what_it_asks():
    assert answer_type("When a user changes their password, how many chances do they get?") == "figure"
    assert answer_type("When running man -k, which option makes all keywords match?") == "command"
    assert answer_type("According to the manual, when was it released?") == "date"
    assert answer_type("When was version 2.0 released?") == "date"
    assert answer_type("What minimum password length does the help recommend?") == "figure"


def test_one_bounded_by_only_or_at_most_is_a_count_a_lone_one_is_not():
    assert [n.value for n in quantities("用户只有一次机会输入正确密码。", ())] == [1.0]
    assert [n.value for n in quantities("只能有一个管理员", ())] == [1.0]
    assert quantities("一个新的文件", ()) == []
    assert quantities("只有一次次失败", ()) == []


def test_the_help_a_question_names_is_its_source_not_a_name_to_find():
    assert names_the_source("GNOME", "GNOME 帮助说 sRGB 大约相当于多少年前的显示器？")
    assert names_the_source("KiCad", "According to the KiCad manual, what is the default grid?")
    assert not names_the_source("GNOME", "GNOME 和 KDE 哪个更省电？")
    assert not names_the_source("SSH", "SSH 用哪个端口？")


def test_predicates_and_mistagged_names_are_not_things_asked_about():
    assert "出毛病" not in long_nouns("是电脑出毛病了吗？")
    assert "新能源" in long_nouns("新能源汽车免征吗")
    assert "满格" not in named_entities("为什么 Wi-Fi 信号满格，网速却不一定快？")
    assert "张明" in named_entities("张明是谁？")


def test_a_key_table_lists_defaults_and_a_row_must_name_what_is_asked():
    key_question = analyse("开关屏幕阅读器的默认快捷键是什么？")
    assert not no_default(key_question, "开关屏幕阅读器：Alt+Super+S")
    assert no_default(analyse("缓存的默认大小是多少？"), "缓存大小：64 MB")
    assert not no_default(analyse("缓存的默认大小是多少？"), "预定义的缓存大小：64 MB")
    port = analyse("SSH 远程登录用的是哪个端口？")
    assert not_in_entry(port, "row", "端口：631/tcp；名称：打印") == "SSH"
    assert not_in_entry(port, "row", "端口：22/tcp；名称：SSH") is None
    assert not_in_entry(port, "sentence", "许多网络主机提供帐户") is None


def test_an_unresolved_pronoun_is_searched_with_the_answer_it_follows():
    history = [{"role": "user", "content": "笔记本显示电池还能用好几百天，这正常吗？"},
               {"role": "assistant", "content": "不正常。通常是电源管理器没能探测到它需要的部分数据[1]。"}]
    searched = search_context("要怎么让它重新拿到这些数据？", history)
    assert searched.startswith("要怎么让它重新拿到这些数据？") and "电源管理器" in searched and "[1]" not in searched
    assert search_context("电源管理器怎么重新拿到数据？", history) == "电源管理器怎么重新拿到数据？"
    abstained = [history[0], {"role": "assistant", "content": "文档中没有提到这一点。"}]
    assert search_context("要怎么让它重新拿到这些数据？", abstained) == "要怎么让它重新拿到这些数据？"


def test_desktop_help_answers_end_to_end(tmp_path):
    settings = indexed_all(tmp_path, DOCS)
    keys = ask(settings, "开关屏幕阅读器的默认快捷键是什么？")
    assert not keys.abstained and "Alt+Super+S" in keys.text, keys.text
    source = ask(settings, "Acme 帮助说使用电池时屏幕为什么会变暗？")
    assert not source.abstained and "节省电能" in source.text, source.text
    other = ask(settings, "Zeta 帮助说使用电池时屏幕为什么会变暗？")
    assert other.abstained and "Zeta" in other.text, other.text  # a help no document names is another's
    ssh = ask(settings, "常用网络端口表里，SSH 远程登录用的是哪个端口？")
    assert ssh.abstained and "SSH" in ssh.text, ssh.text
    printing = ask(settings, "常用网络端口表里，共享打印机用的是哪个端口？")
    assert not printing.abstained and "631/tcp" in printing.text, printing.text
    busy = ask(settings, "安全移除 U 盘时提示卷正忙，这时该怎么办？")
    assert "点取消" in busy.text and "关闭此设备上的所有文件" in busy.text, busy.text
    assert busy.text.index("点取消") < busy.text.index("关闭此设备上的所有文件"), busy.text
    wep = ask(settings, "设置无线网络时为什么最好不要用 WEP 加密？")
    assert wep.text.startswith("使用一些加密") and "安全性低" in wep.text, wep.text
    follow = ask(settings, "那要怎么让它重新拿到这些数据？",
                 [{"role": "user", "content": "笔记本显示电池还能用好几百天，这正常吗？"},
                  {"role": "assistant", "content": "不正常。通常是电源管理器没能探测到它需要的部分数据。"}])
    assert "拔下电源插头" in follow.text, follow.text
