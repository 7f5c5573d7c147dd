"""The no-LLM answerer: pick the evidence sentence from the passages and cut it to the part that answers."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Callable, Sequence

from rag.question import units
from rag.answering.nearmiss import LOOKBACK, counts_another_thing, other_ordinal
from rag.answering.persons import names_a_person
from rag.documents.units import ENTRY_KINDS, IN_FORMULA
from rag.text.numbers import extract_numbers
from rag.question.analysis import (
    COUNT_CLASSIFIERS,
    QuestionInfo,
    asks_for_person,
    glosses,
    date_predicate,
    is_mostly_cjk,
    quoted_names,
)
from rag.question.multifact import alternatives
from rag.answering.figures import asked_unit, best_clause, counts_things, quantities, score_text
from rag.text.tokens import DATE, YEAR_IN_TEXT, trim
from rag.types import Passage
from rag.answering.evidence_units import Evidence, Extract, Ranker

# (a Latin ";", "!" or "?" inside a formula or an expression ends nothing: "DATE(1954;7;20)", "a!=b")
_SENTENCE_RE = re.compile(rf"(?:[^。！？!?；;\n]|{IN_FORMULA})+(?:(?:[。！？；]|(?!{IN_FORMULA})[!?;])+|……|$)")


def sentences(text: str) -> list[tuple[int, int]]:
    """Spans of the sentences of ``text`` (split on Chinese and Western sentence ends and line breaks)."""
    spans = []
    for m in _SENTENCE_RE.finditer(text):
        s, e = m.span()
        while s < e and text[s] in " \u3000\t":
            s += 1
        if e - s >= 2:
            spans.append((s, e))
    return spans


def candidates(info: QuestionInfo, passages: Sequence[Passage], ranker: Ranker | None = None) -> list[Evidence]:
    """Every answer unit of the passages, best first: by the selector, or without one by the question's words."""
    if ranker is not None:
        return ranker(info, passages)
    found: list[Evidence] = []
    for p_i, passage in enumerate(passages):
        for s, e in sentences(passage.text):
            text = passage.text[s:e]
            # earlier passages win ties: retrieval already ranked them
            found.append(Evidence(p_i, s, e, text, score_text(info, text) - 0.01 * p_i))
    return sorted(found, key=lambda ev: -ev.score)


def extract_all(
    info: QuestionInfo,
    passages: Sequence[Passage],
    ranker: Ranker | None = None,
    document_year: Callable[[str], str | None] | None = None,
    compose: Callable[..., str] | None = None,
) -> list[Extract]:
    """The answer in parts: one per year when the question compares years, else at most one.

    ``compose`` turns the best unit into the answer when no figure or date is asked (a procedure's steps).
    """
    if len(info.years) < 2:
        hit = extract(info, passages, ranker, document_year, compose)
        return [hit] if hit else []
    parts = []
    for year in info.years:
        hit = extract(replace(info, years=(year,)), passages, ranker, document_year, compose)
        if hit is None:
            return []  # half an answer to a comparison would mislead
        parts.append(replace(hit, label=f"{year}年"))
    return parts


