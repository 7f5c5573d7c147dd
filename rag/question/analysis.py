"""Question analysis: what kind of answer is asked for, which terms must be supported, follow-up carry-over."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Callable

from rag.errors import QuestionError, RagError
from rag.question.answer_type import ASKS_DIMENSION, without_indefinite
from rag.text.tokens import DATE, is_mostly_cjk

_CJK_RE = re.compile(r"[\u4e00-\u9fff]")

_KINDS = (
    ("count", r"多少|(?<![哪好第])几[个份篇件人次条名项家位场期批天年所座万亿千百回本支部种台轮组队趟遍张套辆栋]|数量|人数|次数|"
              rf"{ASKS_DIMENSION.pattern}|how many|how much|number of"),
    ("date", r"什么时候|何时|哪一天|哪天|几月几日|几号|(?:什么|哪个|哪一个)日期|日期(?:是|为)(?:哪|什么|多少|几)|哪一?年|哪个月|"
             r"when|what date|which year"),
    ("list", r"哪些|哪[几两二三四五六七八九十]|包括什么|包含什么|分别是|指的?是?什么|which .* are|what are|list"),
    ("name", r"谁|哪位|什么名字|叫什么|名称|题目|主题|标题|who|what is the name|what was the name"),
    ("place", r"哪里|在哪|何地|什么地方|哪个城市|哪个地区|where"),
)
YEAR_RE = re.compile(r"(?<!\d)((?:19|20)\d{2})(?=\s*年|(?!\d))")  # in a question: "2024年" or "in 2024"
YEAR_WORD = re.compile(r"(?:19|20)\d{2}\s*年?")
_STOP_TERMS = frozenset(
    "多少 什么 哪些 哪个 哪位 哪里 时候 怎么 怎样 如何 是否 有没有 请问 一共 总共 共有 分别 "
    "形成 开展 举办 召开 进行 提出 达到 多少次 多少个 多少份 多少篇 多少件 多少人 多少条 "
    "工作 一年 今年 去年 这一年 哪儿 哪里 第几 为了 那个 这个 那次 这次 那些 这些 一次 "
    "为什么 为何 怎么样 怎么办 什么样 能否 可否 能不能 是不是 可不可以 应该 需要 吗".split()
)
_ORDINAL_TERM = re.compile(r"^(第[零〇一二两三四五六七八九十百\d]+)[回次期届批轮场号]$")
# the words that ask ("几回", "多少钱", "几支") say nothing about where the answer is
_ASKING_WORD = re.compile(r"^(?:几|多少|哪)")
MAX_FOREIGN_KEYWORDS = 8  # dictionary candidates past these are mostly other senses of the same words
_GENERIC_PLACES = frozenset("城市 地区 地方 国家 省份 全国 全区 各地 当地 基层 农村 城乡".split())
FOLLOW_UP = re.compile(r"^(那么?|那在|还有|另外|以及|然后|and|what about|how about)|(呢|呢？|呢\?)$", re.I)
_LATIN_RE = re.compile(r"[A-Za-z][A-Za-z\-]{1,}")


@dataclass(frozen=True)
class QuestionInfo:
    """What a question asks for."""

    text: str
    kind: str  # count, date, list, name, place, other
    years: tuple[str, ...]
    terms: tuple[str, ...]  # content words that the evidence should contain
    is_chinese: bool
    focus: str = ""  # what exactly is asked about ("协商报告"), weighted most when picking evidence
    entities: tuple[str, ...] = ()  # places, organisations and people named in the question
    numbers: tuple[float, ...] = ()  # quantities the question itself states ("第十次" → 10), years aside
    aside: tuple[str, ...] = ()  # what a "除了 A 和 B，还有…" question sets aside (``question.besides``)
    # one part of "A 和 B 分别……": its own item first, then the items of the other parts ("macOS", "Windows")
    items: tuple[str, ...] = ()


def validate(question: object, max_chars: int) -> str:
    """The question stripped, or a QuestionError saying why it can't be asked."""
    if not isinstance(question, str) or not question.strip():
        raise QuestionError("问题为空：请输入一个问题。")
    question = question.strip()
    if len(question) > max_chars:
        raise QuestionError(f"问题过长（{len(question)} 字），请精简到 {max_chars} 字以内。")
    return question


