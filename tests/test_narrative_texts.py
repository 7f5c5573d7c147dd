"""Answers from narrative text, with the real model: history and a life story (years before 1900, centuries, a
year told by the one before it, a life's span in brackets, "他" for the person the text is about), a report's
table (a figure with the row it is of, a year in the table's header) and a news report that never names its year
("今年以来……" for a "今年" question); and the pieces these need."""

from __future__ import annotations

import pytest

from rag.answering.persons import pronoun_referent
from rag.question import units
from rag.question.analysis import analyse
from rag.question.time import relative_word, says_other_relative, undated_relative
from rag.text.numbers import extract_numbers
from rag.text.tokens import WHEN
from tests.test_structured_answers import ask, indexed_all


def answered(settings, question, history=None) -> str:
    """The answer's text, which must not be an abstention."""
    got = ask(settings, question, history)
    assert not got.abstained, got.text
    return got.text

HISTORY = """# 天文史话

## 超新星

1054年，北宋司天监的官员记录了一颗“客星”，它在白天也能看到，持续了23天。

公元前613年，《春秋》记载“有星孛入于北斗”，这被认为是关于哈雷彗星的最早确切记录。

## 望远镜

1609年，伽利略制作了一台放大约20倍的望远镜，并用它观察月亮。第二年，他发现了木星的四颗卫星。

18世纪，梅森开始编制星云星团表。
"""

LIFE = """# 竺可桢

竺可桢（1890年3月7日－1974年2月7日），字藕舫，浙江上虞人，气象学家、地理学家和教育家。

## 生平

1910年，竺可桢考取庚款留美公费生，1918年获哈佛大学博士学位，同年回国。

回国后，竺可桢先后在武昌高等师范学校、南京高等师范学校任教。1921年，他在东南大学创建了中国第一个地学系。

1936年4月，竺可桢出任浙江大学校长。因为办学成绩突出，浙江大学被英国学者李约瑟誉为“东方剑桥”。1949年以后，他任中国科学院副院长。
"""

REPORT = """# 星河科技股份有限公司年度报告（摘要）

## 主要会计数据

| 项目 | 2023年 | 2022年 | 本年比上年增减 |
| --- | --- | --- | --- |
| 营业收入（万元） | 486,520 | 412,300 | 18.0% |
| 归属于上市公司股东的净利润（万元） | 52,310 | 47,800 | 9.4% |
| 研发投入（万元） | 61,240 | 50,120 | 22.2% |
"""

NEWS = """# 我市农村公路建设超额完成任务

本报讯 11月20日，记者从市交通运输局获悉，今年以来，我市新建改建农村公路1200公里，完成投资36.5亿元。

目前，全市农村公路总里程达到2.1万公里，所有具备条件的建制村都通了硬化路和客车。

市交通运输局表示，明年我市将继续推进“四好农村路”建设，计划新建改建农村公路1000公里。
"""


LAKE = """# 青海湖

湖面海拔3196米，面积约4400平方千米，最大水深约32.8米。青海湖位于青海省东北部，是中国最大的内陆湖泊。

每年11月湖面开始结冰，冰期约为6个月。青藏铁路沿青海湖北岸经过，游客可在西宁乘车前往，距离约150公里。
"""


BULLETIN = """# 某市统计公报

## 居民收入

全年全市居民人均可支配收入48,560元，比上年增长5.9%。农村居民人均可支配收入29,870元，增长7.3%。

## 人口

年末全市常住人口856.3万人，比上年末增加4.2万人。其中，城镇常住人口612.7万人，常住人口城镇化率为71.6%。
"""

RULES = """# 员工差旅费管理办法

第八条 伙食补助按出差天数计算，每人每天100元，不再另行报销餐费。

第七条 住宿费按城市类别实行限额报销：一类城市（北京、上海、广州、深圳）每人每天不超过500元，二类城市（省会城市）不超过400元，其他城市不超过300元。

第九条 员工应在出差结束后10个工作日内办理报销。

第十一条 本办法自2024年1月1日起施行，由财务部负责解释。
"""


