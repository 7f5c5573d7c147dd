"""Numbers: Chinese numerals, Arabic figures with units and commas, and checking an answer's figures."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from rag.text.numbers import Number, extract_numbers, numbers_supported, parse_chinese_number

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "data" / "sample"


def values(text: str) -> list[float]:
    return [n.value for n in extract_numbers(text)]


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("十八", 18),
        ("一百一十四", 114),
        ("二〇二四", 2024),
        ("两千", 2000),
        ("三万五千", 35000),
        ("1.2万", 12000),
        ("十", 10),
        ("二十七", 27),
        ("一百零五", 105),
        ("一千零一", 1001),
        ("一百五", 150),
        ("三万五", 35000),
        ("十万", 100000),
        ("一亿两千万", 120_000_000),
        ("零", 0),
        ("两", 2),
        ("1,825", 1825),
        ("145万", 1_450_000),
        ("十二点五", 12.5),
    ],
)
def test_parse_chinese_number(written, value):
    parsed = parse_chinese_number(written)
    assert parsed == value
    assert isinstance(parsed, int) == (value == int(value))


@pytest.mark.parametrize("written", ["", "百", "万", "千万", "十十", "abc", "三点", "一百千"])
def test_parse_rejects_non_numbers(written):
    assert parse_chinese_number(written) is None


def test_number_is_frozen():
    number = extract_numbers("共18篇")[0]
    assert number == Number(value=18.0, text="18", start=1, end=3, approx=False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        number.value = 19  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1140余篇社情民意信息", [(1140, "1140余", True)]),
        ("近30名青年代表", [(30, "近30", True)]),
        ("约5万人", [(50000, "约5万", True)]),
        ("超过1.1万人", [(11000, "超过1.1万", True)]),
        ("2万多人参训", [(20000, "2万多", True)]),
        ("30余万字", [(300000, "30余万", True)]),
        ("10万余人次", [(100000, "10万余", True)]),
        ("增长12.5%", [(12.5, "12.5%", False)]),
        ("百分之十二点五", [(12.5, "百分之十二点五", False)]),
        ("累计1,825条", [(1825, "1,825", False)]),
        ("共12,345,678元", [(12345678, "12,345,678", False)]),
        ("阅读量达145万次", [(1_450_000, "145万", False)]),
        ("十八篇协商报告", [(18, "十八", False)]),
        ("两件大事", [(2, "两", False)]),
        ("十几个", [(10, "十几", True)]),
    ],
)
def test_extract_values_text_and_approx(text, expected):
    assert [(n.value, n.text, n.approx) for n in extract_numbers(text)] == expected


def test_spans_point_at_the_text():
    text = "数字无声,最具说服力。3次专题议政性常委会会议协商、1140余篇社情民意信息、18篇协商报告"
    for number in extract_numbers(text):
        assert text[number.start : number.end] == number.text


def test_dates_give_their_parts():
    assert values("2024年9月27日,自治区政协召开") == [2024, 9, 27]
    assert values("二〇二四年九月二十七日") == [2024, 9, 27]
    assert values("一九九八年") == [1998]


def test_comma_is_a_thousands_separator_only_before_three_digits():
    assert values("表彰大会,5次视察考察活动") == [5]
    assert values("3次专题议政性常委会会议协商、5次专题协商,5次视察考察活动、35次委员界别活动") == [3, 5, 5, 35]
    assert values("2023,2024年") == [2023, 2024]
    assert values("共1,825条") == [1825]
    assert values("第4名,不断开创") == [4]


@pytest.mark.parametrize(
    "text",
    [
        "一次次协商议政,一条条诤言良策",
        "第一时间召开第一次扩大会议",
        "一年来,凝聚共识",
        "一题一团队专项推进",
        "通过一场场党建活动,一个个“特色课堂”",
        "始终坚持统一战线,一如既往",
        "十分重要",
        "在千里草原,老百姓",
        "三四个人",
        "第二,我们要",
        "见[1][2]。",
        "G20峰会",
        "零距离回应社会关切",
    ],
)
def test_words_that_are_not_quantities(text):
    assert extract_numbers(text) == []


def test_list_markers_are_skipped_but_their_content_is_not():
    assert values("1、共5次协商\n2、18篇报告") == [5, 18]
    assert values("一、背景\n二、做法") == []


def test_full_width_digits():
    assert values("共１８篇,占１２.５％") == [18, 12.5]


def test_sample_numbers():
    text_2024 = (SAMPLE_DIR / "cppcc-2024-consultation-review.txt").read_text("utf-8")
    text_2023 = (SAMPLE_DIR / "cppcc-2023-consensus-review.txt").read_text("utf-8")
    found_2024 = {(n.value, n.approx) for n in extract_numbers(text_2024)}
    assert {(1140, True), (18, False), (86, False), (75, False), (2024, False)} <= found_2024
    numbers_2023 = extract_numbers(text_2023)
    assert {1825, 1_450_000, 5633, 1064, 523, 223, 300_000, 100_000} <= {n.value for n in numbers_2023}
    # "一" is everywhere in the text (一年来, 一次次, 第一时间) and never a quantity there
    assert [n.text for n in numbers_2023 if n.value in (0, 1)] == ["1", "1", "1"]  # 1月15日, 9月1日 twice


def test_supported_whatever_the_writing():
    evidence = "2024年围绕自治区两件大事,形成的18份协商报告全部得到党政领导批示。1140余篇社情民意信息。"
    assert numbers_supported("2024年共形成十八份协商报告。", evidence) == []
    assert numbers_supported("共有一千一百四十余篇社情民意信息", evidence) == []
    assert numbers_supported("2024 年的工作围绕两件大事展开", evidence) == []
    assert numbers_supported("这些报告都得到了批示[1]。", evidence) == []


def test_unsupported_numbers_are_returned():
    evidence = "形成的18份协商报告全部得到党政领导批示。"
    unsupported = numbers_supported("共形成19份协商报告,2023年完成。", evidence)
    assert [(n.value, n.text) for n in unsupported] == [(19, "19"), (2023, "2023")]


def test_magnitudes_are_compared_by_value():
    evidence = "累计推送稿件1825条,阅读量达145万次"
    assert numbers_supported("阅读量达到1,450,000次,稿件1,825条", evidence) == []
    assert [n.value for n in numbers_supported("阅读量达14.5万次", evidence)] == [145000]


def test_answer_without_numbers():
    assert numbers_supported("政协坚持协商民主。", "") == []