_ROLES = (r"委员|代表|老人|主席|书记|局长|站长|经理|负责人|人员|同志|专家|嘉宾|董事长|总经理|总裁|董事|监事|秘书长|"
          r"主任|部长|厅长|处长|科长|校长|院长|所长|市长|县长|镇长|乡长|村长|会长|理事长|组长|队长|主持人|创始人|人")
_EN_ROLES = (r"person|chairman|chairwoman|chair|director|head|manager|general manager|president|vice[- ]chairman|"
             r"secretary|mayor|leader|founder|chief|master|ceo|cfo")
# "谁", "哪（一）位", a role's name however asked ("站长叫什么名字", "站长的名字是什么", "负责人姓名")
_PERSON = re.compile(rf"谁|哪一?位|(?:{_ROLES})(?:分别)?的?(?:叫什么名字|名字|姓名|叫什么|是何人)|姓名|"
                     rf"\bwho(?:m|se)?\b|name of the (?:{_EN_ROLES})|(?:{_EN_ROLES})'s name", re.I)


_GLOSS = re.compile(r"((?:(?!的)[\u4e00-\u9fff]){2,8})\s*[（(]\s*([A-Za-z][\w.+-]*)\s*[）)]")


# "docx、xlsx 这类 OOXML 文件", "像 docx 这样的 OOXML 文件": names given as examples of a kind the question names
# by name (a kind in Chinese, "这类工具", says too little to stand for them)
_EXAMPLES = re.compile(r"(?:像|比如|例如)?\s*((?:[A-Za-z][\w.+-]*\s*[、,，和与及/]\s*)*[A-Za-z][\w.+-]*)\s*"
                       r"(?:这类|这种|这一类|这样的|之类的|等)(?:的)?\s*([A-Za-z][\w.+-]*)")


def glosses(question: str) -> dict[str, str]:
    """Names the asker adds in brackets after the thing they name, each with that thing ("GNU 自由文本授权（GFDL）":
    GFDL → 自由文本授权): another name for it, which the documents need not use when they name the thing. Names
    given as examples of a kind the question names ("docx、xlsx 这类 OOXML 文件") stand for that kind too."""
    found = {m.group(2): m.group(1) for m in _GLOSS.finditer(question)}
    for m in _EXAMPLES.finditer(question):
        found.update((name, m.group(2)) for name in re.split(r"\s*[、,，和与及/]\s*", m.group(1)) if name)
    return found


def asks_for_person(question: str) -> bool:
    """Whether the answer must be a person's name ("由谁负责？", "Who is the chairman…?")."""
    return bool(_PERSON.search(question))


def question_kind(question: str) -> str:
    """The kind of answer asked for (count, date, list, name, place or other)."""
    from rag.question.answer_type import answer_type

    lowered = question.lower()
    if not _CJK_RE.search(question):  # English says what it asks in its first words
        english = {"figure": "count", "date": "date", "person": "name"}.get(answer_type(question))
        if english:
            return english
        return "list" if re.search(r"^(?:which|what) [\w\s]* are\b|^list\b|^(?:which|what|name(?: the)?) "
                                   r"(?:two|three|four|five|several|\d+)\b", lowered) else "other"
    if answer_type(question) == "reason":  # "为什么这种日期算出来不对": a reason, whatever it names
        return "other"
    lowered = without_indefinite(lowered)
    for kind, pattern in _KINDS:
        if re.search(pattern, lowered):
            return kind
    return "other"


def content_terms(question: str) -> tuple[str, ...]:
    """The words of the question that its evidence should contain (jieba words, no stop words)."""
    import jieba

    jieba.setLogLevel(60)
    words = []
    for w in jieba.lcut(question):
        w = w.strip()
        if len(w) < 2 or w in _STOP_TERMS or _ASKING_WORD.match(w) or YEAR_RE.fullmatch(w.rstrip("年")):
            continue
        # "第二回" and "第二期" name the same one: the counter after an ordinal varies with who is speaking
        w = _ORDINAL_TERM.sub(r"\1", w)
        if _CJK_RE.search(w) or _LATIN_RE.fullmatch(w):
            words.append(w)
    return tuple(dict.fromkeys(words))


