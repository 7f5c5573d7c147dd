"""What kind of answer a question wants: a figure, a date, a person, a command, a reason, steps, yes/no, a definition.

The answer selector weighs each unit's fit to this type (a reason clause for "为什么", a list or a
code block for "怎么做", an option entry for "哪个选项"); the words are the question's, never a corpus's.
"""

from __future__ import annotations

import re

from rag.text.tokens import ASKS_KEY

TYPES = ("figure", "date", "person", "command", "reason", "procedure", "yesno", "definition", "other")

AREA_NOUN = r"面积|占地|国土|领土|流域"
# (at the end of its clause: not "多重计算", "多长时间", "多高的要求")
ASKS_DIMENSION = re.compile(rf"多([深高远宽厚重长])(?=[？?。！!，,\s]|呢|啊|吗|$)|(?:{AREA_NOUN})[^，,。？?]{{0,4}}多(大)"
                            r"|多(久)|多长(?=时间)")  # "多久能拿到", "要多长时间": a length of time

_PATTERNS = (
    ("reason", r"为什么|为何|原因|(?<!无)理由|目的|用意|何以|怎么会|凭什么|\bwhy\b|what for|purpose|reason"),
    ("procedure", r"如何|怎么(?!会|样的)|怎样(?!的)|步骤|流程|方法|(?<!管理)(?<!实施)(?<!暂行)(?<!试行)(?<![本该此旧新原])办法(?!》)|操作|做法|\bhow (?:do|does|can|to|should|is|are)\b|"
                  r"\bhow\b(?! (?:many|much|long|often|old))|steps?\b|procedure"),
    ("command", r"命令|指令|选项|参数|开关|哪个程序|用什么工具|什么工具|\bcommand\b|\boption\b|\bflag\b|\bswitch\b|"
                r"\bparameter\b|\bargument\b|which (?:tool|program)"),
    ("figure", r"多少|(?<![哪好第])几[个份篇件人次条名项家位场期批天年所座万亿千百回本支部种台轮组队趟遍张套辆栋岁]|数量|人数|次数|比例|"
               rf"百分之|金额|税率|{ASKS_DIMENSION.pattern}|how many|how much|number of|percentage|rate\b"),
    ("date", r"什么时候|何时|哪一天|哪天|几月几日|几号|日期|哪[一个些几]?年|什么年份|哪个月|期限|多久|多长时间|之日起|when\b|what date|"
             r"which year|how long|deadline"),
    ("person", r"谁|哪位|什么人|叫什么名字|姓名|\bwho\b|whom|whose"),
    ("definition", r"是什么|什么是|指什么|是指|的含义|什么意思|何谓|定义|\bwhat (?:is|are|does)\b|\bmean(?:s|ing)?\b"),
    ("yesno", r"是否|能否|可否|可不可以|能不能|会不会|有没有|是不是|[吗嘛][？?]?$|^(?:is|are|can|does|do|should|will|"
              r"must|may)\b"),
)
_COMPILED = tuple((name, re.compile(pattern, re.I)) for name, pattern in _PATTERNS)
_CJK = re.compile(r"[\u4e00-\u9fff]")
# An English question says what it asks in its first words ("what is … when …" asks a "what", not a "when").
_ENGLISH = (
    ("reason", r"why\b|what for\b|for what reason"),
    ("procedure", r"how (?:do|does|can|could|should|would|to|is|are)\b|what (?:are )?the steps"),
    ("figure", r"(?:(?:within|in|after|for|by|over) )?how (?:many|much)\b|what (?:is |was )?(?:the )?(?:number|percentage|rate|amount|price|cost)\b"
               r"|what (?:(?:is|was|are) )?(?:the |an? )?(?:[\w-]+'s )?(?:maximum|minimum|max|min|largest|smallest|total|"
               r"average|default (?:size|length|limit|interval|timeout|value|number))\b|.*\bin (?:minutes|seconds|"
               r"hours|days|bytes|kilobytes|megabytes|gigabytes|[kmg]b|percent)\b"),
    ("date", r"when\b|what (?:date|year|day|time)\b|which (?:date|year|day)\b|how long\b|by when\b|"
             r"(?:from|since|until|till|by|on|as of|in) (?:what|which) (?:date|day|year|month)\b"),
    ("person", r"who(?:m|se)?\b"),
    ("command", r"(?:what|which) (?:command|option|flag|tool|program|switch|parameter|argument)s?\b"),
    ("definition", r"what (?:is|are|does)\b"),
    ("yesno", r"(?:is|are|can|does|do|should|will|must|may|was|were|has|have)\b"),
)
_ENGLISH_COMPILED = tuple((name, re.compile(p, re.I)) for name, p in _ENGLISH)
# ...after the opening phrases or clauses that set the scene: "According to X, …", "When a user does X, how many …"
_SCENE = re.compile(r"^\W*(?:in|on|under|for|according to|at|when|whenever|if|after|before|once|while|since)\b[^,?]*,\s*",
                    re.I)


