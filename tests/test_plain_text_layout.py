"""Plain text laid out with spaces (a page or a manual saved as text): a table drawn in aligned columns is a table,
each of its rows an answer under its header, and a man page's description indented under its option is the
option's, every paragraph of it."""

from __future__ import annotations

from rag.documents.cleaning import clean_text
from rag.documents.text_tables import aligned_rows
from rag.documents.units import display, split_units
from tests.test_structured_answers import ask, indexed_all

TABLE = """表 2.1. 软件包管理工具

  软件包      流行度     大小    说明
  ----------  ---------  ------  ----------------------
  apt         V:891      4447    高级软件包工具（APT），
                                 命令行界面
  aptitude    V:46       4385    终端交互式前端
  synaptic    V:34       7809    图形界面的软件包管理器

这些工具都可以安装软件包。  它们各有特点。
"""


def test_columns_aligned_with_spaces_are_a_table_with_its_header():
    page = clean_text(TABLE)
    rows = [display(page, u) for u in split_units(page) if u.kind == "row"]
    assert rows == ["软件包：apt；流行度：V:891；大小：4447；说明：高级软件包工具（APT），命令行界面",
                    "软件包：aptitude；流行度：V:46；大小：4385；说明：终端交互式前端",
                    "软件包：synaptic；流行度：V:34；大小：7809；说明：图形界面的软件包管理器"]


def test_prose_lists_and_markdown_tables_are_not_redrawn():
    assert aligned_rows(["这些工具都可以安装软件包。  它们各有特点。", "第二行也是普通的句子，  只是多了空格。",
                         "第三行。"]) is None
    assert aligned_rows(["-   第一项：安装", "-   第二项：配置", "-   第三项：运行"]) is None
    assert aligned_rows(["| a  | b  |", "| 1  | 2  |", "| 3  | 4  |"]) is None
    # columns that do not line up are no table
    assert aligned_rows(["名称  值", "很长的名称在这里  1", "x  很长的值在这里"]) is None


def test_a_man_page_saved_as_text_keeps_each_description_with_its_option():
    page = clean_text("选项\n       -e, --expire\n\t   让一个账户的密码立即过期。\n\n       -l, --lock\n"
                      "\t   锁定指定账户的密码。此选项通过将密码更改为一个不可能与加密值匹配的\n\t   值来禁用。\n\n"
                      "\t   Note that this does not disable the account. To disable it, administrators should use usermod\n"
                      "\t   --expiredate 1 (this sets the expire date to Jan 2, 1970).\n\n\t   被锁定了密码的用户不允许更改密码。\n\n"
                      "另见\n       修改密码以后需要重新登录。\n")
    units = [(u.kind, u.context, display(page, u)) for u in split_units(page)]
    assert ("option", "选项", "-l, --lock：锁定指定账户的密码。") in units
    # the paragraphs indented under the option line are its description; a wrapped "--expiredate" is no option
    assert ("sentence", "选项 › -l, --lock", "Note that this does not disable the account. To disable it, administrators "
            "should use usermod --expiredate 1 (this sets the expire date to Jan 2, 1970).") in units
    assert ("sentence", "选项 › -l, --lock", "被锁定了密码的用户不允许更改密码。") in units
    assert not any(text.startswith("--expiredate") for _, _, text in units)
    assert ("sentence", "另见", "修改密码以后需要重新登录。") in units  # indented no deeper than the option: its own


def test_a_table_drawn_with_spaces_answers_by_its_row_end_to_end(tmp_path):
    filler = "软件包管理是系统维护的日常工作，管理员需要了解各种工具的用法和适用场合。" * 6
    settings = indexed_all(tmp_path, {"tools.txt": TABLE + "\n" + filler + "\n"})
    got = ask(settings, "synaptic 的大小是多少？")
    assert not got.abstained and "7809" in got.text and "synaptic" in got.citations[0].quote, got.text


def test_chunks_ranked_by_their_best_unit_end_to_end(tmp_path):
    """A chunk of many option entries is near none of them as a whole; its best unit finds it for a question in
    the asker's own words (real model, real index)."""
    import numpy as np

    from rag.retrieval.hybrid import get_retriever
    from rag.index.base import Hit
    from rag.retrieval.unit_hits import unit_hits

    options = ["-b, --base-dir 目录：新账户主目录的默认基目录。", "-c, --comment 注释：任何字符串，通常是用户的全名。",
               "-d, --home-dir 主目录：新账户将使用此主目录登录。", "-e, --expiredate 日期：账户被禁用的日期。",
               "-f, --inactive 天数：密码过期后到账户被彻底禁用之前的天数。", "-g, --gid 组：用户初始登录组的组名或号码。",
               "-G, --groups 组列表：用户还属于的附加组列表。", "-k, --skel 骨架目录：骨架目录，包含要复制到主目录的文件。",
               "-m, --create-home：如果用户的主目录不存在，则创建它。", "-N, --no-user-group：不创建和用户同名的组，而是把用户加入 -g 指定的组。",
               "-o, --non-unique：允许使用重复的用户 ID 创建用户账户。", "-p, --password 密码：加密过的密码。",
               "-r, --system：创建一个系统账户。", "-s, --shell SHELL：用户登录 shell 的名称。", "-u, --uid UID：用户 ID 的数值。"]
    text = "# useradd\n\n## 选项\n\n" + "\n\n".join(f"- {o}" for o in options) + "\n\n## 说明\n\n" + \
        "useradd 是创建用户的底层工具，管理员通常使用 adduser。" * 20 + "\n"
    settings = indexed_all(tmp_path, {"useradd.md": text})
    retriever = get_retriever(settings)
    assert len(retriever.all_chunks()) >= 3  # the entries are spread over several chunks
    question = "建新用户时不想顺带生成一个跟用户名一样的组，用哪个开关？"
    vector = np.asarray(retriever.embedder.embed_query(question), dtype=np.float32)
    everything = [Hit(c, 0.0, i) for i, c in enumerate(retriever.all_chunks())]
    hits = unit_hits(retriever, vector, everything)[:3]
    assert "--no-user-group" in hits[0].chunk.text
    assert len({h.position for h in hits}) == len(hits)  # one hit per chunk, the best unit standing for it