def analyse(question: str, focus: str | None = None, vocabulary: Callable[[str], bool] | None = None,
            common: Callable[[str], bool] | None = None) -> QuestionInfo:
    """Kind, years, content terms and focus of a question.

    ``common`` tells the words every part of the indexed documents uses (their own name and subject),
    which say nothing about where an answer is; ``vocabulary`` the words the documents use at all.
    """
    chinese = is_mostly_cjk(question)
    terms = content_terms(question) if chinese else foreign_terms(question, vocabulary)
    if common is not None:
        terms = tuple(t for t in terms if not _is_common(t, common)) or terms
    kind = question_kind(question)
    if focus is None:
        focus = focus_of(question) if chinese else _foreign_focus(question, terms, kind, vocabulary)
    return QuestionInfo(
        text=question,
        kind=kind,
        years=asked_years(question),
        terms=terms,
        is_chinese=chinese,
        focus=focus,
        entities=named_entities(question),
        numbers=stated_numbers(question),
    )


def asked_years(question: str) -> tuple[str, ...]:
    """The years the question asks about, each once; not those of the days that bound a span it names
    ("2016年12月15日到2017年1月14日的工作日" asks about one span, not 2016 and 2017)."""
    spans = re.sub(rf"(?:{DATE.pattern})\s*(?:到|至|~|～|—|–|-)\s*(?:{DATE.pattern})",
                   lambda m: " " * len(m.group()) if re.search(r"月|\d[-/.]\d", m.group()) else m.group(), question)
    return tuple(dict.fromkeys(YEAR_RE.findall(spans)))


_COUNTED = re.compile(r"\bhow (?:many|much)\s+(.+?)(?:\s+(?:did|do|does|were|was|are|is|have|has|had|will|can|could|"
                      r"in|from|of|for|at|on|by|during|there)\b|[?,.]|$)", re.I)


_GENERIC_COUNTED = frozenset("people persons person times items things ones".split())


def _foreign_focus(question: str, terms: tuple[str, ...], kind: str, vocabulary) -> str:
    """What a question in another language counts: the Chinese for the words after "how many"
    ("consultation reports" → "协商报告"), else its first compound keyword."""
    if kind != "count":
        return ""
    counted = _COUNTED.search(question)
    if counted and counted.group(1).split()[0].lower() in _GENERIC_COUNTED:
        return ""  # "how many people attended X": X, not the word for people, tells where the figure is
    if counted:
        try:
            from rag.text.lexicon import chinese_keywords

            found = [k for k in chinese_keywords(counted.group(1), vocabulary) if _CJK_RE.match(k)]
        except (ImportError, RagError):
            found = []
        if found:
            return found[0]
    chinese = [t for t in terms if _CJK_RE.match(t)]
    return next((t for t in chinese if len(t) >= 3), chinese[0] if chinese else "")


def _is_common(term: str, common: Callable[[str], bool]) -> bool:
    grams = [term[i : i + 2] for i in range(len(term) - 1)] if _CJK_RE.match(term) else [term.lower()]
    return bool(grams) and all(common(g) for g in grams)


_EN_FUNCTION_WORDS = frozenset(
    "a an the of in on at to for and or is are was were be been being how many much what which who whom whose "
    "when where why did do does done with by from as that this these those it its into about than there their "
    "they them he she his her we our you your i me my can could would should will shall may might please tell "
    "give list name show find get got has have had not no yes any some all each every".split()
)


def foreign_terms(question: str, vocabulary: Callable[[str], bool] | None = None) -> tuple[str, ...]:
    """What a question without Chinese asks about: its Chinese keywords (bilingual lexicon, when installed)
    and its own content words, which count only where a document uses them verbatim ("CPU", "Docker").

    Empty for "？？？", emoji or punctuation: such a question has nothing to look up.
    """
    words = [w.lower() for w in _LATIN_RE.findall(question) if w.lower() not in _EN_FUNCTION_WORDS]
    try:
        from rag.text.lexicon import chinese_keywords

        chinese = list(chinese_keywords(question, vocabulary))[:MAX_FOREIGN_KEYWORDS] if words else []
    except (ImportError, RagError):  # without the dictionary only verbatim words can match
        chinese = []
    return tuple(dict.fromkeys(chinese + words))


@functools.lru_cache(maxsize=256)
def _tagged(question: str) -> tuple[tuple[str, str], ...]:
    """The question's words with jieba's part-of-speech tags."""
    import jieba
    import jieba.posseg

    jieba.setLogLevel(60)
    return tuple((w.word, w.flag) for w in jieba.posseg.cut(question))