# "我自己做了几个 deb 包，……去哪儿看？": "几个" after a verb done (了) in an earlier clause means "a few"; the last
# clause asks its own question
_INDEFINITE = re.compile(r"了几(?=[个份篇件本台张条次种])")
_LAST_CLAUSE_ASKS = re.compile(r"[，,；;][^，,；;]*(?:哪|什么|怎么|如何|为什么|为何|谁|是否|多少|几)[^，,；;]*$")


def without_indefinite(question: str) -> str:
    """``question`` with an indefinite "几" ("做了几个") of an earlier clause blanked, when the last clause asks."""
    last = _LAST_CLAUSE_ASKS.search(question)
    if not last:
        return question
    head = _INDEFINITE.sub("了□", question[:last.start()])
    return head + question[last.start():]


def answer_type(question: str) -> str:
    """The first type whose wording the question uses, in the order that resolves overlaps
    ("为什么要用这个命令" asks a reason; "多少天内" asks a figure before a date)."""
    text = question.strip()
    if not _CJK.search(text):
        asked = text
        while (scene := _SCENE.match(asked)) and scene.end() < len(asked):
            asked = asked[scene.end():]
        return next((name for name, pattern in _ENGLISH_COMPILED if pattern.match(asked)), "other")
    text = without_indefinite(text)
    for name, pattern in _COMPILED:
        if pattern.search(text):
            return name
    return "other"


def asks_for_key(question: str) -> bool:
    """Whether the answer must be a key or key combination: "退出的快捷键是什么", not "怎么把快捷键搬到另一台电脑"."""
    return bool(ASKS_KEY.search(question)) and answer_type(question) not in ("procedure", "reason", "yesno")


# what a key is asked for: "新建图层" of "新建图层的快捷键是什么"
_KEY_FOR = re.compile(r"((?:(?!的)[\u4e00-\u9fff]){2,8})的?(?:默认)?(?:快捷键|热键|组合键|是哪个键|按哪个键|用哪个键)")


def key_asked_for(question: str) -> tuple[str, str]:
    """What a key is asked for, as its action and what the action is done to: ("新建", "图层") of
    "新建图层的快捷键是什么", ("退出", "程序") of "退出程序的快捷键"; ("", "") when the question does not say."""
    import jieba.posseg

    found = _KEY_FOR.search(question)
    words = [(w.word, w.flag) for w in jieba.posseg.cut(found.group(1))] if found else []
    while words and words[0][1][:1] in ("f", "p", "u", "c", "r"):  # "里", "在", "的": where, not what
        words.pop(0)
    thing = "".join(w for w, _ in words)
    return (thing[:2], thing[2:]) if len(thing) >= 4 else ("", "")


def for_another(text: str, asked: tuple[str, str]) -> bool:
    """``text`` does the asked action to another thing: "新建图像" when "新建图层" is asked ("退出" alone is not)."""
    action, done_to = asked
    return bool(action) and any(not text.startswith(done_to[:2], m.end())
                                for m in re.finditer(rf"{action}\s*(?=[\u4e00-\u9fff])", text))