MANUAL = """# 空气净化器使用说明书

## 产品规格

| 参数 | 数值 |
| --- | --- |
| 额定功率 | 45W |
| 净重 | 5.8 kg |

## 首次使用

1. 打开机身背部的后盖。
2. 取出滤网，撕掉滤网外的塑料包装袋。
3. 将滤网放回机身，盖好后盖。

## 常见问题

**净化器运行时噪音很大？** 可能是风速设在了高档，请按“风速”键调到低档或睡眠模式。

**空气质量指示灯一直是红色？** 传感器表面可能积灰，请用干燥的棉签轻轻清洁传感器入口。
"""


LEAFLET = """# 布洛芬缓释胶囊说明书

【用法用量】口服。成人，一次1粒，一日2次（早晚各一次）。

【不良反应】少数病人可出现恶心、呕吐、胃烧灼感或轻度消化不良。

【禁忌】
1. 对其他非甾体抗炎药过敏者禁用。
2. 孕妇及哺乳期妇女禁用。
3. 对阿司匹林过敏的哮喘患者禁用。

【注意事项】
1. 本品为对症治疗药，用于止痛不得超过5天，症状不缓解，请咨询医师或药师。
2. 服用本品期间不得饮酒或含有酒精的饮料。

【有效期】24个月。
"""


LEASE = """# 房屋租赁合同

第三条 月租金为人民币4500元，按季度支付，乙方应于每季度第一个月的5日前支付当季租金。

第四条 签订本合同时，乙方向甲方支付押金9000元。租赁期满，乙方交还房屋且无损坏的，甲方应在7日内无息退还押金。

第五条 租赁期间，房屋及其附属设施的自然损坏由甲方负责维修；因乙方使用不当造成的损坏，由乙方负责维修或赔偿。

第七条 乙方需提前退租的，应提前30日书面通知甲方，并支付一个月租金作为违约金。
"""


LIFE_FULL = """# 竺可桢

竺可桢（1890年3月7日－1974年2月7日），字藕舫，浙江上虞人，气象学家、地理学家和教育家，中国近代地理学和气象学的奠基者。

## 生平

1910年，竺可桢考取第二期庚款留美公费生，先入伊利诺伊大学农学院学习，1913年毕业后转入哈佛大学研究生院，改学气象学。1918年获哈佛大学博士学位，同年回国。

回国后，他先后在武昌高等师范学校、南京高等师范学校任教。1921年，他在东南大学创建了中国第一个地学系。1928年，他受命筹建中央研究院气象研究所，并担任所长。

1936年4月，竺可桢出任浙江大学校长，任职长达13年。抗日战争期间，他率领浙江大学师生西迁，先后辗转浙江、江西、广西、贵州等地，最终在贵州遵义、湄潭办学七年。因为办学成绩突出，浙江大学被英国学者李约瑟誉为“东方剑桥”。

1949年以后，竺可桢任中国科学院副院长。

## 主要贡献

竺可桢坚持记录物候和气象日记长达38年，从未间断。1972年，他发表论文《中国近五千年来气候变迁的初步研究》，利用历史文献和物候资料，把中国近五千年的气候划分为四个温暖期和四个寒冷期。

他提出的“求是”精神成为浙江大学的校训。
"""

GUIDE = """# 居民身份证换领办事指南

## 一、办理对象

居民身份证有效期满、证件损坏或者登记项目有误的本市户籍居民。

## 二、办理地点

户籍所在地公安派出所户籍窗口，或者各区政务服务中心公安窗口。

## 三、申请材料

1. 居民户口簿；
2. 原居民身份证；
3. 未满十六周岁的，由监护人陪同办理。

## 四、办理时限

自受理之日起60日内制发证件；急需的，可申请加急，加急办理的在15日内制发。

## 五、收费标准

换领居民身份证每证收费20元；丢失补领或者损坏换领的，每证收费40元。

## 六、办理流程

1. 申请人携带材料到窗口提交申请；
2. 窗口工作人员审核材料，现场采集照片和指纹；
3. 缴纳工本费；
4. 领取受理回执，凭回执按期领取新证。

## 七、咨询电话

12345（政务服务热线）。
"""

