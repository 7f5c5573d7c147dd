"""Find the numbers in Chinese text (Arabic or Chinese numerals) so an answer's figures can be checked."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_BIG_UNITS = (("亿", 10**8), ("万", 10**4))
_MULTIPLIERS = {"万亿": 10**12, "亿": 10**8, "万": 10**4, "千": 10**3, "百": 10**2,
                "thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}
_CN = "零〇一二两三四五六七八九十百千万亿"

_ARABIC = r"\d{1,3}(?:,\d{3}(?!\d))+(?:\.\d+)?|\d+(?:\.\d+)?"  # "1,825" but not "大会,5次"
_CHINESE = rf"[{_CN}]+(?:点[零〇一二两三四五六七八九]+)?"
_NUMBER = re.compile(
    # ("放大约20倍" is 放大 by about 20: the 大 of a word ending in it is not "大约"; "不超过300元" is at most 300)
    r"(?P<about>(?<![不未])超过|将近|(?<![放扩增加最较很巨过])大约|多达|约|近|逾|(?<![不未])超|几)?"
    r"(?P<percent_word>百分之)?"
    rf"(?P<num>{_ARABIC}|{_CHINESE})"
    r"(?P<more>余|多|几)?(?P<mult>万亿|亿|万|千|(?<=\d)\s?(?i:thousand|million|billion|trillion)\b)?(?P<more2>余|多)?"
    r"(?P<percent>%)?(?P<around>左右)?"
)
_ARABIC_MULT = re.compile(r"(\d+(?:\.\d+)?)(万亿|亿|万|千|百)?")
_CITATION = re.compile(r"\[\d+(?:[,，、\s]*\d+)*\]|【\d+】")  # answer markers like "[1]", never quantities
_LIST_PUNCT = "，,、：:"

# Set phrases whose numerals are not quantities; masked before matching.
_IDIOMS = (
    "十分", "三心二意", "五湖四海", "四面八方", "七上八下", "乱七八糟", "五花八门", "四通八达",
    "三番五次", "三言两语", "三三两两", "十全十美", "七嘴八舌", "九牛二虎", "四分五裂", "五颜六色",
    "六神无主", "九死一生", "十拿九稳", "三令五申", "两全其美", "一举两得", "三长两短", "一五一十",
)
_FULLWIDTH = str.maketrans("０１２３４５６７８９％．，", "0123456789%.,")


@dataclass(frozen=True)
class Number:
    """A number found in text: its value, how it was written and where."""

    value: float
    text: str
    start: int
    end: int
    approx: bool = False  # written with 余/多/几/近/约/超过/左右


def parse_chinese_number(s: str) -> int | float | None:
    """Value of a numeral as written: "十八" → 18, "二〇二四" → 2024, "三万五千" → 35000, "1.2万" → 12000.

    Returns ``None`` for anything that is not a single number ("百", "三四", "abc"). Whole
    values come back as ``int``; only a real fraction ("十二点五", "1.5") is a ``float``.
    """
    s = s.strip().replace(",", "")
    arabic = _ARABIC_MULT.fullmatch(s)
    if arabic:
        return _tidy(Decimal(arabic[1]) * _MULTIPLIERS.get(arabic[2] or "", 1))
    if not s or any(char not in _CN + "点" for char in s):
        return None
    whole, point, fraction = s.partition("点")
    value = _parse_whole(whole)
    if value is None or not point:
        return value
    if not fraction or any(char not in _DIGITS for char in fraction):
        return None
    return _tidy(Decimal(f"{value}.{''.join(str(_DIGITS[c]) for c in fraction)}"))


def _tidy(value: Decimal | int) -> int | float:
    return int(value) if value == int(value) else float(value)


def _parse_whole(s: str) -> int | None:
    if not s:
        return None
    if all(char in _DIGITS for char in s):  # "二〇二四": read digit by digit
        return int("".join(str(_DIGITS[char]) for char in s))
    return _parse_big(s)


def _parse_big(s: str) -> int | None:
    """Numbers with 亿/万 sections: the part before the unit times the unit, plus the rest."""
    for unit, size in _BIG_UNITS:
        if unit in s:
            high, _, low = s.partition(unit)
            high_value = _parse_big(high) if high else None
            low_value = _parse_low(low, size)
            if high_value is None or low_value is None:
                return None
            return high_value * size + low_value
    return _parse_section(s)


def _parse_low(s: str, size: int) -> int | None:
    if not s:
        return 0
    if len(s) == 1 and s in _DIGITS:  # "三万五" means 35000: a bare digit is the next unit down
        return _DIGITS[s] * size // 10
    value = _parse_big(s.lstrip("零〇"))
    return value if value is not None and value < size else None


def _parse_section(s: str) -> int | None:
    """Below 10000, with 十/百/千: "一百一十四" → 114, "一百零五" → 105, "两千三" → 2300."""
    total, digit, last_unit, zero = 0, None, 10**4, False
    for char in s:
        if char in "零〇":
            zero = True
        elif char in _DIGITS:
            if digit is not None:  # two digits in a row ("三四个") is a range, not a number
                return None
            digit = _DIGITS[char]
        else:
            unit = _UNITS.get(char)
            if unit is None or unit >= last_unit:
                return None
            if digit is None and not (char == "十" and total == 0):
                return None
            total += (1 if digit is None else digit) * unit
            digit, last_unit, zero = None, unit, False
    if digit is None:
        return total if last_unit < 10**4 else None
    elided = last_unit > 10 and last_unit < 10**4 and not zero  # "一百五" is 150
    return total + digit * (last_unit // 10 if elided else 1)


def extract_numbers(text: str) -> list[Number]:
    """Every number in ``text``, in order, with its value and span.

    Dates give their parts ("2024年9月27日" → 2024, 9, 27); "1140余篇" is 1140, approximate;
    "12.5%" is 12.5; "1,825" is 1825, while "大会,5次" is just 5. Not reported, because
    they are not quantities: a lone "一" or "零" (一年来, 一次次, 第一, 一题一团队,
    零距离), bare units (百姓, 千里), ranges ("三四个"), list markers ("第二,", "1、"),
    set phrases (十分) and citation markers ("[1]"). Counted words are quantities:
    "两件大事" gives 2.
    """
    prepared = _mask(text)
    found = []
    for match in _NUMBER.finditer(prepared):
        number = _to_number(match, prepared)
        if number is not None:
            found.append(number)
    return found


def _mask(text: str) -> str:
    """Same length as ``text``: full-width digits made ASCII, idioms and markers blanked."""
    prepared = text.translate(_FULLWIDTH)
    for idiom in _IDIOMS:
        prepared = prepared.replace(idiom, "□" * len(idiom))
    return _CITATION.sub(lambda m: "□" * len(m.group()), prepared)


def _to_number(match: re.Match[str], text: str) -> Number | None:
    num = match["num"]
    if _skipped(match, text):
        return None
    value = _value(num, text[match.end("num") : match.end("num") + 1])
    if value is None:
        return None
    # Decimal, so that "1.1万" is exactly 11000 and matches "11000" in the evidence.
    value = Decimal(str(value)) * _MULTIPLIERS.get((match["mult"] or "").strip().lower(), 1)  # "10 million" too
    approx = any(match[group] for group in ("about", "more", "more2", "around"))
    start, end = match.span()
    return Number(value=float(value), text=match.group(), start=start, end=end, approx=approx)


def _value(num: str, after: str) -> int | float | None:
    if num[0].isdigit():
        return parse_chinese_number(num)
    if num in ("一", "零", "〇"):  # 一年来, 一次次, 一题一团队, 零距离: words, not quantities
        return None
    digits_only = all(char in _DIGITS for char in num)
    # "二〇二四", "一九九八年" are digit-by-digit; "三四个" is a range.
    if digits_only and len(num) > 1 and not ("〇" in num or "零" in num or after == "年" or len(num) >= 3):
        return None
    return parse_chinese_number(num)


def _skipped(match: re.Match[str], text: str) -> bool:
    """List markers and numbers glued to Latin letters ("G20") are not quantities."""
    start, end = match.start("num"), match.end("num")
    before, after = text[start - 1 : start], text[end : end + 1]
    if before.isascii() and before.isalpha():
        return True
    if before == "第" and after and after in _LIST_PUNCT:  # "第二,…"
        return True
    line_start = not text[text.rfind("\n", 0, start) + 1 : start].strip(" \t")
    if after in ("）", ")") and before in ("（", "(") and not text[text.rfind("\n", 0, start) + 1 : start - 1].strip(" \t"):
        return True  # "（二）请求……调解": an enumeration mark
    return line_start and after in ("、", ".", "）", ")")  # "1、…", "二、…", "2) …"


def numbers_supported(answer_text: str, evidence: str) -> list[Number]:
    """The numbers in ``answer_text`` whose value appears nowhere in ``evidence``.

    Values are compared, not spellings: "十八" in an answer is supported by "18篇" in the
    evidence, and a year "2024" by "2024年". An empty list means every number is backed.
    """
    known = {_key(number.value) for number in extract_numbers(evidence)}
    return [number for number in extract_numbers(answer_text) if _key(number.value) not in known]


def _key(value: float) -> float:
    return round(value, 6)
