"""answer(): retrieve, check the evidence, generate with an LLM or extract, verify citations and numbers."""

from __future__ import annotations

import logging
from dataclasses import replace
import re
import time
from typing import Iterator, Sequence

from rag.answering import prompts
from rag.answering.citations import build_citations, markers, strip_markers, unsupported_numbers
from rag.answering import nearmiss
from rag.answering.evidence import NOT_FOUND, analyse_question, evidence_gap, missing_year
from rag.answering.evidence_units import Evidence
from rag.answering.extractive import fits, sentences
from rag.answering.persons import names_a_cited_person
from rag.answering.offline import extractive, other_year_answer, several
from rag.answering.selection import with_pointed
from rag.errors import LLMUnavailable, RagError
from rag.index.ingestion import ensure_index
from rag.llm import BACKEND_NAMES, LLM, auto_llm, get_llm
from rag.question.analysis import QuestionInfo, YEAR_RE, asks_for_person, analyse, validate
from rag.question.followup import follow_up_focus, is_follow_up, rewrite_follow_up, search_context
from rag.question.history import last_user_question, normalise_history
from rag.question.besides import set_aside
from rag.question.compare import narrowed, split_asks, sub_questions
from rag.question.time import resolve_relative_time
from rag.retrieval.hybrid import get_retriever
from rag.settings import Settings, get_settings
from rag.text.numbers import extract_numbers
from rag.types import Answer, Passage

log = logging.getLogger(__name__)

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
    from rag.answering import limits

    settings = settings or get_settings()
    question = validate(question, settings.max_question_chars)
    top_k = limits.check_top_k(top_k)  # below 1 is an error; an absurd value is capped
    history = normalise_history(history)
    name = _backend_name(backend or settings.backend)
    llm, flags = _choose_llm(name, settings)
    ensure_index(settings)
    retriever = get_retriever(settings)
    standalone, focus = _standalone(question, history, llm, settings)
    asked, aside = set_aside(standalone)  # "除了 A 和 B，还有哪些…": A and B are not what is sought
    t0 = time.perf_counter()
    subs, labels = sub_questions(asked) if llm is None else ([asked], [])
    if len(subs) > 1:  # several facts asked at once: each is found and cited on its own
        apart = several(subs, question, standalone, retriever, top_k or settings.top_k, flags, labels,
                        separate=bool(split_asks(asked)))  # two questions: one found is an answer with the other missing
        if apart is not None:
            yield apart
            return
    passages = retriever.search(search_context(narrowed(asked) or asked, history), top_k or settings.top_k)
    timings = {"retrieval": time.perf_counter() - t0}
    info = replace(analyse_question(asked, focus, retriever), aside=aside)
    passages = with_pointed(info, passages, retriever)
    base = dict(question=question, passages=passages, standalone_question=standalone, timings=timings)
    gap = evidence_gap(info, passages, retriever)
    if gap and llm is None and missing_year(info, passages, retriever):
        told = other_year_answer(info, passages, retriever, flags + ["evidence-gap"], base)
        if told is not None:  # the year asked is absent, but the same figure of another year is there
            yield told
            return
    if gap:
        yield Answer(text=f"{NOT_FOUND}（{gap}）", abstained=True, backend=llm.name if llm else "extractive",
                     flags=flags + ["evidence-gap"], **base)
        return
    t1 = time.perf_counter()
    if llm is None:
        result = extractive(info, passages, retriever, flags, base)
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
    """The follow-up rewritten into a standalone question, and what it newly asks about; relative years resolved."""
    standalone, focus = _rewritten(question, history, llm, settings)
    return resolve_relative_time(standalone), focus


def _rewritten(question: str, history: list[dict], llm: LLM | None, settings: Settings) -> tuple[str, str | None]:
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
    from rag.answering import vetting  # the rewrite is bounded like an answer: stop tokens, caps, deadline

    turns = "\n".join(f"{'用户' if m['role'] == 'user' else '助手'}：{m['content'][:300]}" for m in history[-6:])
    prompt = prompts.render("rewrite", settings.prompts_dir, history=turns, question=question)
    try:
        text = "".join(vetting.bounded_chat(llm, [{"role": "user", "content": prompt}], settings, max_tokens=80))
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
    # ...or bring in what nobody said: markup, a link, a name in Latin letters the conversation never used
    said = (question + "\n" + turns).lower()
    if _MARKUP.search(line) or any(w.lower() not in said for w in _LATIN_NAME.findall(line)):
        return None
    return line


_MARKUP = re.compile(r"://|!\[|\]\(|<[A-Za-z/!|]|\bwww\.", re.I)
_LATIN_NAME = re.compile(r"[A-Za-z][\w.+-]*[A-Za-z0-9]")


def _generate(llm: LLM, info, passages, retriever, settings, flags, base):
    """Stream the LLM's answer within bounds, vet it (``vetting``: plain text, supported sentences), check its
    numbers, figures and people; fall back to extraction when it does not hold."""
    from rag.answering import vetting

    # the model reads the whole question, 除了 clause and all (only the search leaves out what it sets aside)
    stream = vetting.bounded_chat(llm, _messages(base['standalone_question'], passages, settings), settings)
    yield from stream
    v = vetting.vet(stream, passages, settings.llm_deadline, _ECHOED_HEADER, _ABSTAIN_RE)
    flags, text, why = flags + v.flags, v.text, v.why
    if v.abstained:
        return v.noted(Answer(text=NOT_FOUND, abstained=True, backend=llm.name, flags=flags, **base))
    if why is None and unsupported_numbers(text, passages):
        why = "unsupported-number"
    elif why is None and _off_target(info, text, passages, retriever):
        why = "off-target-figure"  # the figure answers another year, ordinal or a subset: extraction tells so
    elif why is None and asks_for_person(info.text) and not names_a_cited_person(
            strip_markers(text), passages, [i - 1 for i in markers(text)]):
        why = "no-person"
    if why is not None:
        log.info("%s answer did not hold (%s): answering extractively", llm.name, why)
        extra = [why] if why not in flags else []
        return v.noted(extractive(info, passages, retriever, flags + extra + ["fallback-extractive"], base))
    return v.noted(Answer(text=text, citations=build_citations(text, passages), backend=llm.name, flags=flags, **base))


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
        prompts.render("passage", settings.prompts_dir, index=i + 1, source=prompts.quote_name(p.source),
                       text=prompts.quote_data(strip_markers(p.text)))
        for i, p in enumerate(passages)
    )
    system = prompts.render("system", settings.prompts_dir)
    user = prompts.render("answer", settings.prompts_dir, passages=blocks, question=question)
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


__all__ = ["answer", "stream_answer", "warm_up", "evidence_gap", "NOT_FOUND"]