LAKE_FULL = """# 青海湖

青海湖位于青海省东北部，是中国最大的内陆湖泊，也是中国最大的咸水湖。湖面海拔3196米，面积约4400平方千米，最大水深约32.8米。

## 名称

青海湖古称“西海”，蒙古语称“库库诺尔”，意为“青色的海”。

## 气候

青海湖地区属高原大陆性气候，年平均气温在-1.1℃至4℃之间，年降水量约为400毫米。每年11月湖面开始结冰，冰期约为6个月。

## 生物

湖中盛产青海湖裸鲤，俗称湟鱼，是国家二级保护动物。由于过度捕捞，湟鱼资源一度急剧减少，青海省从2001年起对青海湖实施封湖育鱼。

湖中的鸟岛是候鸟的重要栖息地，每年春季有斑头雁、鱼鸥、棕头鸥等10多种候鸟在此繁殖。

## 交通

青藏铁路沿青海湖北岸经过，游客可在西宁乘车前往，距离约150公里。
"""


@pytest.fixture(scope="module")
def texts(tmp_path_factory):
    return indexed_all(tmp_path_factory.mktemp("narrative"), {"history.md": HISTORY, "life.md": LIFE,
                                                                        "report.md": REPORT, "news.md": NEWS,
                                                                        "lake.md": LAKE, "bulletin.md": BULLETIN,
                                                                        "rules.md": RULES, "manual.md": MANUAL,
                                                                        "leaflet.md": LEAFLET, "lease.md": LEASE})


@pytest.mark.parametrize("question, date", [
    ("北宋记录客星是在哪一年？", "1054年"),
    ("关于哈雷彗星的最早确切记录是什么时候？", "公元前613年"),
    ("梅森什么时候开始编制星云星团表？", "18世纪"),
])
def test_a_when_question_is_answered_by_a_year_before_1900_or_a_century(texts, question, date):
    text = answered(texts, question)
    assert date in text, text


def test_a_year_told_by_the_sentence_before_comes_with_that_sentence(texts):
    text = answered(texts, "伽利略哪一年发现了木星的卫星？")
    assert "1609年" in text and "第二年" in text, text


@pytest.mark.parametrize("question", ["竺可桢什么时候出生的？", "竺可桢是哪一年去世的？", "竺可桢出生于哪一年？"])
def test_birth_and_death_are_dated_by_the_span_after_the_name(texts, question):
    text = answered(texts, question)
    assert "1890年3月7日－1974年2月7日" in text, text


def test_who_did_it_names_the_person_the_he_of_the_sentence_stands_for(texts):
    text = answered(texts, "谁创建了中国第一个地学系？")
    assert text.startswith("竺可桢") and "东南大学" in text, text


def test_a_multiple_is_answered_in_times(texts):
    text = answered(texts, "伽利略的望远镜能放大多少倍？")
    assert "20倍" in text and "倍倍" not in text, text


@pytest.mark.parametrize("question, figure", [
    ("青海湖的面积有多大？", "4400平方千米"),
    ("青海湖最深的地方有多深？", "32.8米"),  # not the 3196米 of its altitude, in the same sentence
    ("青海湖海拔多高？", "3196米"),
    ("青海湖离西宁多远？", "150公里"),
    ("青海湖的冰期有多长？", "6个月"),
])
def test_how_deep_high_far_or_large_is_answered_by_the_figure_of_that_dimension(texts, question, figure):
    text = answered(texts, question)
    assert figure in text, text
    assert len([n for n in ("4400", "32.8", "3196", "150公里", "6个月") if n in text]) == 1, text


@pytest.mark.parametrize("question, said", [
    ("公司2023年营业收入是多少？", ["营业收入", "486,520"]),
    ("2022年的净利润是多少？", ["净利润", "47,800"]),  # the year is in the table's header only
])
def test_a_figure_from_a_table_row_says_which_row_it_is(texts, question, said):
    text = answered(texts, question)
    assert all(s in text for s in said), text


def test_this_year_in_a_report_that_names_no_year_is_its_this_year_and_the_answer_says_so(texts):
    text = answered(texts, "今年新建改建了多少公里农村公路？")
    assert "1200公里" in text and "没有写明是哪一年" in text, text
    assert "2.1万" not in text and "1000公里" not in text, text


