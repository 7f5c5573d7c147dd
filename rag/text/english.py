"""English question words: content words, their inflections and stems, numbers, months and ordinals."""

from __future__ import annotations

import re
from functools import lru_cache

WORD_RE = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*|\d+(?:[.,]\d+)*(?:st|nd|rd|th)?")
_ORDINAL_RE = re.compile(r"(\d+)(?:st|nd|rd|th)")
_ORDINAL_WORDS = {w: i for i, w in enumerate(
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth".split(), 1)}
_MONTHS = {m: i for i, m in enumerate(
    "january february march april may june july august september october november december".split(), 1)}
_SEGMENT_RE = re.compile(r"[,.;:!?\"“”()\[\]{}/–—]+")  # phrases never cross these
# Function words, question words and auxiliaries: they carry no evidence.
STOP_WORDS = frozenset(
    """a about above after again against all also am an and any are as at be been before being below
    between both but by can could did do does doing done down during each either else ever every few
    for from further had has have having he her here hers herself him himself his how i if in into is
    it its itself just let may me many might more most much must my myself neither no nor not now of off
    on once only or other ought our ours ourselves out over own per please same shall she should so
    some such than that the their theirs them themselves then there these they this those through to
    too under until up upon us very was we were what whatever when whenever where whereas whether
    which while who whom whose why will with within without would yet you your yours yourself
    yourselves sth sb something someone somebody etc one's oneself tell kindly""".split()
)
# Irregular inflections the stemmer leaves apart from their base form.
_IRREGULAR = {
    "held": "hold", "made": "make", "took": "take", "taken": "take", "gave": "give", "given": "give",
    "went": "go", "gone": "go", "came": "come", "became": "become", "began": "begin", "begun": "begin",
    "brought": "bring", "built": "build", "bought": "buy", "chose": "choose", "chosen": "choose",
    "drew": "draw", "drawn": "draw", "fell": "fall", "fallen": "fall", "found": "find", "got": "get",
    "gotten": "get", "grew": "grow", "grown": "grow", "knew": "know", "known": "know", "led": "lead",
    "left": "leave", "lost": "lose", "meant": "mean", "met": "meet", "paid": "pay", "ran": "run",
    "said": "say", "saw": "see", "seen": "see", "sent": "send", "set": "set", "sold": "sell",
    "spent": "spend", "spoke": "speak", "spoken": "speak", "stood": "stand", "taught": "teach",
    "thought": "think", "told": "tell", "understood": "understand", "won": "win", "wrote": "write",
    "written": "write", "children": "child", "men": "man", "women": "woman",
    "feet": "foot", "teeth": "tooth", "mice": "mouse",
}

_BRITISH = {
    "centre": "center", "centres": "centers", "programme": "program", "programmes": "programs",
    "labour": "labor", "colour": "color", "favour": "favor", "honour": "honor", "behaviour": "behavior",
    "neighbour": "neighbor", "defence": "defense", "licence": "license", "catalogue": "catalog",
    "travelled": "traveled", "cancelled": "canceled", "modelling": "modeling", "enrol": "enroll",
}
_ISE_RE = re.compile(r"(?<=[a-z]{3})([iy])s(e|ed|es|ing|ation|ations|er|ers)$")  # organise → organize



@lru_cache(maxsize=1)
def _stemmer():
    import snowballstemmer

    return snowballstemmer.stemmer("english")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The stem of one lower-case English word (consultation → consult), irregular forms first mapped."""
    return _stemmer().stemWord(_american(word))


def _american(word: str) -> str:
    """British spellings as the dictionary writes them (organised → organized, centre → center)."""
    word = _IRREGULAR.get(word, word)
    return _BRITISH.get(word, word)


def ize_spelling(word: str) -> str:
    """The -ize/-yze spelling of a British -ise/-yse word (organised → organized); other words unchanged."""
    return _ISE_RE.sub(r"\1z\2", word)


def singular(word: str) -> str:
    """A plural noun's singular (studies → study, reports → report)."""
    word = _american(word)
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")) else word


@lru_cache(maxsize=65536)
def base_form(word: str) -> str:
    """One word without its inflection only (reports → report, invited → invit), derivations kept apart."""
    if len(word) > 4 and word.endswith("ied"):
        return word[:-3] + "y"
    word = singular(word)
    for suffix in ("ing", "ed"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            word = word[: -len(suffix)]
            if word[-1] == word[-2] and word[-1] not in "lsz":  # planned → plan
                word = word[:-1]
            break
    return word[:-1] if len(word) > 3 and word.endswith("e") else word  # invite/invited → invit


def segments(question: str) -> list[list[str]]:
    """Runs of adjacent content words (a phrase never spans punctuation or a function word but "of")."""
    runs: list[list[str]] = []
    for part in _SEGMENT_RE.split(question):
        run: list[str] = []
        for match in WORD_RE.finditer(part):
            word = _month(match.group(), question.startswith(match.group())) or match.group().lower()
            if word == "of" and run:
                run.append(word)
            elif word in STOP_WORDS:
                runs.append(run)
                run = []
            else:
                run.append(word)
        runs.append(run)
    return [r[:-1] if r and r[-1] == "of" else r for r in runs if r]


def _month(word: str, first: bool) -> str | None:
    """A month name as "5月" ("May" only when capitalised mid-question: else it is the modal verb)."""
    if word.lower() in _MONTHS and (word.lower() != "may" or (word == "May" and not first)):
        return f"{_MONTHS[word.lower()]}月"
    return None


def number_term(word: str) -> tuple[str, list[str]] | None:
    """A number stays as it is; an ordinal ("13th", "ninth") is also tried as Chinese (第十三, 第九)."""
    ordinal = _ORDINAL_RE.fullmatch(word)
    if ordinal:
        n = int(ordinal.group(1))
        return word, ([f"第{chinese_numeral(n)}"] if 0 < n < 100 else []) + [str(n)]
    if word in _ORDINAL_WORDS:
        return word, [f"第{chinese_numeral(_ORDINAL_WORDS[word])}"]
    return (word, [word]) if word[0].isdigit() else None  # numbers and months ("5月") as they are


def chinese_numeral(n: int) -> str:
    """1–99 in Chinese numerals (13 → 十三, 20 → 二十)."""
    digits = "零一二三四五六七八九"
    tens, ones = divmod(n, 10)
    if not tens:
        return digits[ones]
    return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")


