"""Answers from rules and regulations (and an anthology's pages), with the real model: a case of a list under its
lead-in, a deadline in days, a figure a question states in English words, a document's own title, a rate in a
table's header, a paragraph's label, an author given as a field, a state named without its 国; and the question
wording these need."""

from __future__ import annotations

import pytest

from rag.question.answer_type import answer_type
from rag.question.compare import split_asks
from rag.text.numbers import extract_numbers
from tests.test_structured_answers import ask, indexed_all

MEASURES = """# 设备采购评审管理办法

**第一条** 为规范设备采购评审活动，制定本办法。

**第二条** 评审小组由采购人代表和评审专家组成，成员人数应当为5人以上单数，其中评审专家不得少于成员总数的三分之二。

采购项目符合下列情形之一的，评审小组成员人数应当为7人以上单数：

（一）采购预算金额在1000万元以上；

（二）技术复杂；

（三）社会影响较大。

**第三条** 评审专家存在以下情形之一的，主管部门应当将其解聘：

（一）不符合本办法规定的条件；

（二）本人申请不再担任评审专家；

（三）受到刑事处罚。

**第四条** 对于满足合同约定支付条件的，采购人应当自收到发票后30日内将资金支付到供应商账户，不得以机构变动、人员更替等为由延迟付款。

**第五条** 本办法自2017年1月1日起施行。2003年11月17日发布的《设备采购评审暂行办法》（财库〔2003〕119号）同时废止。
"""

NOTICE = """# 关于促进采购公平竞争的通知

四、推进采购意向公开。自2020年起，选择部分中央部门和地方开展公开采购意向试点，逐步实现各级预算单位采购意向公开。

五、完善对供应商的利益损害赔偿和补偿机制。
"""

ANTHOLOGY = """# 古文选 卷四

## 冯谖客孟尝君

出处: 《战国策》
作者: 先秦：佚名

齐人有冯谖者，贫乏不能自存，使人属孟尝君，愿寄食门下。孟尝君曰：“客何好？”曰：“客无好也。”

## 烛之武退秦师

出处: 《左传》
作者: 先秦：左丘明

晋侯、秦伯围郑，以其无礼于晋，且贰于楚也。夜缒而出，见秦伯。
"""

TOOL = """# 数字转换工具

## 性能测试

- 测试结果：

| 序号 | 功能 | 执行次数 | 执行时间(万次平均) | 性能(次/秒) |
|:--:|:--:|:--:|:--:|:--:|
| 1 | an2cn | 10000 | 0.15 | 67k |
| 2 | cn2an | 10000 | 0.35 | 29k |

## 自动保存

**自动保存时创建备份：** 启用后，每次自动保存文件时都会创建备份 (如果下面的设置允许备份)。 如果自动保存间隔设置为 `0` (禁用)，则此设置无效。

**自动保存间隔：** 自动保存的间隔分钟数，设置为 0 即禁用自动保存。

**要保留的最大备份数：** 创建新备份时，将删除最旧的备份文件。
"""


@pytest.fixture(scope="module")
def rules(tmp_path_factory):
    return indexed_all(tmp_path_factory.mktemp("rules"), {"measures.md": MEASURES, "notice.md": NOTICE,
                                                                    "anthology.md": ANTHOLOGY, "tool.md": TOOL})


def test_a_case_of_a_list_is_answered_with_what_its_lead_in_says_of_every_case(rules):
    got = ask(rules, "评审专家要是受了刑事处罚，还能继续当评审专家吗？")
    assert not got.abstained and "解聘" in got.text and "(三)受到刑事处罚" in got.text.replace("（", "(").replace(
        "）", ")"), got.text


def test_a_figure_stated_in_english_words_is_matched_and_the_answer_is_the_lead_in_s(rules):
    got = ask(rules, "For a procurement whose budget is 10 million yuan or more, how many members must the "
                     "review panel have at least?")
    assert not got.abstained and "7人以上单数" in got.text and "1000万元以上" in got.text, got.text


def test_a_deadline_asked_in_tian_is_answered_by_the_days_the_text_counts_in_ri(rules):
    got = ask(rules, "采购人收到发票后，最晚多少天内要付款？")
    assert not got.abstained and "30日内" in got.text, got.text


def test_the_title_of_the_document_stands_for_this_document_and_a_second_ask_keeps_its_subject(rules):
    got = ask(rules, "现行的《设备采购评审管理办法》从什么时候开始施行？它废止的旧办法文号是什么？")
    assert "2017年1月1日" in got.text and "119号" in got.text, got.text


def test_a_rate_is_taken_from_the_column_that_states_it_per_second(rules):
    got = ask(rules, "性能测试里，cn2an 这个功能每秒能执行多少次？")
    assert "29k" in got.text and "10000" not in got.text, got.text


def test_every_sentence_of_a_labelled_paragraph_stands_under_its_label(rules):
    got = ask(rules, "自动保存关掉以后，“自动保存时创建备份”还管用吗？")
    assert "此设置无效" in got.text, got.text


def test_which_ones_are_not_answered_by_a_sentence_that_only_says_some(rules):
    got = ask(rules, "公开采购意向的试点选了哪几个中央部门？")
    assert got.abstained and "部分中央部门" in got.text and "没有列出" in got.text, got.text


def test_who_wrote_a_piece_is_the_author_field_under_its_title_whoever_it_names(rules):
    got = ask(rules, "《冯谖客孟尝君》的作者是谁？")
    assert not got.abstained and "佚名" in got.text, got.text


def test_a_state_asked_with_its_guo_is_said_by_the_text_s_one_character_name(rules):
    got = ask(rules, "晋侯和秦伯为什么要围攻郑国？")
    assert not got.abstained and "无礼于晋" in got.text, got.text


@pytest.mark.parametrize("question, kind", [
    ("这个库能判断哪些年份的节假日？", "date"),
    ("From what date do the measures take effect?", "date"),
    ("《评审专家管理办法》废止的旧办法文号是什么？", "definition"),
    ("有什么办法让它快一点？", "procedure"),
])
def test_what_a_question_asks_for(question, kind):
    assert answer_type(question) == kind


def test_numbers_written_with_english_multipliers():
    assert [n.value for n in extract_numbers("a budget of 10 million yuan, 3.5 billion and 2 thousand")] == \
        [10_000_000, 3_500_000_000, 2000]


def test_a_second_ask_is_about_what_the_first_opens_with_or_the_name_it_quotes():
    assert split_asks("评标委员会最少要几个人？里面评审专家至少得占多大比例？")[1] == "评标委员会里面评审专家至少得占多大比例？"
    assert split_asks("《办法》从什么时候开始施行？它废止的文号是什么？")[1] == "《办法》废止的文号是什么？"