def test_another_year_in_relative_words_still_is_not_answered_without_its_figure(texts):
    got = ask(texts, "去年新建改建了多少公里农村公路？")
    assert got.abstained, got.text


@pytest.mark.parametrize("question, said, not_said", [
    ("农村居民收入增长了多少？", ["29,870元，增长7.3%"], []),  # the change, with what changed
    ("常住人口增加了多少？", ["增加4.2万人"], ["612.7"]),
])
def test_a_change_asked_is_answered_by_the_change_not_the_level(texts, question, said, not_said):
    text = answered(texts, question)
    assert all(s in text for s in said), text
    assert not any(s in text for s in not_said), text


def test_a_rate_in_the_question_is_not_the_thing_counted(texts):
    text = answered(texts, "伙食补助每天多少钱？")
    assert "100元" in text, text


def test_who_is_answered_by_the_department_that_does_it(texts):
    text = answered(texts, "谁负责解释本办法？")
    assert "财务部" in text, text


@pytest.fixture(scope="module")
def longer(tmp_path_factory):
    return indexed_all(tmp_path_factory.mktemp("longer"), {"life.md": LIFE_FULL, "guide.md": GUIDE, "lake.md": LAKE_FULL})


def test_where_someone_is_from_is_answered_first_by_the_unit_that_gives_a_home(longer):
    text = answered(longer, "竺可桢是哪里人？")
    assert "浙江上虞人" in text.split("[")[0], text


def test_how_long_is_answered_by_a_length_of_time(longer):
    text = answered(longer, "换身份证多久能拿到新证？")
    assert "60日内" in text.split("[")[0], text


def test_the_steps_of_a_section_do_not_take_in_the_table_above_its_heading(texts):
    text = answered(texts, "首次使用要怎么做？")
    assert "撕掉滤网外的塑料包装袋" in text, text
    assert "5.8 kg" not in text and text.startswith("1."), text


@pytest.mark.parametrize("question, told", [
    ("净化器运行时声音很大怎么办？", "调到低档"),
    ("空气质量灯一直红怎么办？", "清洁传感器入口"),
])
def test_a_question_the_text_asks_itself_is_answered_by_what_follows_it(texts, question, told):
    text = answered(texts, question)
    assert told in text, text


def test_a_figure_keeps_the_bracket_it_opens(texts):
    text = answered(texts, "布洛芬缓释胶囊一天吃几次？")
    assert "一日2次（早晚各一次）" in text, text


def test_which_things_is_not_answered_by_a_list_of_other_things(texts):
    text = answered(texts, "布洛芬缓释胶囊有哪些不良反应？")
    assert text.startswith("【不良反应】"), text


def test_an_article_s_number_is_no_count_to_call_its_figure_a_part_of(texts):
    text = answered(texts, "租房合同里提前退租要赔多少？")
    assert "一个月租金" in text, text


def test_who_is_answered_by_the_party_of_a_contract_that_does_it(texts):
    text = answered(texts, "租的房子里热水器自然坏了谁修？")
    assert "由甲方负责维修" in text, text


@pytest.mark.parametrize("question, told", [
    ("租房的押金什么时候退？", "7日内"),  # the event in one character, dated by a deadline
    ("租金什么时候支付？", "5日前"),
])
def test_when_is_answered_by_a_deadline(texts, question, told):
    text = answered(texts, question)
    assert told in text, text


@pytest.mark.parametrize("text, found", [
    ("1054年，北宋", ["1054年"]),
    ("生于1890年3月7日", ["1890年3月7日"]),
    ("前221年秦统一", ["前221年"]),
    ("一九四九年十月", ["一九四九年"]),
    ("20世纪80年代", ["20世纪", "80年代"]),
    ("in 1609 Galileo", ["in 1609"]),
    ("此前5年", []),
    ("1000年前", []),
    ("共有1000个", []),
])
def test_times_a_text_gives(text, found):
    assert WHEN.findall(text) == found


