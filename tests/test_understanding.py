"""Question understanding stages on real text: the figures table, several-fact questions, near-misses,
answer sentences and follow-ups that swap an ordinal. Fast: no model (a small fake embedder where
vectors are needed)."""

from __future__ import annotations

import numpy as np
import pytest

from rag.index.facts import FactTable, build, extract_facts
from rag.question.compare import split_asks, split_years
from rag.question.multifact import split_question
from rag.answering.nearmiss import describe, other_ordinal, subset_qualifier
from rag.answering.phrasing import sentence
from rag.question.analysis import analyse
from rag.question.followup import rewrite_follow_up
from rag.types import Chunk

TEXT_2023 = ("2023年，自治区政协微信公众号累计推送稿件1825条，阅读量达145万次。"
             "在全国政协干部培训中心举办第二期委员专题培训班，223名政协委员和机关干部参训。")
TEXT_2024 = "2024年，自治区政协共开展专题协商5次，收到86件重点督办提案，形成的18份协商报告全部得到党政领导批示。"


def _chunks():
    return [Chunk("a.txt", TEXT_2023, 0, len(TEXT_2023), 0), Chunk("b.txt", TEXT_2024, 0, len(TEXT_2024), 0)]


def test_figures_table_holds_number_unit_what_is_counted_and_year():
    facts = {(f.number, f.unit): f for f in extract_facts(_chunks())}
    posts = facts[("1825", "条")]
    assert posts.before.endswith("累计推送稿件") and posts.year == "2023" and posts.lead.startswith("2023年")
    assert TEXT_2023[posts.start : posts.end] == posts.clause
    assert facts[("86", "件")].after == "重点督办提案" and facts[("86", "件")].year == "2024"
    # ordinals and years are not figures
    assert not any(f.number in ("二", "2023", "2024") for f in facts.values())


def test_figures_table_round_trips_and_reuses_vectors(fake_embedder):
    table = build(_chunks(), fake_embedder)
    again = FactTable.from_bytes(table.to_bytes())
    assert [f.clause for f in again.facts] == [f.clause for f in table.facts]
    assert np.allclose(again.vectors, table.vectors)
    calls = fake_embedder.calls
    build(_chunks(), fake_embedder, previous=again)
    assert fake_embedder.calls == calls  # nothing new to embed


def test_index_saved_with_and_without_the_figures_file(tmp_path, settings, fake_embedder):
    from rag.index import faiss_files as store
    from rag.index.faiss_store import FaissView
    from rag.index.ingestion import ingest
    from rag.retrieval.hybrid import Retriever

    doc = tmp_path / "a.txt"
    doc.write_text(TEXT_2024, encoding="utf-8")
    ingest([doc], settings=settings, embedder=fake_embedder)
    data = store.load(settings.index_dir)
    assert "facts.npz" in data.extras
    data.extras.clear()  # an index written before the table existed
    table = Retriever(FaissView(data, settings.bm25_tokenizer), fake_embedder, settings).facts()
    assert any(f.number == "86" for f in table.facts)


@pytest.mark.parametrize("question, parts", [
    ("2023年政协公众号发了多少条稿件、被看了多少次，分别是多少？",
     ["2023年政协公众号发了多少条稿件？", "2023年政协公众号发了被看了多少次？"]),
    ("2024年协商报告和提案各有多少？", ["2024年协商报告有多少？", "2024年提案有多少？"]),
    ("In 2024, how many key proposals and how many consultation reports were there?",
     ["In 2024, how many key proposals?", "how many consultation reports were there in 2024?"]),
    ("2024年形成了多少份协商报告？", ["2024年形成了多少份协商报告？"]),
])
def test_several_facts_are_split_into_one_question_each(question, parts):
    assert split_question(question) == parts


def test_a_subset_is_a_near_miss_unless_the_question_names_it():
    total = analyse("2024年自治区政协共收到多少件提案？")
    assert subset_qualifier(total, "收到86件重点督办提案") == "重点督办"
    reason, related = describe(total, "收到86件重点督办提案", TEXT_2024)
    assert "提案" in reason and related
    assert subset_qualifier(analyse("2024年有多少件重点督办提案？"), "收到86件重点督办提案") is None


def test_another_ordinal_is_a_near_miss():
    info = analyse("第三期委员专题培训班有多少人参训？")
    assert other_ordinal(info, TEXT_2023) == "第三期"
    assert other_ordinal(analyse("第二期委员专题培训班有多少人参训？"), TEXT_2023) is None


