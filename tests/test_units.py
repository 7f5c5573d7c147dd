"""Answer units follow the document's structure: sentences, table rows with their header, list items, fields,
code blocks and commands, option and definition entries; headings become context."""

from __future__ import annotations

from rag.documents.cleaning import clean_text
from rag.documents.units import display, plain, split_units
from rag.index.unit_table import build
from rag.types import Chunk
from tests.fakes import FakeEmbedder

MANUAL = """# 第 3 章 安装

## 3.1 硬件要求

安装前请确认机器满足下表。

| 项目 | 最低 | 推荐 |
|---|---|---|
| 内存 | 512 MB | 2 GB |
| 硬盘 | 4 GB | 10 GB |

## 3.2 步骤

按以下步骤安装：

1. 下载安装镜像。
2. 写入 U 盘。
3. 从 U 盘启动。

然后在终端中执行：

```
$ sudo apt install foo
$ foo --init
```

版本: 2.1
维护者: 张三

-v, --verbose
    输出更多信息。默认关闭。

因为旧版本不再维护，所以建议升级。
"""


def _units(text: str):
    cleaned = clean_text(text)
    return cleaned, split_units(cleaned)


def test_each_structure_is_a_unit_of_its_kind():
    text, units = _units(MANUAL)
    kinds = [(u.kind, plain(text[u.start:u.end])) for u in units]
    assert ("sentence", "安装前请确认机器满足下表。") in kinds
    assert ("item", "1. 下载安装镜像。") in kinds and ("item", "3. 从 U 盘启动。") in kinds
    assert ("field", "版本: 2.1") in kinds and ("field", "维护者: 张三") in kinds
    code = [t for k, t in kinds if k == "code"]
    assert code == ["$ sudo apt install foo\n$ foo --init"]
    option = [t for k, t in kinds if k == "option"]
    assert option and option[0].startswith("-v, --verbose") and "输出更多信息" in option[0]
    assert ("sentence", "因为旧版本不再维护，所以建议升级。") in kinds
    assert not any(k == "heading" for k, _ in kinds)  # headings are context, not answers


def test_a_table_row_carries_its_header_and_its_heading():
    text, units = _units(MANUAL)
    rows = [u for u in units if u.kind == "row"]
    assert len(rows) == 2  # the header and the separator are not answers
    assert display(text, rows[0]) == "项目：内存；最低：512 MB；推荐：2 GB"
    assert rows[0].context.startswith("第 3 章 安装 › 3.1 硬件要求")


def test_headings_give_context_and_a_code_block_survives_cleaning():
    text, units = _units(MANUAL)
    item = next(u for u in units if u.kind == "item")
    assert item.context == "第 3 章 安装 › 3.2 步骤 › 按以下步骤安装："  # its headings, then the sentence leading into the list
    assert "```\n$ sudo apt install foo\n$ foo --init\n```" in text


def test_units_are_spans_of_the_text_and_news_prose_stays_sentences():
    text, units = _units("2024年，自治区政协形成了18份协商报告。会议共收到提案1000件！\n\n图为会场。")
    assert [plain(text[u.start:u.end]) for u in units] == ["2024年，自治区政协形成了18份协商报告。", "会议共收到提案1000件！",
                                                          "图为会场。"]
    assert all(u.kind == "sentence" for u in units)


def test_the_unit_table_maps_units_to_chunks_and_reuses_vectors():
    text, _ = _units(MANUAL)
    half = len(text) // 2
    chunks = [Chunk("m.md", text[:half + 40], 0, half + 40, 0, doc_id="d"),
              Chunk("m.md", text[half - 40:], half - 40, len(text), 1, doc_id="d")]
    embedder = FakeEmbedder()
    table = build(chunks, embedder)
    assert len(table) == len(split_units(text)) and table.vectors.shape == (len(table), embedder.dim)
    first, second = table.within(chunks[0]), table.within(chunks[1])
    assert set(first) | set(second) == set(range(len(table)))
    calls = embedder.calls
    again = build(chunks, embedder, previous=table)
    assert embedder.calls == calls and (again.vectors == table.vectors).all()
    restored = type(table).from_bytes(table.to_bytes())
    assert restored.texts == table.texts and (restored.vectors == table.vectors).all()