def extract(
    info: QuestionInfo,
    passages: Sequence[Passage],
    ranker: Ranker | None = None,
    document_year: Callable[[str], str | None] | None = None,
    compose: Callable[..., str] | None = None,
) -> Extract | None:
    """The best evidence sentence and the part of it that answers; None when nothing supports an answer."""
    if info.kind == "count" and (units.asks_share(info.text) or units.asks_duration(info.text)
                                 or units.asked_measure(info.text) == units.TIME_MEASURE):
        # "比例", "几年", "多少天内" name no counted thing, and no evidence says "比例": the kind of number stands in
        info = replace(info, focus="", terms=units.without_asking_words(info.terms))
    every = candidates(info, passages, ranker)
    # the selector judges the question answerable by its best unit of all; the checks below pick among fitting ones
    answerable = every[0].supported if every and every[0].supported is not None else None
    naming = _naming_sources(info, passages)
    ranked = [ev for ev in every if fits(info, ev, passages[ev.passage], document_year, naming)]
    if answerable is not None and ranked:
        ranked = [replace(ev, supported=answerable) if k == 0 else ev for k, ev in enumerate(ranked)]
    if not ranked:
        return None
    if info.kind == "count" and units.asks_share(info.text):
        return _pick(info, ranked, lambda c: any(units.is_share(n) for n in extract_numbers(c))
                     and units.same_whole(info.text, c))
    if info.kind == "count":
        asked = max(1, len(re.findall(rf"多少|几[{COUNT_CLASSIFIERS}]", info.text)))
        if units.asks_duration(info.text):  # "几年": a length of time, not a count found near a "每年"
            return _pick(info, ranked, lambda c: any(units.is_duration(c, n, True) for n in extract_numbers(c)))
        measure = units.asked_measure(info.text)
        if measure:  # "多少公里": a figure in kilometres or metres, or written another way, never "两件大事"
            return _pick(info, ranked, lambda c: any(units.in_measure(c, n, measure) for n in extract_numbers(c)),
                         span=asked, loose=lambda c: not counts_things(c, info.years))
        # (a figure the question states itself is not the one it asks: "budget of 10 million" and "1000万元以上")
        return _pick(info, ranked, lambda c: any(n.value not in info.numbers for n in quantities(c, info.years)),
                     span=asked)
    if info.kind == "date":
        # "when" is answered by a date of the event asked about ("签署"): a sentence without one only
        # mentions the subject, or dates another event of it (a meeting about the agreement)
        event = date_predicate(info.text) if info.is_chinese else ""
        # "从哪天算起": a day told by the event ("购置应税车辆的当日", "收到通知之日起") is a date too
        relative = bool(_WHICH_DAY.search(info.text))

        def dated(text: str) -> bool:
            return bool(DATE.search(text) or (relative and _DAY_OF.search(text)))

        if event not in _LIGHT_VERBS and not any(event in p.chunk.context + p.text for p in passages):
            # the event in the asker's words ("什么时候跟着出新版", "从哪天开始算"), which no passage says: a unit
            # that shares two characters of it ("发布新版本") or is in another language may date it; "签署" is not
            # told by the meeting that discussed it
            tail = _WHEN.split(info.text)[-1]
            asked = {tail[k:k + 2] for k in range(len(tail) - 1)}
            said = [ev for ev in ranked if any(pair in ev.text for pair in asked) or not is_mostly_cjk(ev.text)]
        else:
            said = [ev for ev in ranked if event in ev.text or event[-2:] in ev.text]  # "开始施行": "施行日期"
        if event in _LIGHT_VERBS and not any(dated(ev.text) for ev in said[:_FIGURE_TOP]) and dated(ranked[0].text):
            said = ranked[:1]  # "什么时候开始的" names no event of its own: the selector's best unit, if dated
        return _pick(info, said, dated, whole=True)
    if asks_for_person(info.text):
        return _who(info, ranked, passages)
    if _supported(info, ranked[0]):
        best = ranked[0]  # or a close runner-up it is part of (an entry, term and description): it says more
        best = next((replace(ev, supported=best.supported) for ev in ranked[1:_NEAR_TOP + 1] if ev.supported
                     and ev.passage == best.passage and ev.start <= best.start and best.end <= ev.end), best)
        text = _with_other_case(info, best, trim(compose(best) if compose else best.answer_text), ranked)
        also = runners_up(ranked, text)
        if compose:  # a runner-up from an option's description shows the option it describes
            also = tuple(replace(ev, shown=compose(ev, whole=False)) for ev in also)
        wider = next((ev for ev in also if text.rstrip("。") in ev.answer_text), None)
        if wider is not None:  # the entry the best unit is part of says all it says and more: it answers instead
            best, text = replace(wider, supported=best.supported), trim(wider.answer_text)
            also = tuple(ev for ev in also if ev is not wider and not _repeats(trim(ev.answer_text), text))
        return Extract(text, best, also=also)
    return None


_WHEN = re.compile(r"什么时候|何时|哪一天|哪天|几月几日|几号|哪一?年|哪个月")
_WHICH_DAY = re.compile(r"哪一?天|什么时候|何时|算起|起算")
_DAY_OF = re.compile(r"[\u4e00-\u9fff](?:的当日|的当天|之日|次日|当日起)")

MAX_ALSO = 2  # runners-up shown after the best unit
MAX_ALSO_CHARS = 200  # a runner-up longer than this is left to its citation
MAX_ANSWER_CHARS = 400
_ASKS = ("？", "?")


