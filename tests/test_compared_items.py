"""Two things asked side by side: "A 和 B 有什么区别" tells each, and each part gets its own entry even when that
entry's description mentions the other part's thing."""

from __future__ import annotations

from dataclasses import replace

from rag.answering.preferences import own_item_first
from rag.question.multifact import asks_several, split_items
from tests.test_structured_answers import ask, asked, indexed_all, unit


def test_a_question_of_the_difference_asks_what_each_one_is():
    assert split_items("useradd 的 -m 和 -M 有什么区别？") == [("-m", "useradd 的 -m是什么？"), ("-M", "useradd 的 -M是什么？")]
    assert [item for item, _ in split_items("stable 和 testing 的区别是什么？")] == ["stable", "testing"]
    assert [item for item, _ in split_items("apt 与 apt-get 区别在哪里")] == ["apt", "apt-get"]
    assert asks_several("GIMP 2.0 与 2.2 有何区别？")
    # one thing has no difference to tell, and "分别" keeps its own reading
    assert split_items("这个版本有什么区别？") == []
    assert [item for item, _ in split_items("-l 和 -u 分别有什么区别？")] == ["-l", "-u"]


def test_an_item_s_own_entry_wins_though_its_description_names_the_other_item():
    own = unit("-u, --unlock：解锁账户的密码，把密码改回使用 -l 选项之前的值。", kind="option")
    other = unit("-u, --uid UID：新账户的用户 ID，必须唯一，除非使用了 -o 选项。", kind="option", passage=1)
    mention = unit("使用 -u 之前通常先用 -l 锁定。", passage=2)
    info = replace(asked("passwd 的 -u 选项做什么？"), items=("-u", "-l"))
    assert own_item_first(info, [mention, own, other])[0] is not other
    assert own_item_first(info, [mention, own, other])[0].answer_text.startswith("-u, --unlock")


def _page(name: str, options: list[tuple[str, str]]) -> str:
    intro = "".join(f"{name} 的第 {k} 段说明：它读写账户文件，并在修改之前检查调用者的权限和参数的格式。\n\n" for k in range(1, 9))
    entries = "".join(f"**{flag}**\n\n> {text}\n\n" for flag, text in options)
    return f"# 名称\n\n{name} - 管理账户\n\n# 描述\n\n{intro}# 选项\n\n{entries}"


def test_each_option_of_a_named_page_is_told_from_its_own_entry(tmp_path):
    settings = indexed_all(tmp_path, {
        "lockpw.1.md": _page("lockpw", [("-l, --lock", "锁定指定账户的密码，在加密的密码前面加一个感叹号。"),
                                        ("-u, --unlock", "解锁指定账户的密码，把密码改回使用 -l 选项锁定之前的值。")]),
        "mkacct.8.md": _page("mkacct", [("-u, --uid UID", "新账户的用户 ID 的数值，必须唯一，除非同时使用了允许重复的选项。"),
                                        ("-m, --create-home", "如果用户的主目录不存在，就创建它。"),
                                        ("-M, --no-create-home", "不创建用户的主目录，即使系统设置要求创建。")]),
    })
    got = ask(settings, "lockpw 的 -l 和 -u 选项分别做什么？")
    assert "感叹号" in got.text and "--unlock" in got.text and "--uid" not in got.text, got.text
    got = ask(settings, "mkacct 的 -m 和 -M 有什么区别？")
    assert "--create-home" in got.text and "--no-create-home" in got.text, got.text