def test_answer_restates_the_question_only_when_the_passage_backs_every_number():
    info = analyse("2024年自治区政协形成了多少份协商报告？")
    assert sentence(info, "形成的18份协商报告全部得到党政领导批示", TEXT_2024, "[1]") == "2024年自治区政协形成了18份协商报告[1]。"
    # 2025 is not in the passage: the evidence is quoted instead of a restatement it does not back
    info = analyse("2025年自治区政协形成了多少份协商报告？")
    assert sentence(info, "形成的18份协商报告全部得到党政领导批示", TEXT_2024, "[1]").startswith("形成的18份")
    # nor when a word of the question is not in it: "曼谷办事处有14名员工" would say what only the question says
    office = "海外方面，胡志明市办事处于2024年5月开业，目前有员工14人。"
    info = analyse("澄湖智联曼谷办事处有多少名员工？")
    assert sentence(info, "目前有员工14人", office, "[1]") == "目前有员工14人[1]。"


def test_answer_says_the_figure_with_the_documents_measure_word():
    # asked with 份/篇, answered in the words of the cited sentence, so the answer agrees with its quote
    info = analyse("2024年自治区政协形成了多少篇协商报告？")
    assert sentence(info, "形成的18份协商报告全部得到党政领导批示", TEXT_2024, "[1]") == "2024年自治区政协形成了18份协商报告[1]。"
    info = analyse("2024年自治区政协收到多少份重点督办提案？")
    assert sentence(info, "收到86件重点督办提案", TEXT_2024, "[1]") == "2024年自治区政协收到86件重点督办提案[1]。"


def test_follow_up_that_names_another_ordinal_swaps_it():
    history = [{"role": "user", "content": "2023年第一期委员专题培训班有多少人参训？"}]
    assert rewrite_follow_up("第二期呢？", history) == "2023年第二期委员专题培训班有多少人参训？"


def test_corpus_common_words_are_not_content_terms():
    common = {"政协", "治区", "自治"}.__contains__
    info = analyse("2024年自治区政协形成了多少份协商报告？", common=common)
    assert {"协商", "报告"} <= set(info.terms) and "自治区" not in info.terms and "政协" not in info.terms


@pytest.mark.parametrize("question, focus", [
    ("2024年政协委员外出实地察看的活动一共搞了几回？", "活动"),  # counted thing before "几回"
    ("《内蒙古文史资料》2023年出了几本？", "文史资料"),  # title marks and the verb are not the thing
    ("2023年有多少年轻人被请去旁听常委会？", "年轻人"),  # "多少年" is not a measure of years here
    ("2024年初派出了几支队伍？", "队伍"),
    ("2024年形成了多少份协商报告？", "协商报告"),
])
def test_count_questions_with_any_measure_word_find_what_is_counted(question, focus):
    info = analyse(question)
    assert info.kind == "count" and info.focus == focus
    assert not any(t.startswith(("几", "多少")) for t in info.terms)


def test_which_two_asks_for_a_list_and_states_no_figure():
    info = analyse("2023年自治区政协推行了哪两项委员管理制度？")
    assert info.kind == "list" and info.numbers == ()
    assert "哪儿" not in analyse("第二期培训班是在哪儿办的？").terms


def test_a_rank_question_counts_nothing_and_deictic_words_are_not_looked_up():
    info = analyse("政协的新闻在那个排行里最好排到了第几？")
    assert info.focus == "" and info.kind != "count"
    assert not {"那个", "一次"} & set(analyse("那个排行里最好的一次排到了第几？").terms)


@pytest.mark.parametrize("question, event", [
    ("《框架协议》是哪一天签署的？", "签署"),
    ("第一期培训班大概是什么时候办的？", "办"),
    ("该机制是哪一年首次建立的？", "建立"),
    ("两次活动分别是在哪一天于常委会议厅举行的？", ""),
])
def test_a_when_question_names_the_event_it_dates(question, event):
    from rag.question.analysis import date_predicate

    assert date_predicate(question) == event


def test_how_many_people_looks_for_what_they_did_not_for_the_word_people():
    info = analyse("How many people attended the second training course in May 2023?")
    assert info.kind == "count" and info.focus == ""
    assert analyse("How many consultation reports were formed in 2024?").focus != ""


def test_an_ordinal_is_looked_up_whatever_counter_follows_it():
    from rag.question.analysis import content_terms

    assert "第二" in content_terms("第二回委员集中学习是在哪儿办的？")
    assert "第三" in content_terms("第三期培训班有多少人参加？")