def _repeats(one: str, other: str) -> bool:
    """One says what the other says: contained in it either way, or the same after an entry's "term：" prefix."""
    one, other = (t.split("：", 1)[-1] if len(t.split("：", 1)[0]) <= 30 else t for t in (one, other))
    return one in other or other in one


def runners_up(ranked: list[Evidence], text: str) -> tuple[Evidence, ...]:
    """The next units the selector rates close to the best (at most two), when it has a verdict on them.

    A question often has its answer split over units (two list items, a rule and its exception), or the
    selector cannot tell two units apart: both are shown, each cited, briefly and never repeating the best.
    """
    found: list[Evidence] = []
    size = len(text)
    for ev in ranked[1:_NEAR_TOP + 1]:
        if len(found) == MAX_ALSO:
            break
        shown = trim(ev.answer_text)
        if not ev.supported or not shown or len(shown) > MAX_ALSO_CHARS or size + len(shown) > MAX_ANSWER_CHARS:
            continue
        if shown.rstrip().endswith(_ASKS):
            continue  # a question in the text ("6.7. 这些目录是干什么用的？") heads an answer, it is not one
        if any(_repeats(shown, other) for other in [text, *(trim(f.answer_text) for f in found)]):
            continue
        found.append(ev)
        size += len(shown)
    return tuple(found)


def _who(info: QuestionInfo, ranked: list[Evidence], passages: Sequence[Passage]) -> Extract | None:
    """A person named in the same passage as the best evidence (or in the same document, saying the deed asked),
    which names what the question names.

    A name from another passage would pin one subject's fact on another document's person.
    """
    best = ranked[0]
    if not _supported(info, best):
        return None
    text = passages[best.passage].text
    glossed = glosses(info.text)  # "自由文本授权（GFDL）": the passage may name the thing only
    if info.is_chinese and any(e not in text and not (e in glossed and glossed[e] in text) for e in info.entities):
        return None
    named = [ev for ev in ranked[:3] if ev.passage == best.passage and _supported(info, ev) and names_a_person(ev.text)]
    # "谁翻译的": a unit of the same document saying who did that goes first ("由 Leo-Hong 翻译整理")
    did = _WHO_DID.search(info.text)
    deed = _deed(did.group(1)) if did else None
    source = passages[best.passage].source
    # (the best unit answers the question's subject; this one says who did the deed: it need not be as close)
    doing = [ev for ev in ranked[:_WHO_TOP] if deed and deed.search(ev.text) and passages[ev.passage].source == source
             and (names_a_person(ev.text) or _BODY.search(ev.text))]
    doer = _DOER_ASKED.search(info.text)  # "……的作者是谁": the unit that gives it as a field ("作者: 佚名")
    if doer and not doing:
        field = re.compile(rf"^\W*{doer.group(1)}\W*[:：]\s*\S")
        doing = [ev for ev in ranked[:_WHO_TOP] if field.match(ev.text) and passages[ev.passage].source == source]
    return next((Extract(trim(ev.answer_text), ev) for ev in doing or named), None)


_DOER_ASKED = re.compile(r"(作者|著者|译者|编者|主编|负责人|联系人|维护者|发布者|开发者|设计者)(?:是谁|是哪位|叫什么)")
_WHO_TOP = 5  # the units a name of the doer asked may come from: the best unit's neighbours in the ranking
# a body that does what is asked ("经……卫生行政部门批准"): "谁批准" is answered by an authority as well as a person
_BODY = re.compile(r"[\u4e00-\u9fff]{2,}(?:部门|机关|政府|委员会|协会|机构|法院|检察院|公司|中心|小组|团队)")
_WHO_DID = re.compile(r"(?:由|是)?谁\s*([\u4e00-\u9fff]{2})")
# who does a deed, by the noun for its doer: "谁写的" is answered by "作者：Steve Oualline" as well as "由……编写"
_DOERS = {"写": "作者|著者", "著": "作者|著者", "译": "译者", "编": "编者|主编", "设计": "设计者|设计师",
          "开发": "开发者|开发人员", "维护": "维护者", "创建": "创建者|创始人", "创办": "创办人|创始人", "发明": "发明者|发明人"}


def _deed(asked: str) -> re.Pattern:
    """What a unit says to tell who did what "谁……" asks: the verb ("写" of "写的", "翻译") or its doer's noun."""
    verb = asked.removesuffix("的")
    doers = [nouns for key, nouns in _DOERS.items() if key in verb]
    return re.compile("|".join([re.escape(verb), *doers]))


