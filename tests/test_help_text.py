"""A command's help laid out with spaces (``--help`` output, a shell's ``help``), in plain text or fenced in Markdown
to keep its columns: each option with its description is one entry, so a question about one option gets that option."""

from __future__ import annotations

from rag.documents.cleaning import clean_text
from rag.documents.help_text import help_entries
from tests.test_structured_answers import ask, indexed

LS_HELP = """用法：ls [选项]... [文件]...
列出 <文件>（默认为当前目录）的信息。

长选项的必选参数对于短选项也是必选的。
  -a, --all                  不要隐藏以 . 开头的项目
      --block-size=大小      与 -l 同时使用时，打印大小前将其除以 <大小>；
                               例如："--block-size=M"
  -d, --directory            列出目录本身，而不是目录的内容
      --group-directories-first
                             将目录排在文件前面

      --hide=模式            隐藏符合 shell <模式> 的项目
                               （-a 或 -A 使此选项失效）
"""

RM_HELP = """用法：rm [选项]... [文件]...
删除 (unlink) <文件>。

  -f, --force           忽略不存在的文件和参数，且从不询问
  -i                    每次删除前询问
  -d, --dir             删除空目录
  -v, --verbose         详细显示进行的步骤

要删除文件名第一个字符为 "-" 的文件（例如 "-foo"），请使用以下命令之一：
  rm -- -foo

退出状态：
 0  表示正常，
 2  表示严重问题（例如：无法使用命令行参数）。
"""


def test_each_option_with_its_description_is_one_entry():
    rows = help_entries(LS_HELP.split("\n\n")[1].split("\n"))
    assert rows[0] == "长选项的必选参数对于短选项也是必选的。"
    assert "| -a, --all | 不要隐藏以 . 开头的项目 |" in rows
    # a description goes on over the deeper lines; an option alone on its line has its description below it
    assert "| --block-size=大小 | 与 -l 同时使用时，打印大小前将其除以 <大小>；例如：\"--block-size=M\" |" in rows
    assert "| --group-directories-first | 将目录排在文件前面 |" in rows


def test_a_shell_builtin_s_options_with_arguments_and_tabs():
    rows = help_entries(["    选项：", "      -a 数组\t将词语按顺序赋值给 <数组> 变量的各个成员",
                         "      -t 超时\t如果在 <超时> 秒内没有读取一个完整的行则超时并且返回失败。默认的超时时间是",
                         "    \t\tTMOUT 变量的值。"])
    assert "| -a 数组 | 将词语按顺序赋值给 <数组> 变量的各个成员 |" in rows
    assert "| -t 超时 | 如果在 <超时> 秒内没有读取一个完整的行则超时并且返回失败。默认的超时时间是TMOUT 变量的值。 |" in rows


def test_prose_and_a_man_page_s_option_over_its_paragraph_are_not_help_entries():
    assert help_entries(["这是一段说明，", "接着写到第二行。"]) is None
    assert help_entries(["-l, --lock", "    锁定指定账户的密码。"]) is None  # read as a man page's option elsewhere


def test_help_fenced_to_keep_its_columns_is_read_as_help_and_code_stays_code():
    cleaned = clean_text(f"# ls\n\n```text\n{LS_HELP}```\n\n## 示例\n\n```sh\nls -a /tmp\nls -d */\n```\n")
    assert "| -d, --directory | 列出目录本身，而不是目录的内容 |" in cleaned.split("\n\n")
    assert "| --hide=模式 | 隐藏符合 shell <模式> 的项目（-a 或 -A 使此选项失效） |" in cleaned.split("\n\n")
    assert "```sh\nls -a /tmp\nls -d */\n```" in cleaned  # a script stays one code block
    listing = "```\n-rw-r--r--  1 root root  1024 1月  5 10:00 报告.txt\n-rw-r--r--  1 root root  2048 1月  5 10:00 总结.txt\n```"
    assert listing in clean_text(f"# 文件\n\n{listing}\n")  # a listing's file modes are no options
    coded = clean_text(f"# rm\n\n```\n{RM_HELP}```\n").split("\n\n")
    assert "| 2 | 表示严重问题（例如：无法使用命令行参数）。 |" in coded  # in help, a code with its meaning is an entry


def test_a_question_about_one_option_of_a_fenced_help_gets_that_option(tmp_path):
    settings = indexed(tmp_path, "coreutils-help.md", f"# 命令帮助\n\n## ls\n\n```text\n{LS_HELP}```\n\n"
                                                      f"## rm\n\n```text\n{RM_HELP}```\n")
    got = ask(settings, "rm 怎么删除空目录？")
    assert not got.abstained and "-d" in got.text and "删除空目录" in got.text, got.text
    assert "-f, --force" not in got.text, got.text  # the option asked, not the whole help
    got = ask(settings, "rm 退出状态是 2 的时候说明什么？")  # the code's entry, not a sentence that lacks it
    assert got.text.startswith("2：表示严重问题"), got.text
    got = ask(settings, "ls 能不能让文件夹都排在普通文件前面？用哪个选项？")
    assert "--group-directories-first" in got.text, got.text


def test_a_code_named_by_number_gets_its_entry_over_a_sentence_without_it():
    from rag.answering.preferences import named_entry_first
    from rag.question.analysis import analyse
    from tests.test_structured_answers import unit

    ranked = [unit("如果 <格式> 是 格式1<换行符>格式2 的话，则 <格式1> 将应用于较久远的文件。"),
              unit("0：表示正常，", kind="row"), unit("2：表示严重问题（例如：无法使用命令行参数）。", kind="row")]
    first = named_entry_first(analyse("ls 退出状态是 2 的时候说明什么？"), ranked)[0]
    assert first.text.startswith("2：表示严重问题")
    said = [unit("出错时退出状态为 2。"), *ranked[1:]]  # a sentence that says the code keeps its place
    assert named_entry_first(analyse("ls 退出状态是 2 的时候说明什么？"), said)[0].text == "出错时退出状态为 2。"