def test_quoted_names_are_what_the_evidence_must_be_about():
    from rag.question.analysis import quoted_names

    assert quoted_names("“京蒙协作 政协助力”工作是什么时候入选的？") == ["京蒙协作 政协助力"]
    assert quoted_names("《内蒙古文史资料》出了几本？") == ["内蒙古文史资料"]
    assert quoted_names('What does "AI" mean?') == []


def test_two_years_side_by_side_become_one_question_per_year():
    assert split_years("2023年和2024年自治区政协增开的专题议政性常委会会议分别围绕什么主题？") == [
        ("2023年", "2023年自治区政协增开的专题议政性常委会会议围绕什么主题？"),
        ("2024年", "2024年自治区政协增开的专题议政性常委会会议围绕什么主题？"),
    ]
    assert split_years("2024年形成了多少份协商报告？") == []
    assert split_years("2023年和2024年哪一年形成的协商报告更多？") == []  # one answer about both years


def test_two_questions_in_one_are_asked_apart_and_the_pronoun_names_the_subject():
    assert split_asks("“政协+法院”民商事纠纷多元化解机制是哪一年首次建立的？2024年自治区政协又围绕它做了什么？") == [
        "“政协+法院”民商事纠纷多元化解机制是哪一年首次建立的？",
        "2024年自治区政协又围绕“政协+法院”民商事纠纷多元化解机制做了什么？",
    ]
    assert split_asks("2024年形成了多少份协商报告？") == []


ELEVATOR = ("电梯投入使用后，由所在区按每台每年3000元给予运行维护补贴，连续补贴5年。"
            "鼓励使用管理单位为加装电梯投保电梯安全责任保险，所在区可按每台每年500元给予保费补助。")
CUSTOMERS = ("报告期内，公司前五名客户合计销售额3.42亿元，占年度销售总额的26.6%；"
             "前五名供应商合计采购额2.16亿元，占年度采购总额的31.4%。")


def _extract(question: str, text: str):
    from rag.answering.extractive import extract
    from rag.types import Passage

    passage = Passage(Chunk("notice.txt", text, 0, len(text), 0), score=1.0, rank=1)
    return extract(analyse(question), [passage])


def test_a_later_part_that_repeats_the_verb_does_not_inherit_it():
    assert split_question("电梯装好以后每年还能领多少维护钱，一共能领几年？") == [
        "电梯装好以后每年还能领多少维护钱？", "电梯装好以后每年一共能领几年？"]


def test_a_number_of_years_answers_a_how_many_years_question():
    hit = _extract("电梯的运行维护补贴一共能领几年？", ELEVATOR)
    assert hit is not None and "5年" in hit.answer and "3000" not in hit.answer


def test_a_share_question_is_answered_by_a_percentage():
    hit = _extract("前五名客户的销售额占年度销售总额的比例是多少？", CUSTOMERS)
    assert hit is not None and "26.6%" in hit.answer


def test_a_share_of_another_whole_does_not_answer():
    staff = "截至2024年12月31日，公司员工总数1846人，其中研发人员612人，占员工总数的33.2%。"
    assert _extract("研发投入占营收的比例是多少？", staff) is None


def test_a_year_by_year_question_keeps_words_that_merely_start_with_each():
    assert split_years("2023年和2024年各类协商会议各开了几次？") == [
        ("2023年", "2023年各类协商会议开了几次？"), ("2024年", "2024年各类协商会议开了几次？")]


@pytest.mark.parametrize("previous, follow_up, standalone", [
    ("stable/main 目录里放的是什么软件包？", "那 contrib 目录呢？", "contrib 目录里放的是什么软件包？"),
    ("车辆购置税的税率是多少？", "那它是一次性交的吗？", "车辆购置税是一次性交的吗？"),
    ("网上买的东西几天内可以无理由退货？", "那商家收到退货以后多久要退款？", "商家收到退货以后多久要退款？"),
    ("sudo 是做什么用的？", "用它的时候需要输入谁的密码？", "用sudo的时候需要输入谁的密码？"),
])
def test_a_follow_up_becomes_one_question_never_two_spliced(previous, follow_up, standalone):
    history = [{"role": "user", "content": previous}, {"role": "assistant", "content": "……"}]
    assert rewrite_follow_up(follow_up, history) == standalone