def _pick(info: QuestionInfo, ranked: list[Evidence], wanted: Callable[[str], bool], whole: bool = False,
          span: int = 1, loose: Callable[[str], bool] | None = None) -> Extract | None:
    """``loose``: whether the selector's best unit may answer with a figure ``wanted`` does not see ("百分之十");
    by default it may."""
    if ranked and ranked[0].supported is not None:
        return _pick_ranked(info, ranked, wanted, whole, span, loose)
    for ev in ranked[:12]:
        if not _supported(info, ev):
            break
        clause = best_clause(info, ev.answer_text, wanted, span)
        if clause is not None:
            return Extract(trim(ev.answer_text) if whole else clause, ev)
    return None


_LIST_MARK = re.compile(r"^\s*(?:[（(]?[一二三四五六七八九十\d]{1,3}[)）.、]|[-*+•])\s*")  # "（一）", "1.", "-"
_NEAR_TOP = 3  # the selector's runners-up a second fact may come from
_FIGURE_TOP = 8  # the plausible units a figure may come from when the best unit holds none


def _pick_ranked(info: QuestionInfo, ranked: list[Evidence], wanted: Callable[[str], bool], whole: bool,
                 span: int, loose: Callable[[str], bool] | None = None) -> Extract | None:
    """The figure from the selector's best units: it decides whether there is an answer at all (its best
    unit is supported), then the first of its top units that holds the kind of figure asked gives it."""
    if not ranked[0].supported:
        return None
    top = ranked[:_FIGURE_TOP]
    counted = info.focus if info.kind == "count" and info.is_chinese else ""
    if counted:
        # a count of the thing asked ("86件…提案") before a figure of something else ("两件大事") ranked above it;
        # a unit with neither a character of it nor a figure in the unit asked ("几次视察考察活动": "十三届…书画作品展")
        # counts something else
        unit = asked_unit(info.text)
        same = re.compile(rf"[\d零〇一二两三四五六七八九十百千万亿]\s*[余多]?\s*{unit}") if unit else None
        top = sorted((ev for ev in top if set(counted) & set(ev.answer_text) or (same and same.search(ev.answer_text))),
                     key=lambda ev: counted not in ev.answer_text)
    for ev in top:
        if not ev.plausible or counts_another_thing(info, ev.answer_text):
            continue
        clause = best_clause(info, ev.answer_text, wanted, span)
        if clause is None and ev.cases_lead and not whole:  # "（一）采购预算金额在1000万元以上；": one of the
            clause = best_clause(info, ev.cases_lead, wanted, span)  # cases; the figure is its lead-in's
            clause = clause and f"{clause}：{_LIST_MARK.sub('', trim(ev.answer_text))}"
        if clause:
            return Extract(trim(ev.answer_text) if whole else clause, ev)
    best = ranked[0]
    if counts_another_thing(info, best.answer_text):
        return None
    goes_on = _goes_on(best, ranked) if info.kind == "count" else None
    clause = goes_on and best_clause(info, goes_on.answer_text, wanted, span)
    if clause:  # "……以专题协商的形式开展。形成了4个方面……": the figure is in the sentence that goes on from it
        return Extract(clause, goes_on)
    text = best.answer_text
    # (an ordinal is no figure: "第十三条 纳税人应当……" gives no count)
    figures = ([n for n in extract_numbers(text) if n.text not in info.years and text[n.end:n.end + 1] not in "年月"
                and text[max(0, n.start - 1):n.start] != "第"] if info.kind == "count" else DATE.findall(text))
    if best.plausible and figures and (loose is None or loose(text)):
        return Extract(trim(best.answer_text), best)  # a figure written another way ("百分之十")
    return None


def _with_other_case(info: QuestionInfo, best: Evidence, text: str, ranked: list[Evidence]) -> str:
    """"造成残疾或者死亡，还要赔什么": the best sentence tells one of the cases ("造成残疾的，……"); the sentence right
    after it that tells the other ("造成死亡的，……") goes with it."""
    cases = alternatives(info.text)
    told = [case for case in cases if case in text]
    if len(told) != 1:
        return text
    other = next(case for case in cases if case not in told)
    after = _next_unit(best, ranked)
    if after is None or after.kind != best.kind or other not in after.answer_text or told[0] in after.answer_text:
        return text
    return f"{text.rstrip('。')}。{trim(after.answer_text)}"