MAN_PAGE = """# 退出状态

**0**  
程序成功执行。

**16**  
至少有一个页面不存在或不匹配。

# 消息

| 英文 | 中文 |
|---|---|
| next: [ view \\| skip (Ctrl-D) ] | 下一页: [ 查看 \\| 跳过 (Ctrl-D) ] |

将 *bash* 的手册页送至打印机：**man -t** *bash* \\| lpr
"""


def test_a_bold_term_line_and_its_description_are_one_definition_entry():
    text, units = _units(MAN_PAGE)
    entries = [display(text, u) for u in units if u.kind == "option"]
    assert "16：至少有一个页面不存在或不匹配。" in entries
    assert "0：程序成功执行。" in entries


def test_a_bold_command_with_an_italic_argument_is_an_entry_not_a_heading():
    page = ("## 示例\n\n**tool -t ***page *\\|* lpr -Pps*  \n把 page 排版后送到名为 ps 的打印机，这样在打印之前就不必先把排版结果"
            "存成文件。默认输出是 PostScript。\n\n**-M ***路径*, **--path=***路径*\n\n指定要搜索的路径。\n")
    text, units = _units(page)
    entries = [display(text, u) for u in units if u.kind == "option"]
    assert any(e.startswith("tool -t *page | lpr -Pps：把 page 排版后送到名为 ps 的打印机") for e in entries), entries
    assert any(e.startswith("-M 路径, --path=路径：指定要搜索的路径") for e in entries), entries


def test_an_escaped_pipe_stays_inside_its_cell_and_markdown_escapes_are_not_shown():
    text, units = _units(MAN_PAGE)
    row = next(u for u in units if u.kind == "row")
    assert display(text, row) == "英文：next: [ view | skip (Ctrl-D) ]；中文：下一页: [ 查看 | 跳过 (Ctrl-D) ]"
    last = next(u for u in units if "打印机" in text[u.start:u.end])
    assert display(text, last) == "将 bash 的手册页送至打印机：man -t bash | lpr"


def test_what_a_link_split_across_sentences_leaves_is_not_shown():
    text, units = _units('请阅读[第 6.1 节 “有多少种发布版本？”](faq.html#dists "6.1. 有多少种发布版本？")以获得更多信息。\n')
    shown = [display(text, u) for u in units]
    assert all("](" not in s and "faq.html" not in s for s in shown)
    assert any("以获得更多信息" in s for s in shown)


def test_a_subject_field_titles_the_entry_below_it_until_the_next_entry():
    text, units = _units("# 目录\n\n-- 0a1b\nSubject: 磁盘已满\nDefined-By: demo\n\n日志停止写入。\n\n-- 2c3d\nSubject: 时钟已更改\n\n"
                         "定时器可能提前触发。\n")
    contexts = {display(text, u): u.context for u in units}
    assert contexts["日志停止写入。"].endswith("磁盘已满") and contexts["Defined-By: demo"].endswith("磁盘已满")
    assert contexts["定时器可能提前触发。"].endswith("时钟已更改")


def test_a_units_text_is_worked_out_once_per_table_and_only_the_units_used_last_are_kept():
    from rag.answering.unit_texts import UnitTexts, unit_texts
    from rag.text.numbers import extract_numbers
    from rag.text.tokens import YEAR_IN_TEXT, bigrams

    text, _ = _units(MANUAL + "\n2024年共收到提案1000件。\n")
    table = build([Chunk("m.md", text, 0, len(text), 0, doc_id="d")], FakeEmbedder())
    texts = unit_texts(table)
    assert unit_texts(table) is texts
    for row in range(len(table)):
        context, said = table.contexts[row], table.texts[row]
        unit = texts.of(row, context, said)
        full = f"{context} {said}"
        assert unit.grams == set(bigrams(full)) and unit.text_grams == set(bigrams(said))
        assert unit.lowered == full.lower() and unit.years == set(YEAR_IN_TEXT.findall(full))
        assert unit.numbers == tuple(n.text for n in extract_numbers(said))
        assert texts.of(row, context, said) is unit
    assert texts.of(0, table.contexts[0], "另一句话，2023年。").years == {"2023"}  # not the row's text: not kept
    assert texts.of(0, table.contexts[0], table.texts[0]).text == table.texts[0]
    few = UnitTexts(table, keep=2)
    units = [few.of(row, table.contexts[row], table.texts[row]) for row in range(3)]
    assert few.of(2, table.contexts[2], table.texts[2]) is units[2]
    assert few.of(0, table.contexts[0], table.texts[0]) is not units[0]  # the oldest went first