def named_entities(question: str) -> tuple[str, ...]:
    """Places, organisations, people and foreign terms the question names (jieba's part-of-speech tags)."""
    found, at = [], 0
    for word, flag in _tagged(question):
        before = question[:question.find(word, at)].rstrip()
        at = max(at, question.find(word, at))
        # "第 3 章里查": a counter after a number ("章", "条", "节") is no surname starting a name
        counted = flag == "nr" and bool(before) and (before[-1].isdigit() or before[-1] in _NUMERALS)
        if (flag in ("ns", "nr", "nt", "nrt", "eng") and len(word) >= 2 and word not in _GENERIC_PLACES
                and _looks_named(word, flag) and not counted):
            found.append(word)
    return tuple(dict.fromkeys(found))


_NUMERALS = "零〇一二两三四五六七八九十百千"


def nouns(question: str) -> tuple[str, ...]:
    """The nouns the question uses, names of places and people among them (jieba's part-of-speech tags)."""
    return tuple(dict.fromkeys(word for word, flag in _tagged(question) if flag.startswith("n")))


def long_nouns(question: str) -> tuple[str, ...]:
    """The Chinese nouns of three characters or more the question uses ("新能源" of "新能源汽车免征吗"); not one
    that a 了/过/着 makes a predicate ("出毛病" of "是电脑出毛病了吗")."""
    tagged = _tagged(question) + (("", ""),)
    return tuple(dict.fromkeys(word for (word, flag), (_, after) in zip(tagged, tagged[1:])
                               if flag.startswith("n") and len(word) >= 3 and _NOUN.fullmatch(word)
                               and after not in ("ul", "ug", "uz")))


# Chinese only, and not ending in a word that joins a sentence: jieba tags "账户就" (of "这样账户就不能用了") a noun
_NOUN = re.compile(r"[\u4e00-\u9fff]+(?<![就也都了的在是还又才把被])")


_PLACE_ENDS = "省市县区州旗镇乡村国洲盟"
# the hundred most common Chinese surnames (single-character ones cover almost every two-character name)
_SURNAMES = frozenset("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜"
                      "崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")


def _looks_named(word: str, flag: str) -> bool:
    """A two-character "place" is often an ordinary word jieba mistags ("东西"): a place
    or organisation must be longer or end like one; people and foreign words are taken as tagged."""
    if flag in ("ns", "nt") and len(word) < 3:
        return word[-1] in _PLACE_ENDS
    if flag == "nrt" and len(word) < 3 and not word.isascii():
        return False  # a two-character "transliterated name" is mostly a mis-cut phrase ("里加" in "往里加")
    if flag == "nr" and len(word) == 2 and word[0] not in _SURNAMES:
        return False  # "满格" (of "信号满格") tagged a person's name: a two-character name starts with a common surname
    return True


def stated_numbers(question: str) -> tuple[float, ...]:
    """Numbers written in the question other than its years."""
    from rag.text.numbers import extract_numbers

    years = {float(y) for y in YEAR_RE.findall(question)}
    # "哪两项", "两个工具分别是什么" ask which ones: the number counts the answer, not a figure the evidence states
    which = bool(_ASKS_WHICH.search(question))
    dates = DATE.sub(lambda m: " " * len(m.group()), question)  # "到 2012-06-13": a day, no figure
    return tuple(n.value for n in extract_numbers(dates) if n.value not in years
                 and question[n.end:n.end + 1] not in "月日" and question[max(n.start - 1, 0):n.start] != "哪"
                 and not (which and question[n.end:n.end + 1] in COUNT_CLASSIFIERS + "类样"
                          and question[max(n.start - 1, 0):n.start] != "第")
                 and not (VERSION.fullmatch(n.text) and _NAMED.search(question[:n.start])))


# a release number: "6.0", "3.11", "2.4.1"; with the name before it ("KiCad 6.0") a name, not a figure
VERSION = re.compile(r"(?<![\w.])\d+(?:\.\d+)+(?![\w.])")
_NAMED = re.compile(r"[A-Za-z][\w+-]*\s*$")


_ASKS_WHICH = re.compile(r"分别|各是|各自|各为|哪|都是|都有")


# measure words of a count ("几支队伍", "出了几本"); 年/天 are left out: "多少年轻人" counts people
COUNT_CLASSIFIERS = "个份篇件人次条名项家位场期批所座万亿千百元回本支部种台轮组队趟遍张套辆栋"
# the counted thing may hold a name in Latin letters ("多少个 Debian 镜像站")
_AFTER_QUANTITY = re.compile(rf"(?:多少|(?<![第哪好])几)(?:人次|[{COUNT_CLASSIFIERS}])?的?\s*"
                             r"((?:[A-Za-z][\w.+-]*\s*)?[\u4e00-\u9fff]{2,12})")