def _next_unit(best: Evidence, ranked: list[Evidence]) -> Evidence | None:
    return next((ev for ev in ranked if ev.passage == best.passage and 0 <= ev.start - best.end <= 2), None)


def _goes_on(best: Evidence, ranked: list[Evidence]) -> Evidence | None:
    """The sentence right after ``best`` in its passage when it has no subject of its own ("形成了……")."""
    after = _next_unit(best, ranked)
    return after if after is not None and after.kind == "sentence" and _NO_SUBJECT.match(after.text) else None


_NO_SUBJECT = re.compile(r"\s*(?:并|还|又|共|先后|累计|共计|最终|最后)?(?:形成|提出|达成|完成|收到|推出|产生|取得|开展|举办|组织)")


def _naming_sources(info: QuestionInfo, passages: Sequence[Passage]) -> frozenset[str]:
    """The documents whose retrieved passages say every “named” thing of the question."""
    names = [_bare(n) for n in quoted_names(info.text)]
    return frozenset(p.source for p in passages if all(n in _bare(p.chunk.context + p.text) for n in names))


def fits(info: QuestionInfo, ev: Evidence, passage: Passage, document_year, naming: frozenset[str] = frozenset()) -> bool:
    """The sentence speaks of the question's years and the numbers the question states. ``naming``: the documents
    that say the question's “named” things somewhere, under which a list's item may stand."""
    for year in info.years:
        mentioned = YEAR_IN_TEXT.findall(ev.text) + _ISO_YEAR.findall(ev.text)
        if year in mentioned:
            continue
        if mentioned or (document_year is not None and document_year(passage.source) != year):
            return False
    # an entry's id line ("-- 5a1b…") is about the entry below it: its title follows it
    after = _ENTRY_AHEAD if _RECORD_ID.match(ev.text.strip()) else 0
    context = passage.text[max(0, ev.start - LOOKBACK) : ev.end + after]
    if other_ordinal(info, context):
        return False  # "第三期" is not answered by the 第二期's figure
    # a list's items stand under the lead-in that names what they are ("这些代号都来自《玩具总动员》的角色：")
    listed = ev.kind in ENTRY_KINDS and passage.source in naming
    # a name the passage's headings give is what all of it is about ("本办法自……起施行" under the measures' title)
    above = _bare(passage.chunk.context)
    if not listed and any(_bare(name) not in _bare(context) and _bare(name) not in above
                          for name in quoted_names(info.text)):
        return False  # a sentence about another “named” thing, however many words it shares
    if info.numbers:
        # "退出状态 16": the number may be the entry's term just above the unit; "1、2、3 分别" asks for each;
        # "第五讲小结里的……": it may be the heading the passage stands under (not the document's name: "userdel.8")
        headings = passage.chunk.context.partition(" › ")[2]
        present = {n.value for n in extract_numbers(f"{headings}\n{context}")}
        if not any(v in present for v in info.numbers):
            return False
    return True


_ISO_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?=[-/.]\d{1,2}[-/.]\d{1,2}(?!\d))")  # "2012-06-13" says 2012 too
_LIGHT_VERBS = ("开始", "结束", "出现", "发生", "进行", "算起", "起算")  # "什么时候开始的": the subject is the event
_RECORD_ID = re.compile(r"^-{2,3}\s+[0-9a-fA-F-]{16,}$")
_ENTRY_AHEAD = 200


def _bare(text: str) -> str:
    """Only the words: a quoted “先到先得” is the text's 先到，先得."""
    return re.sub(r"[\W_]+", "", text)


def _supported(info: QuestionInfo, ev: Evidence) -> bool:
    """Enough of the question is in the unit to call it evidence: the selector's verdict, or without one its words."""
    if ev.supported is not None:
        return ev.supported
    if not info.is_chinese:
        # a question in another language needs its (translated) words there: its focus, or two of them
        found = [t for t in info.terms if t.lower() in ev.text.lower()]
        # (one is enough when a person must also be named in the sentence)
        if not found or (not info.focus and len(found) < 2 and not asks_for_person(info.text)):
            return False
        if not info.focus:
            return True
    return ev.score >= (1.5 if info.focus else 0.34)