@pytest.mark.parametrize("question, parts", [
    ("man 的退出状态 1、2、3 分别表示什么？",
     [("1", "man 的退出状态 1 表示什么？"), ("2", "man 的退出状态 2 表示什么？"), ("3", "man 的退出状态 3 表示什么？")]),
    ("KiCad 的设置文件夹在 Windows 和 macOS 上分别在什么位置？",
     [("Windows", "KiCad 的设置文件夹在 Windows 上在什么位置？"), ("macOS", "KiCad 的设置文件夹在 macOS 上在什么位置？")]),
    ("选项里“仅限第 1 页”和“不在第 1 页上”各是什么效果？",
     [("仅限第 1 页", "选项里“仅限第 1 页”是什么效果？"), ("不在第 1 页上", "选项里“不在第 1 页上”是什么效果？")]),
    ("$MANPATH 以冒号开头、以冒号结尾时，默认路径分别加到哪里？",
     [("以冒号开头", "$MANPATH 以冒号开头时，默认路径加到哪里？"), ("以冒号结尾", "$MANPATH 以冒号结尾时，默认路径加到哪里？")]),
    ("打包用的三个分支分别叫什么？", []),  # nothing set side by side: one question
    ("2023年政协公众号发了多少条稿件、被看了多少次，分别是多少？", []),  # the parts are asks, not items
])
def test_items_set_side_by_side_are_asked_one_by_one(question, parts):
    from rag.question.multifact import split_items

    assert split_items(question) == parts


def test_a_second_question_after_you_leans_on_the_first_ones_subject():
    assert split_question("献血法是哪天公布的，又是哪天开始施行的？") == ["献血法是哪天公布的？", "献血法是哪天开始施行的？"]


@pytest.mark.parametrize("previous, question, standalone", [
    ("man 的 -P 选项是做什么的？", "那它的默认值是多少？", "-P 选项的默认值是多少？"),
    ("怎么重建 mandb 的数据库？", "还有别的办法吗？", "重建 mandb 的数据库还有别的办法吗？"),
    ("消费者投诉以后部门会处理吗？", "要多久？", "消费者投诉以后部门会处理，要多久？"),
    ("KiCad 在 Linux 上把设置文件存在哪个目录？", "那 Windows 上呢？", "KiCad 在 Windows 上把设置文件存在哪个目录？"),
    ("这本手册的中文版是哪年出的？", "英文版呢？", "这本手册的英文版是哪年出的？"),
    ("What is the codename of the stable release?", "What about the testing release?",
     "What is the codename of the testing release?"),
])
def test_a_short_follow_up_is_made_one_standalone_question(previous, question, standalone):
    history = [{"role": "user", "content": previous}, {"role": "assistant", "content": "……"}]
    assert rewrite_follow_up(question, history) == standalone


@pytest.mark.parametrize("previous, question, standalone", [
    ("层管理器里左键点一个层会怎样？", "那右键点呢？", "层管理器里右键点一个层会怎样？"),
    ("stable/main 目录里放的是什么？", "那 contrib 目录呢？", "contrib 目录里放的是什么？"),
])
def test_a_follow_up_takes_the_place_of_the_like_phrase(previous, question, standalone):
    history = [{"role": "user", "content": previous}, {"role": "assistant", "content": "……"}]
    assert rewrite_follow_up(question, history) == standalone


@pytest.mark.parametrize("question, asked, aside", [
    ("除了 dists 和 pool，镜像站上还有哪些辅助目录？", "镜像站上还有哪些辅助目录？", ("dists", "pool")),
    ("除了原理图编辑器以外，KiCad 还带有哪些工具？", "KiCad 还带有哪些工具？", ("原理图编辑器",)),
    ("Besides Eagle and Altium, which other EDA tools can KiCad import from?",
     "Which other EDA tools can KiCad import from?", ("Eagle", "Altium")),
    ("除了 -c、-t，mandb 还有什么选项？", "mandb 还有什么选项？", ("-c", "-t")),
    ("除非设置了 MANPATH，还会在哪里查找？", "除非设置了 MANPATH，还会在哪里查找？", ()),  # 除非 is "unless"
    ("除了这个还有吗？", "除了这个还有吗？", ()),  # nothing would be left to ask
])
def test_what_a_what_else_question_sets_aside_is_not_searched_for(question, asked, aside):
    from rag.question.besides import set_aside

    assert set_aside(question) == (asked, aside)


@pytest.mark.parametrize("question, several", [
    ("Which two EDA tools can KiCad import from?", True),
    ("List the main Debian releases.", True),
    ("KiCad 能从哪两种其他 EDA 工具导入工程？", True),
    ("What is the default section order?", False),
    ("Which file holds the settings?", False),
])
def test_an_english_question_asking_for_several_things_is_a_list_question(question, several):
    from rag.question.analysis import question_kind
    from rag.question.multifact import asks_several

    assert asks_several(question) is several
    assert (question_kind(question) == "list") is several