# what follows the counted thing in a question ("年轻人被请去…", "人在会上…") is not part of it
_AFTER_END = re.compile(r"[被把让给在从]")
# verbs and fillers between the counted thing and "多少" ("的活动一共搞了几回", "阅读量达到多少")
_PER_WORD = r"每[天日人年月周次件台]"  # "每天", "每人"
_FILLER_TAIL = re.compile(rf"(?:{_PER_WORD}|每小?时|每分钟|每秒|平均|"  # "伙食补助每天多少钱": 伙食补助
                          r"(?:最多|最少|至多|至少|最高|最低|不超过|不少于)[\u4e00-\u9fff]?|报销|"  # "住宿每天最多报": 住宿
                          r"一共|总共|共计|累计|大约|大概|总计|达到|填写|设为|设成|设置为|设置成|配置为|配置成|写成|写为|"
                          r"共|了|是|有|达|为|到|约|计|总|搞|出|办|发|开|做|的|能|可|填)+$")  # "网关地址填的是多少": 网关地址
_PER = re.compile(rf"^(?:{_PER_WORD})+")
_CAN_DO = re.compile(r"(?<=[\u4e00-\u9fff]{2})(?:能够|能|可以|可|会|需要|需|要|得|应该|应)[\u4e00-\u9fff]{1,2}$")
_BEFORE_QUANTITY = re.compile(r"^(.*?)(?:多少|(?<![第哪好])几)")  # "排到了第几" asks a rank, counts nothing


_ASKED_DATE = re.compile(r"(?:什么时候|何时|哪一天|哪天|几月几日|几号|哪一?年|哪个月)(?:首次|第一次|正式|开始|起|才)?"
                         r"([\u4e00-\u9fff]{2}|[\u4e00-\u9fff](?=[？?。！!，,]|$))")  # "签署", or "退" of "押金什么时候退？"


_QUOTED = re.compile(r"[“\"《]([^”\"》]{2,30})[”\"》]")


def quoted_names(question: str) -> list[str]:
    """The names a question puts in quotes or title marks ("“温暖工程”", "《内蒙古文史资料》")."""
    return [n for n in _QUOTED.findall(question) if _CJK_RE.search(n)]


def date_predicate(question: str) -> str:
    """The event a "when" question asks the date of: "签署" in "……是哪一天签署的？" ("" when none follows)."""
    m = _ASKED_DATE.search(question)
    if not m or m.group(1)[0] in "的是在于从由到":
        return ""
    return m.group(1).removesuffix("的")  # "办的": the verb is "办"


def focus_of(question: str) -> str:
    """The thing a count question counts: "协商报告" in "2024年形成了多少份协商报告？"."""
    m = _AFTER_QUANTITY.search(question)
    if m:
        after = _AFTER_END.split(m.group(1), maxsplit=1)[0]
        if len(after) >= 2:
            return after
    m = _BEFORE_QUANTITY.search(YEAR_WORD.sub("", question))
    if m:
        return _before_focus(m.group(1))
    return ""


def _before_focus(stem: str) -> str:
    """The counted thing written before "多少": the last phrase, without the verbs that ask about it."""
    stem = _FILLER_TAIL.sub("", stem).rstrip("》”\"'）) ")
    stem = _FILLER_TAIL.sub("", re.split(r"[《》“”\"'（）()，,、：:\s]", stem)[-1])
    stem = stem.rsplit("的", 1)[-1]  # "察看的活动": the head noun after the last 的
    stem = _FILLER_TAIL.sub("", _CAN_DO.sub("", stem))  # "望远镜能放大": the thing is the 望远镜, not what it can do
    stem = _PER.sub("", stem)  # "每人每天补助": 补助
    return stem[-4:] if len(stem) >= 2 else ""


def names_setting(name: str, question: str) -> bool:
    """The question names ``name`` only as where the asker is: "GNOME 里……", "在 KiCad 中……"."""
    said = list(re.finditer(rf"(?<![A-Za-z0-9]){re.escape(name)}(?![A-Za-z0-9])", question))
    return bool(said) and all(re.match(r"\s*(?:里|中|上|下|环境下|桌面上?)(?!的|版)",
                                       question[m.end():]) for m in said)