def test_he_is_the_person_named_most_before_or_in_the_headings():
    before = "1936年，竺可桢出任浙江大学校长。竺可桢率师生西迁。浙江大学被李约瑟誉为“东方剑桥”。"
    assert pronoun_referent("1949年以后，他任中国科学院副院长。", before, "life.md › 竺可桢") == "竺可桢"
    assert pronoun_referent("他创建了地学系。", "", "life.md › 竺可桢") == "竺可桢"
    assert pronoun_referent("他们创建了地学系。", before, "") is None
    assert pronoun_referent("东南大学创建了地学系。", before, "") is None


def test_relative_years_of_a_resolved_question():
    question = "今年（2026年）新建改建了多少公里？"
    assert relative_word(question, "2026") == "今年" and relative_word(question, "2025") is None
    assert undated_relative(question, "2026", "今年以来，新建1200公里", None) == "今年"
    assert undated_relative(question, "2026", "今年以来，新建1200公里", "2023") is None  # the text's year is known
    assert says_other_relative(question, "2026", "明年计划新建1000公里")
    assert not says_other_relative(question, "2026", "今年以来，明年以前")


@pytest.mark.parametrize("question, asks", [
    ("湖有多深？", True), ("面积有多大？", True), ("冰期有多长？", True),
    ("要等多久？", True), ("要等多长时间？", True), ("这个影响有多大？", False), ("怎么用多重计算做利润表？", False), ("湖有多大？", False),
])
def test_a_dimension_asked_with_duo(question, asks):
    assert (units.asked_dimension(question) is not None) == asks


def test_what_a_count_question_counts_is_not_what_it_can_do():
    assert analyse("伽利略的望远镜能放大多少倍？").focus == "望远镜"
    assert [n.text for n in extract_numbers("放大约20倍")] == ["约20"]


def test_a_follow_up_naming_a_thing_after_a_question_that_names_none_asks_the_same_of_it():
    from rag.question.followup import rewrite_follow_up

    history = [{"role": "user", "content": "比上年增长了多少？"}, {"role": "assistant", "content": "比上年增长6.2%[1]。"}]
    assert rewrite_follow_up("第一产业呢？", history) == "第一产业比上年增长了多少？"


def test_he_in_a_follow_up_is_the_one_person_the_earlier_question_names():
    from rag.question.followup import rewrite_follow_up

    history = [{"role": "user", "content": "竺可桢哪一年获得博士学位？"}, {"role": "assistant", "content": "1918年[1]。"}]
    assert rewrite_follow_up("那他什么时候当的浙江大学校长？", history) == "竺可桢什么时候当的浙江大学校长？"
    two = [{"role": "user", "content": "竺可桢和李约瑟是什么关系？"}, {"role": "assistant", "content": "……"}]
    assert "他" in rewrite_follow_up("那他什么时候当的浙江大学校长？", two)  # two people: not guessed


@pytest.mark.parametrize("turns, standalone", [
    # an earlier follow-up is read as it stood alone: never "2022年呢？净利润？"
    (["公司2023年营业收入是多少？", "2022年呢？", "净利润呢？"], "公司2022年净利润是多少？"),
    # "其他城市" is no pronoun; a place takes the place of the earlier question's place
    (["在北京出差住宿每天最多报多少？", "那其他城市呢？"], "在其他城市出差住宿每天最多报多少？"),
    # a question that names its own subject is not spliced onto the earlier ones
    (["成人一次吃几粒？", "一天几次？", "孕妇能吃吗？"], "孕妇能吃吗？"),
])
def test_follow_ups_over_several_turns_stand_alone_as_one_question(turns, standalone):
    from rag.question.followup import rewrite_follow_up

    history = []
    for question in turns[:-1]:
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": "……[1]。"}]
    assert rewrite_follow_up(turns[-1], history) == standalone


def test_a_figure_under_a_bound_is_the_bound_not_more_than_it(texts):
    assert [n.text for n in extract_numbers("其他城市不超过300元，超过500人")] == ["300", "超过500"]
    history = [{"role": "user", "content": "在北京出差住宿每天最多报多少？"}, {"role": "assistant", "content": "500元[1]。"}]
    text = answered(texts, "那其他城市呢？", history)
    assert "300元" in text and "超过300" not in text, text