def test_the_clause_giving_a_figure_in_the_measure_word_asked_answers():
    from rag.answering.figures import best_clause, quantities

    info = analyse("政协领导班子成员亲自讲课的那次委员集中学习，有多少人听课？")
    said = "首次由8位自治区政协主席会议成员作专题辅导,主导主题鲜明,全区三级政协委员和机关干部2万多人参训。"
    assert best_clause(info, said, lambda c: bool(quantities(c, ()))) == "全区三级政协委员和机关干部2万多人参训"
    # a figure the question states itself is not the one it asks for
    info = analyse("“六个倍增”计划推动内蒙古西部几个盟市与北京建立了合作关系？")
    said = "“六个倍增”计划结出丰硕成果,推动内蒙古西部四盟市与北京相关地区建立合作关系。"
    assert best_clause(info, said, lambda c: bool(quantities(c, ()))) == "推动内蒙古西部四盟市与北京相关地区建立合作关系"


def test_a_version_after_a_name_is_part_of_the_name_not_a_figure_the_evidence_must_state():
    from rag.question.analysis import stated_numbers

    assert stated_numbers("为什么说 KiCad 6.0 的新工程文件格式更方便配合版本控制？") == ()
    assert stated_numbers("退出状态 2 是什么意思？") == (2.0,)
    assert stated_numbers("税率提高到 10.5 了吗？") == (10.5,)


@pytest.mark.parametrize("previous, question, standalone", [
    # the new action takes the place of the action a key was asked for
    ("GIMP 里新建图像的快捷键是什么？", "那退出程序呢？", "GIMP 里退出程序的快捷键是什么？"),
    # a follow-up that only names another version asks the same of that version
    ("GIMP 0.54 的界面工具箱是基于什么做的？", "那到了 0.60 版换成什么了？", "GIMP 0.60 的界面工具箱是基于什么做的？"),
    ("GIMP 2.2 是哪年发布的？", "那2.4呢？", "GIMP 2.4 是哪年发布的？"),
])
def test_a_follow_up_asks_the_earlier_question_of_its_new_thing(previous, question, standalone):
    history = [{"role": "user", "content": previous}, {"role": "assistant", "content": "……"}]
    assert rewrite_follow_up(question, history) == standalone


def test_a_short_follow_up_about_a_role_takes_the_place_of_the_role_asked():
    history = [{"role": "user", "content": "自治区政协的秘书长是谁？"}, {"role": "assistant", "content": "……"}]
    assert rewrite_follow_up("那主席呢？", history) == "自治区政协的主席是谁？"


@pytest.mark.parametrize("question, kind", [
    ("为什么在公式里直接写 07/20/54 这种日期，算出来经常不对？", "other"),  # a reason, though it names a date
    ("为什么2024年的提案比往年多？", "other"),
    ("这份合同的签署日期是哪天？", "date"),
    ("证书的到期日期是什么？", "date"),
    ("这个函数返回的日期格式能改吗？", "other"),  # names dates, asks whether
])
def test_a_question_naming_dates_asks_a_date_only_when_it_asks_for_one(question, kind):
    from rag.question.analysis import question_kind

    assert question_kind(question) == kind


@pytest.mark.parametrize("question, years, numbers", [
    ("用这个函数算 2016年12月15日到2017年1月14日的工作日，结果是几天？", (), ()),  # one span, not two years
    ("从2016-12-15到2017-01-14有几个工作日？", (), ()),
    ("这人到 2012-06-13 一共活了多少天？", ("2012",), ()),  # a day: its month and day are no figures
    ("2023年和2024年各形成多少份报告？", ("2023", "2024"), ()),
    ("2020年到2024年一共多少件？", ("2020", "2024"), ()),
    ("退出状态 16 是什么意思？", (), (16.0,)),
])
def test_the_days_a_question_names_are_neither_compared_years_nor_figures(question, years, numbers):
    from rag.question.analysis import analyse

    info = analyse(question)
    assert info.years == years and info.numbers == numbers


@pytest.mark.parametrize("question, searched", [
    ("cnchar 能不能把大陆的简化字换成港台那种写法？调哪个方法？", "cnchar 能不能把大陆的简化字换成港台那种写法？"),
    ("ls 能不能让文件夹排在前面？用哪个开关？", "ls 能不能让文件夹排在前面？"),
    ("用 apt 装软件时下载的 .deb 本地会留一份吗？放在哪个目录？", None),  # two things asked: both are answered
    ("cnchar 能不能把简化字换成繁体？", None),
])
def test_a_second_question_that_only_asks_which_way_is_not_searched_for(question, searched):
    from rag.question.compare import narrowed, split_asks

    assert narrowed(question) == searched
    if searched:
        assert split_asks(question) == []  # one question, answered once
