"""answer(): retrieve, check the evidence, generate with an LLM or extract, verify citations and numbers."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import replace
from typing import Iterator, Sequence


from rag.answering import prompts
from rag.answering.citations import (
    add_missing_markers,
    build_citations,
    keep_valid_markers,
    markers,
    strip_markers,
    unsupported_numbers,
)
from rag.errors import LLMUnavailable, RagError
from rag.answering import nearmiss
from rag.answering import phrasing
from rag.answering.extractive import Evidence, Extract, extract_all, fits, names_a_cited_person, sentences
from rag.text.numbers import extract_numbers
from rag.answering.matching import figure_extract, figure_item, other_year
from rag.question.compare import sub_questions
from rag.index.ingestion import ensure_index
from rag.llm import BACKEND_NAMES, LLM, auto_llm, get_llm
from rag.question.analysis import (
    QuestionInfo,
    YEAR_RE,
    asks_for_person,
    analyse,
    is_mostly_cjk,
    follow_up_focus,
    is_follow_up,
    last_user_question,
    normalise_history,
    rewrite_follow_up,
    validate,
)
from rag.retrieval.hybrid import Retriever, get_retriever
from rag.settings import Settings, get_settings
from rag.types import Answer, Passage

log = logging.getLogger(__name__)

NOT_FOUND = "文档中没有提到这一点。"
# A small model may echo a passage's header or the fences around its text: neither is an answer.
_ECHOED_HEADER = re.compile(r"^\s*(?:\[\d+\]\s*来源[:：].*|<<<[^<>\n]*>>>\s*)$", re.M)
_ABSTAIN_RE = re.compile(r"文档中没有|资料中没有|没有提到|未提及|没有提及|无法回答|无法从资料|not mentioned|does not say|doesn't say", re.I)


def answer(question: str, history=None, *, backend: str | None = None, top_k: int | None = None,
           settings: Settings | None = None) -> Answer:
    """Answer ``question`` from the indexed documents, with verified citations (see ``stream_answer``)."""
    final = None
    for item in stream_answer(question, history, backend=backend, top_k=top_k, settings=settings):
        if isinstance(item, Answer):
            final = item
    return final


def stream_answer(question: str, history=None, *, backend: str | None = None, top_k: int | None = None,
                  settings: Settings | None = None) -> Iterator[str | Answer]:
    """Yield text pieces while the answer is generated; the last item is the verified ``Answer``."""
    settings = settings or get_settings()
    question = validate(question, settings.max_question_chars)
    history = normalise_history(history)
    name = _backend_name(backend or settings.backend)
    llm, flags = _choose_llm(name, settings)
    ensure_index(settings)
    retriever = get_retriever(settings)
    standalone, focus = _standalone(question, history, llm, settings)
    t0 = time.perf_counter()
    subs, labels = sub_questions(standalone) if llm is None else ([standalone], [])
    if len(subs) > 1:  # several facts asked at once: each is found and cited on its own
        several = _several(subs, question, standalone, retriever, top_k or settings.top_k, flags, labels)
        if several is not None:
            yield several
            return
    passages = retriever.search(standalone, top_k or settings.top_k)
    timings = {"retrieval": time.perf_counter() - t0}
    info = _analyse(standalone, focus, retriever)
    base = dict(question=question, passages=passages, standalone_question=standalone, timings=timings)
    gap = evidence_gap(info, passages, retriever)
    if gap and llm is None and _missing_year(info, passages, retriever):
        told = _other_year(info, passages, retriever, flags + ["evidence-gap"], base)
        if told is not None:  # the year asked is absent, but the same figure of another year is there
            yield told
            return
    if gap:
        yield Answer(text=f"{NOT_FOUND}（{gap}）", abstained=True, backend=llm.name if llm else "extractive",
                     flags=flags + ["evidence-gap"], **base)
        return
    t1 = time.perf_counter()
    if llm is None:
        result = _extractive(info, passages, retriever, flags, base)
    else:
        result = yield from _generate(llm, info, passages, retriever, settings, flags, base)
    timings["generation"] = time.perf_counter() - t1
    yield result


def warm_up(settings: Settings | None = None) -> None:
    """Load the index, the embedding model, the Chinese tokenizers and the English–Chinese dictionary now,
    so the first question (in either language) is not slow."""
    settings = settings or get_settings()
    get_retriever(settings).embedder.embed_query("预热")
    analyse("2024年形成了多少份协商报告？")
    try:
        from rag.text.lexicon import get_index

        get_index()
    except (ImportError, RagError):  # without the dictionary English questions match verbatim words only
        log.info("English-Chinese dictionary not available: English questions match verbatim words only")


def _backend_name(name: str) -> str:
    name = (name or "auto").strip().lower()
    if name not in BACKEND_NAMES:
        raise ValueError(f"未知的回答后端 {name!r}；可选：{', '.join(BACKEND_NAMES)}")
    return name


def _choose_llm(name: str, settings: Settings) -> tuple[LLM | None, list[str]]:
    """The LLM for a backend name (None = extractive); ``auto`` takes the first ready one of ``auto_candidates``."""
    if name == "extractive":
        return None, []
    if name == "auto":
        llm, reason = auto_llm(settings)
        if llm is None:
            log.info("auto backend: answering extractively (%s)", reason)
            return None, ["auto-extractive"]
        return llm, []
    llm = get_llm(name, settings)
    llm.check()
    return llm, []


def _standalone(question: str, history: list[dict], llm: LLM | None, settings: Settings) -> tuple[str, str | None]:
    """The follow-up rewritten into a standalone question, and what it newly asks about."""
    if not history or not last_user_question(history):
        return question, None
    focus = follow_up_focus(question) if is_follow_up(question) else None
    if llm is not None and len(question) <= 40:
        rewritten = _llm_rewrite(question, history, llm, settings)
        if rewritten:
            return rewritten, focus or None
    rewritten = rewrite_follow_up(question, history)
    return rewritten, (focus or None) if rewritten != question else None


def _llm_rewrite(question: str, history: list[dict], llm: LLM, settings: Settings) -> str | None:
    turns = "\n".join(f"{'用户' if m['role'] == 'user' else '助手'}：{m['content'][:300]}" for m in history[-6:])
    prompt = prompts.render("rewrite", settings.prompts_dir, history=turns, question=question)
    try:
        text = "".join(llm.chat([{"role": "user", "content": prompt}], max_tokens=80, temperature=0.0))
    except LLMUnavailable:
        return None
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    line = line.removeprefix("完整问题：").strip()
    # A small model may answer instead of rewriting: keep the rewrite only when it still asks the follow-up.
    years = YEAR_RE.findall(question)
    if not line or len(line) > 3 * (len(question) + 40) or any(y not in line for y in years):
        return None
    # ...or echo a template token ("<|im_end|>"): a rewrite keeps two adjacent characters of the follow-up.
    if not any(w[i : i + 2] in line for w in re.findall(r"\w{2,}", question) for i in range(len(w) - 1)):
        return None
    return line


def evidence_gap(info: QuestionInfo, passages: Sequence[Passage], retriever: Retriever) -> str | None:
    """Why the passages cannot answer the question (a year, place or name they never mention), or None."""
    if not passages:
        return "索引中没有可检索的文档"
    joined = "\n".join(p.text for p in passages)
    year = _missing_year(info, passages, retriever)
    if year:
        return f"检索到的资料中没有关于{year}年的内容"
    if not info.is_chinese:
        # whole-text similarity to anything is high (emoji, "asdfghjkl" score like real questions),
        # so a question without Chinese needs one of its words in the passages
        if not info.terms:
            return "问题中没有可以在文档里查找的内容"
        if not any(t.lower() in joined.lower() for t in info.terms):
            return "检索到的资料与问题无关"
    if info.is_chinese:
        for name in info.entities:
            if name.lower() not in joined.lower():
                return f"检索到的资料中没有提到“{name}”"
        # a count question in other words may still match a figure by meaning (checked when extracting)
        unrelated = info.terms and not any(t in joined for t in info.terms) and info.focus not in joined
        if unrelated and info.focus and info.kind != "count":
            return "检索到的资料与问题无关"
    return None


def _missing_year(info: QuestionInfo, passages: Sequence[Passage], retriever: Retriever) -> str | None:
    """A year the question asks about that no passage mentions or is about."""
    joined = "\n".join(p.text for p in passages)
    for year in info.years:
        if year not in joined and all(retriever.document_year(p.source) != year for p in passages):
            return year
    return None


def _analyse(question: str, focus, retriever: Retriever) -> QuestionInfo:
    vocabulary = None if is_mostly_cjk(question) else retriever.vocabulary()
    return analyse(question, focus, vocabulary, retriever.is_common)


def _parts(info: QuestionInfo, passages, retriever) -> tuple[list[Extract], list[str]]:
    """The extractive answer in parts, and flags saying how it was found."""
    # no passage-side embedding at question time: sentences are ranked by the question's words
    parts = extract_all(info, passages, None, retriever.document_year)
    if not parts and info.kind == "count" and len(info.years) < 2 and (info.is_chinese or info.focus):
        hit = figure_extract(info, passages, retriever)
        if hit is not None:
            return [hit], ["figure-match"]
    return parts, []


def _several(subs: list[str], question: str, standalone: str, retriever: Retriever, top_k: int,
             flags, labels: Sequence[str] = ()) -> Answer | None:
    """One answer per single-fact question, each cited to its own passage (None unless every one is found)."""
    t0 = time.perf_counter()
    merged: list[Passage] = []
    position: dict[str, int] = {}
    texts, quotes, missing = [], {}, 0
    for k, sub in enumerate(subs):
        passages = retriever.search(sub, top_k)
        info = _analyse(sub, None, retriever)
        parts, how = ([], []) if evidence_gap(info, passages, retriever) else _parts(info, passages, retriever)
        if len(parts) == 1 and _miss_reason(info, parts[0], passages) is not None:
            parts = []  # a related figure is not this part's answer
        if not parts:
            missing += 1
            continue
        flags = flags + [f for f in how if f not in flags]
        for hit in parts:
            p = passages[hit.evidence.passage]
            if p.chunk.id not in position:
                position[p.chunk.id] = len(merged)
                merged.append(replace(p, rank=len(merged) + 1))
            n = position[p.chunk.id] + 1
            label = labels[k] if k < len(labels) else hit.label
            texts.append(f"{label}{'：' if label else ''}{strip_markers(hit.answer)}[{n}]")
            quotes.setdefault(n, strip_markers(hit.evidence.text).strip())
    if missing:
        return None  # answered as one question instead, which may still find every figure in one sentence
    timings = {"retrieval": time.perf_counter() - t0}
    base = dict(question=question, passages=merged, standalone_question=standalone, timings=timings)
    text = "；".join(texts) + "。"
    return Answer(text=text, citations=build_citations(text, merged, quotes), backend="extractive",
                  flags=flags + ["several-facts"], **base)


def _extractive(info: QuestionInfo, passages, retriever, flags, base) -> Answer:
    parts, how = _parts(info, passages, retriever)
    flags = flags + how
    if not parts:
        told = _other_year(info, passages, retriever, flags, base)
        if told is not None:
            return told
        return Answer(text=NOT_FOUND, abstained=True, backend="extractive", flags=flags + ["no-evidence"], **base)
    if len(parts) == 1:
        missed = _near_miss(info, parts[0], passages, flags, base)
        if missed is not None:
            return missed
    return _from_extracts(parts, passages, flags, base, info)


def _miss_reason(info: QuestionInfo, hit: Extract, passages) -> tuple[str, bool] | None:
    text = passages[hit.evidence.passage].text
    context = text[max(0, hit.evidence.start - nearmiss.LOOKBACK) : hit.evidence.end]
    return nearmiss.describe(info, hit.answer, context)


def _near_miss(info: QuestionInfo, hit: Extract, passages, flags, base) -> Answer | None:
    """An abstention that tells the related figure the documents do hold (another ordinal, a subset)."""
    found = _miss_reason(info, hit, passages)
    if found is None:
        return None
    reason, related = found
    n = hit.evidence.passage + 1
    if not related:
        return Answer(text=f"{NOT_FOUND}（{reason}）", abstained=True, backend="extractive",
                      flags=flags + ["near-miss"], **base)
    said = f"{reason}，只提到：{strip_markers(hit.answer)}[{n}]。"
    quotes = {n: strip_markers(hit.evidence.text).strip()}
    return Answer(text=said, citations=build_citations(said, passages, quotes), abstained=True,
                  backend="extractive", flags=flags + ["near-miss"], **base)


def _other_year(info: QuestionInfo, passages, retriever, flags, base) -> Answer | None:
    """An abstention that tells the same figure of another year, cited ("…只提到2024年86件重点督办提案[1]")."""
    found = other_year(info, passages, retriever)
    if found is None:
        return None
    fact, p_i, year = found
    n = p_i + 1
    item = strip_markers(figure_item(fact))
    asked = "、".join(f"{y}年" for y in info.years)
    said = f"文档没有给出{asked}的{info.focus}，只提到{year}年{item}[{n}]。"
    quotes = {n: strip_markers(fact.lead + fact.clause).strip()}
    return Answer(text=said, citations=build_citations(said, passages, quotes), abstained=True,
                  backend="extractive", flags=flags + ["near-miss", "other-year"], **base)


def _from_extracts(parts: list[Extract], passages, flags, base, info: QuestionInfo | None = None) -> Answer:
    texts, quotes = [], {}
    for hit in parts:
        n = hit.evidence.passage + 1
        # a "[3]" or "【来源5】" written in the document is not ours: only the marker added here may cite
        texts.append(f"{hit.label}{'：' if hit.label else ''}{strip_markers(hit.answer)}[{n}]")
        quotes.setdefault(n, strip_markers(hit.evidence.text).strip())
    text = "；".join(texts) + "。"
    if info is not None and len(parts) == 1 and not parts[0].label:
        hit = parts[0]
        text = phrasing.sentence(info, strip_markers(hit.answer), passages[hit.evidence.passage].text,
                                 f"[{hit.evidence.passage + 1}]", hit.evidence.text)
    return Answer(text=text, citations=build_citations(text, passages, quotes), backend="extractive", flags=flags, **base)


def _generate(llm: LLM, info, passages, retriever, settings, flags, base):
    """Stream the LLM's answer, then verify markers and numbers; fall back to extraction when unsupported."""
    messages = _messages(info.text, passages, settings)
    pieces: list[str] = []
    for piece in llm.chat(messages, max_tokens=settings.llm_max_tokens, temperature=settings.llm_temperature):
        pieces.append(piece)
        yield piece
    text = keep_valid_markers(_ECHOED_HEADER.sub("", "".join(pieces)).strip(), len(passages))
    if _ABSTAIN_RE.search(text):
        return Answer(text=NOT_FOUND, abstained=True, backend=llm.name, flags=flags, **base)
    if len(re.findall(r"\w", strip_markers(text))) < 2:
        # a small model may only echo the prompt's passage headers: nothing to verify, so extract
        return _extractive(info, passages, retriever, flags + ["empty-llm-answer", "fallback-extractive"], base)
    text = add_missing_markers(text, passages)
    bad = unsupported_numbers(text, passages)
    if bad:
        log.info("%s answer had numbers not in its cited passages (%s): answering extractively", llm.name, bad)
        return _extractive(info, passages, retriever, flags + ["unsupported-number", "fallback-extractive"], base)
    if _off_target(info, text, passages, retriever):
        # the figure is in the passages but answers another year, ordinal or a subset: the extractive
        # path tells that near-miss as it is
        log.info("%s answer used a figure that does not answer the question: answering extractively", llm.name)
        return _extractive(info, passages, retriever, flags + ["off-target-figure", "fallback-extractive"], base)
    if asks_for_person(info.text) and not names_a_cited_person(strip_markers(text), passages,
                                                                [i - 1 for i in markers(text)]):
        log.info("%s answer to a who question names no person of its cited passages: answering extractively", llm.name)
        return _extractive(info, passages, retriever, flags + ["no-person", "fallback-extractive"], base)
    return Answer(text=text, citations=build_citations(text, passages), backend=llm.name, flags=flags, **base)


