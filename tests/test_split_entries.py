"""An option's description that runs on into the next chunk comes with the chunk where the option starts, and a
name a question copies from the documents is told from the Chinese written right after it."""

from __future__ import annotations

from rag.answering.evidence import identifiers
from rag.retrieval.hybrid import _goes_on
from rag.retrieval.hybrid import get_retriever
from tests.test_structured_answers import indexed

_OTHERS = (("-c", "--comment", "注释", "任何文本字符串，通常是对登录名的简短说明，目前用作用户全名的字段。"),
           ("-d", "--home-dir", "主目录", "新用户将使用这个目录作为登录目录，默认值是把登录名附加到基础目录之后。"),
           ("-g", "--gid", "组", "用户初始登录组的组名或组号，组名必须已经存在，组号必须指向已经存在的组。"),
           ("-s", "--shell", "外壳", "用户登录外壳的路径名，不给出时由系统选择默认的登录外壳。"),
           ("-u", "--uid", "用户号", "用户 ID 的数值，这个值必须唯一，除非同时使用了允许重复的选项。"),
           ("-e", "--expiredate", "过期日期", "用户账户被禁用的日期，日期以年-月-日的格式指定，不给出时使用默认的过期日期。"),
           ("-f", "--inactive", "不活动期", "密码过期之后到账户被彻底禁用之前的天数，值为 0 时密码一过期就禁用账户。"),
           ("-k", "--skel", "骨架目录", "骨架目录里的文件和目录会被复制到用户的主目录中，只有在同时创建主目录时才有效。"),
           ("-m", "--create-home", "", "如果用户的主目录不存在，则创建它，骨架目录中的文件也会复制过去。"),
           ("-o", "--non-unique", "", "允许创建用户 ID 重复的用户，这个选项只在与指定用户号的选项一起使用时才有效。"),
           ("-r", "--system", "", "创建一个系统账户，系统账户没有过期信息，用户号从系统账户的范围里选取。"))


def _page() -> str:
    entries = [f"**{short}**, **{long}** *{arg}*\n\n> {text}\n" for short, long, arg, text in _OTHERS[:5]]
    entries.append(
        "**-p**, **--password** *密码*\n\n"
        "> 为新账户设置初始密码。密码应当是 crypt(3) 返回的加密后的值，而不是明文；在外壳脚本里，这个选项可以用来高效地批量创建用户。"
        "如果同时给出了其他与密码有关的选项，它们在密码设置之后才生效，账户的过期时间也按设置之后的规则计算。\n>\n"
        "> Without this option, the new account will be locked and with no password defined, i.e. a single exclamation "
        "mark in the respective field of the shadow file. This is a state where the user won't be able to access the "
        "account or to define a password himself.\n>\n"
        "> **Note:** Avoid this option on the command line because the password (or encrypted password) will be "
        "visible by users listing the processes.\n>\n"
        "> You should make sure the password respects the system's password policy.\n")
    entries += [f"**{short}**, **{long}** *{arg}*\n\n> {text}\n" for short, long, arg, text in _OTHERS[5:]]
    return "# 名称\n\nadduser - 创建一个新用户\n\n# 选项\n\n" + "\n".join(entries)


def test_the_rest_of_an_option_entry_comes_with_the_chunk_where_it_starts(tmp_path):
    settings = indexed(tmp_path, "adduser.8.md", _page())
    retriever = get_retriever(settings)
    starts = [c for c in retriever.all_chunks() if "**-p**" in c.text]
    rest = [c for c in retriever.all_chunks() if "listing the processes" in c.text]
    assert len(starts) == 1 and len(rest) == 1 and starts != rest  # the entry is split over two chunks
    found = retriever.search("adduser -p 设置的初始密码要写成明文还是加密后的值？", 1)
    assert [p.chunk.id for p in found] == [starts[0].id, rest[0].id], [p.text[:40] for p in found]


def test_a_quoted_description_runs_on_into_the_next_chunk():
    assert _goes_on("**-p**, **--password**\n\n> 为新账户设置初始密码。\n>\n> Without this option, the account is locked.",
                    "> **Note:** Avoid this option on the command line.\n")
    # a quotation the chunk begins with and that merely goes on is no lead-in to the next chunk
    assert not _goes_on("> 第一段引文。\n> 第二段引文。", "> 第三段引文。")
    assert not _goes_on("一段说明。\n\n> 引文。", "下一段正文。")


def test_a_name_is_not_run_together_with_the_chinese_after_it():
    assert identifiers("DEBSIGN_KEYID变量该设成什么？") == ["DEBSIGN_KEYID"]
    assert identifiers("MANOPT 变量里预先写了参数，怎么让 man 全都不理？") == ["MANOPT"]
    assert identifiers("把 pkg.conf里的设置改掉") == ["pkg.conf"]
    # an all-capitals word is a name unless called code: "ASCII" and "POSIX" are checked as names
    assert identifiers("ASCII码是几位的？") == [] and identifiers("POSIX 系统上怎么装？") == []