def test_a_quoted_exclamation_mark_does_not_end_the_sentence():
    text = "此选项在密码开头添加一个“!”，使它无法匹配。它不会禁用账户！下一句。"
    assert [text[u.start:u.end] for u in split_units(text)] == ["此选项在密码开头添加一个“!”，使它无法匹配。", "它不会禁用账户！",
                                                                 "下一句。"]


def test_an_answer_cut_from_a_unit_keeps_the_quotes_and_brackets_it_opens():
    from rag.text.tokens import trim

    assert trim("此选项来禁用(它在密码开头添加一个“!”)。") == "此选项来禁用(它在密码开头添加一个“!”)"
    assert trim("“先到先得”。") == "先到先得" and trim("-t, --test：测试。") == "-t, --test：测试"


def test_a_formula_s_semicolons_end_no_sentence():
    text = ("将日期作为公式一部分输入时，日期分隔符会被理解为算术运算符。请使用 DATE 函数，例如「DATE(1954;7;20)」"
            "或将日期放在引号内。「=NETWORKDAYS.INTL(C3;D3;;F3:J3)」返回 21 个工作日。"
            "Use commas; or not! 当 a!=b 时返回 1。")
    said = [text[u.start:u.end] for u in split_units(text)]
    assert "请使用 DATE 函数，例如「DATE(1954;7;20)」或将日期放在引号内。" in said
    assert "当 a!=b 时返回 1。" in said
    assert "「=NETWORKDAYS.INTL(C3;D3;;F3:J3)」返回 21 个工作日。" in said
    assert "Use commas;" in said  # a Latin one before a space still ends a clause


def test_a_figure_s_clause_keeps_the_formula_and_the_number_it_is_part_of():
    import re

    from rag.answering.figures import best_clause
    from rag.question.analysis import analyse

    sentence = "「=NETWORKDAYS.INTL(C3;D3;「0000001」;F3:J3)」返回 24 个工作日, 只有周日单休。"
    clause = best_clause(analyse("这个公式返回多少个工作日？"), sentence, lambda c: bool(re.search(r"\d", c)))
    assert clause == "「=NETWORKDAYS.INTL(C3;D3;「0000001」;F3:J3)」返回 24 个工作日"
    said = best_clause(analyse("一共多少人？"), "今年共有 2,000 人参加,其中男性 1,200 人。", lambda c: "人" in c)
    assert "2,000" in said


def test_an_api_heading_and_the_paragraph_under_it_are_one_entry():
    text = ("# Dialog\n\n## 静态方法\n\n##### Dialog.closeAll()\n\n静态方法关闭所有动态创建的全局Dialog。另一句。\n\n"
            "##### Dialog.open()\n\n##### 8.2.4. 以 ADSL 链接\n\n正文。\n")
    shown = [(u.kind, display(text, u)) for u in split_units(text)]
    assert ("option", "Dialog.closeAll()：静态方法关闭所有动态创建的全局Dialog。") in shown
    assert not any("Dialog.open()" in s for _, s in shown)  # no paragraph describes it: no entry
    assert not any(k == "option" and "ADSL" in s for k, s in shown)  # a numbered title is no API's name


def test_a_cell_that_only_says_it_is_empty_is_shown_as_nothing():
    text = clean_text("# Props\n\n|属性 | 说明 | 默认值|备注|\n|----|-----|------|------|\n"
                      "| closable | 是否显示关闭按钮 | `true`|-|\n| title | 窗口标题 | -|-|\n")
    shown = [display(text, u) for u in split_units(text) if u.kind == "row"]
    assert shown == ["属性：closable；说明：是否显示关闭按钮；默认值：true", "属性：title；说明：窗口标题"]
