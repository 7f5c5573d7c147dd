"""Whether the retrieved passages can answer at all: a year, an option or a name they never mention."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Sequence

from rag.question.analysis import QuestionInfo, analyse, glosses, is_mostly_cjk, long_nouns, names_setting
from rag.question.answer_type import answer_type
from rag.question.time import undated_relative
from rag.retrieval.hybrid import Retriever
from rag.text.tokens import HEX_ID, OPTION
from rag.types import Passage

NOT_FOUND = "文档中没有提到这一点。"
# what a question copies exactly from the documents: an environment variable or constant ("MANCOLOR",
# "$MANPATH", "DEBSIGN_KEYID"), a file name ("manpath.config", ".kicad_prl"), a format symbol ("%K")
# (ASCII word characters only: a Chinese word written right after one, "FOO_BAR变量", is not part of the name)
IDENTIFIER = re.compile(r"(?<![\w$%.-])(?:\$?[A-Z][A-Z0-9]*_[A-Z0-9_]+|\$?[A-Z][A-Z0-9]{4,}"
                        r"|\.?[A-Za-z][\w-]+[._][A-Za-z][\w.-]*\w|%[A-Za-z])(?![\w])", re.ASCII)
# a one-letter tag with its colon ("I:", "N:" in a tool's output), named in a Chinese question
TAG = re.compile(r"(?<![A-Za-z0-9])[A-Z]:(?![/\\\w])")


def evidence_gap(info: QuestionInfo, passages: Sequence[Passage], retriever: Retriever) -> str | None:
    """Why the passages cannot answer the question (a year, place or name they never mention), or None."""
    if not passages:
        return "索引中没有可检索的文档"
    joined = "\n".join(p.chunk.indexed for p in passages)  # "passwd" is named by the page it is from
    lowered = joined.lower()
    year = missing_year(info, passages, retriever)
    if year:
        return f"检索到的资料中没有关于{year}年的内容"
    if not info.is_chinese:
        # whole-text similarity to anything is high (emoji, "asdfghjkl" score like real questions),
        # so a question without Chinese needs one of its words in the passages
        if not info.terms:
            return "问题中没有可以在文档里查找的内容"
        if not any(t.lower() in lowered for t in info.terms):
            return "检索到的资料与问题无关"
    for option in OPTION.findall(info.text):  # "-j", "--purge": a command-line option is named exactly
        if option not in joined:
            return f"检索到的资料中没有提到“{option}”"
    for name in identifiers(info.text):
        if not _said(name.lstrip("$"), lowered) and not _the_source(name, info.text, retriever) \
                and not _where_asked(name, info.text, retriever):
            return f"检索到的资料中没有提到“{name}”"
    for version in versions(info.text):  # "pypinyin 0.38.0 版本更新了什么": a release the passages never name
        bare = re.sub(r"(?:\.0)+$", "", version) if version.count(".") > 1 else version
        if not re.search(rf"(?<![\d.]){re.escape(bare)}(?:\.0)*(?![\d])", joined):
            return f"检索到的资料中没有提到“{version}”版本"
    if info.is_chinese:
        for tag in TAG.findall(info.text):
            if not re.search(rf"(?<![A-Za-z0-9]){re.escape(tag)}", joined):
                return f"检索到的资料中没有提到“{tag}”"
        squeezed = re.sub(r"\s+", "", lowered)  # "macOS" is named by "Mac OS"
        glossed = glosses(info.text)  # "自由文本授权（GFDL）": another name for a thing the passages name
        for name in (e for e in info.entities
                     if not (e in glossed and re.sub(r"\s+", "", glossed[e].lower()) in squeezed)):
            if _where_asked(name, info.text, retriever):
                continue
            if (not _said(re.sub(r"\s+", "", name), squeezed)
                    and not (name.lower() in _ID_WORDS and _HEX_ID.search(joined))):
                return f"检索到的资料中没有提到“{name}”"
        # "……规定新能源汽车免征吗": a yes-or-no question about a thing no passage names is not answered by
        # the passages about its neighbours (the list of what is exempt)
        # the clause that asks names it: "我的服务器上没装图形界面，GIMP 能在那种环境下跑吗" tells a situation first,
        # in the asker's own words
        if answer_type(info.text) == "yesno" and is_mostly_cjk(joined):  # English text says "unprivileged user"
            for noun in long_nouns(_CLAUSE_BREAK.split(info.text.strip(" ，,；;：:"))[-1]):
                if noun not in squeezed:
                    return f"检索到的资料中没有提到“{noun}”"
        # a reworded question shares no word with its passage ("买东西被商家骗了" for "经营者……欺诈"): whether
        # the passages answer it is the selector's call, not a word match's
    return None


_CLAUSE_BREAK = re.compile(r"[，,；;：:]")
_JS_NAME = re.compile(r"(?i)([a-z][\w-]+)\.js")  # "Fly.js", "Node.js": a library or runtime the text may call "Fly"


def _said(name: str, lowered: str) -> bool:
    """Whether the (lowercased) passages say ``name``, or the library it names without its ".js" ("Fly.js": "fly",
    "Node.js": "nodejs")."""
    if name.lower() in lowered:
        return True
    place = _PLACE.fullmatch(name)  # "郑国" is said by "郑", "浙江省" by "浙江"
    if place and place.group(1) in lowered:
        return True
    js = _JS_NAME.fullmatch(name)
    stem = re.escape(js.group(1).lower()) if js else None
    return bool(stem) and re.search(rf"(?<![a-z0-9_.]){stem}(?:js)?(?![a-z0-9_])", lowered) is not None


_PLACE = re.compile(r"([\u4e00-\u9fff]{1,4})[国省市县州]")
# "消息 ID": entries identified by a long hexadecimal id ("-- 5a1b2c…", a UUID) answer it without saying "ID"
_ID_WORDS = ("id", "uuid", "guid")
_HEX_ID = re.compile(rf"(?<![0-9A-Za-z]){HEX_ID}(?![0-9A-Za-z])")
_CODE_WORD = re.compile(r"\b(?:variables?|options?|directives?|fields?|keys?(?!\s*(?:combination|binding|shortcut|stroke|press))|"
                        r"settings?|flags?|parameters?|macros?|constants?)\b|变量|选项|指令|字段|参数|宏|常量",
                        re.I)


# "GNOME 帮助说……", "according to the KiCad manual": the documents asked, which need not name themselves
_SOURCE_WORDS = r"(?:的)?\s*(?:帮助|手册|文档|指南|说明书|教程|(?:user\s*)?(?:help|manual|guide|handbook|documentation|docs)\b)"


def names_the_source(name: str, question: str) -> bool:
    """Whether the question names ``name`` only as the documentation it asks ("GNOME 帮助说…", "the GIMP manual")."""
    said = list(re.finditer(rf"(?<![A-Za-z0-9]){re.escape(name)}(?![A-Za-z0-9])", question, re.I))
    return bool(said) and all(re.match(_SOURCE_WORDS, question[m.end():], re.I) for m in said)


def _the_source(name: str, question: str, retriever: Retriever) -> bool:
    """``name`` is the documentation asked ("GNOME 帮助说…") and the documents say it somewhere: another program's
    manual ("BarPaint 帮助里…" over FooEdit's) is still a name the passages must say."""
    return names_the_source(name, question) and retriever.vocabulary()(name)


def _where_asked(name: str, question: str, retriever: Retriever) -> bool:
    """``name`` only says where the asker is ("GNOME 里按哪个组合键") and the documents say it somewhere: the passages
    of a collection that names it need not repeat it. A name the collection never says ("BarPaint 里……") must be
    in the passages."""
    return names_setting(name, question) and retriever.vocabulary()(name)


def identifiers(question: str) -> list[str]:
    """What ``question`` names as code: an all-capitals word counts only when it looks like code
    ("DEBSIGN_KEYID", "$MANPATH") or is called a variable, option or the like ("the MANCOLOR environment
    variable", "MANOPT 变量"), since "CPPCC" may stand for words the documents write in Chinese and "ASCII" or
    "POSIX" is a name (a Chinese question's names are checked as names, see ``evidence_gap``)."""
    found = []
    for m in IDENTIFIER.finditer(question):
        name = m.group()
        capitals = re.fullmatch(r"[A-Z][A-Z0-9]+", name)
        if capitals:
            if not any(w.start() < m.end() + 24 and w.end() > m.start() - 24 for w in _CODE_WORD.finditer(question)):
                continue
        found.append(name)
    return found


# a release: three numbers ("0.38.0"), or two called a version ("2.8 版", "v2.8", "version 2.8")
_VERSION = re.compile(r"(?<![\w.])(?:[vV](?=\d)|(?i:version|release)\s+)?(\d+\.\d+\.\d+)(?![\w.])"
                      r"|(?<![\w.])(?:[vV]|(?i:version|release)\s+)(\d+\.\d+)(?![\w.])|(?<![\w.])(\d+\.\d+)(?=\s*(?:版|(?i:version)))")


def versions(question: str) -> list[str]:
    """The releases ``question`` names by number ("0.38.0", "2.6" of "2.6 版")."""
    return [next(g for g in m.groups() if g) for m in _VERSION.finditer(question)]


def missing_year(info: QuestionInfo, passages: Sequence[Passage], retriever: Retriever) -> str | None:
    """A year the question asks about that no passage mentions or is about."""
    joined = "\n".join(p.text for p in passages)
    for year in info.years:
        if year not in joined and all((about := retriever.document_year(p.source)) != year
                                      and not undated_relative(info.text, year, p.text, about) for p in passages):
            return year
    return None


def analyse_question(question: str, focus, retriever: Retriever) -> QuestionInfo:
    """What ``question`` asks, over the indexed documents: a name the whole collection is about ("GIMP" in GIMP's
    help) tells no passage from another, so it is not among the names an answer's passage must say."""
    vocabulary = None if is_mostly_cjk(question) else retriever.vocabulary()
    info = analyse(question, focus, vocabulary, retriever.is_common)
    entities = tuple(e for e in info.entities if not retriever.names_collection(e) and not _the_source(e, question, retriever))
    return info if entities == info.entities else replace(info, entities=entities)