def _off_target(info: QuestionInfo, text: str, passages, retriever) -> bool:
    """Whether a count answer's figure comes from a sentence of another year, ordinal or a subset."""
    if info.kind != "count" or not info.is_chinese:
        return False
    cited = [i - 1 for i in markers(text) if 1 <= i <= len(passages)]
    figures = [n for n in extract_numbers(strip_markers(text)) if f"{n.text}年" not in text and n.text not in info.years]
    for n in figures:
        holders = [(i, s, e) for i in cited for s, e in sentences(passages[i].text)
                   if n.value in {m.value for m in extract_numbers(passages[i].text[s:e])}]
        if not holders:
            continue
        if all(_misses(info, passages, i, s, e, n, retriever) for i, s, e in holders):
            return True
    return False


def _misses(info: QuestionInfo, passages, i: int, start: int, end: int, number, retriever) -> bool:
    text = passages[i].text
    evidence = Evidence(i, start, end, text[start:end], 0.0)
    if not fits(info, evidence, passages[i], retriever.document_year):
        return True
    clause = next((c for c in re.split(r"[，,；;。、]", evidence.text) if number.text in c), evidence.text)
    return nearmiss.describe(info, clause, text[max(0, start - nearmiss.LOOKBACK) : end]) is not None


def _messages(question: str, passages: Sequence[Passage], settings: Settings) -> list[dict]:
    blocks = "\n\n".join(
        # markers written inside a document are removed, so any marker in the reply is the model's own
        prompts.render("passage", settings.prompts_dir, index=i + 1, source=prompts.quote_data(p.source),
                       text=prompts.quote_data(strip_markers(p.text)))
        for i, p in enumerate(passages)
    )
    system = prompts.render("system", settings.prompts_dir)
    user = prompts.render("answer", settings.prompts_dir, passages=blocks, question=question)
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


__all__ = ["answer", "stream_answer", "warm_up", "evidence_gap", "NOT_FOUND"]
