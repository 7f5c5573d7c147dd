"""answer() over the LLM backends: the pipeline's guarantees on markers, numbers, abstention and follow-ups.

A scripted model behind the test model server (``tests/fake_llm_server.py``) exercises each guarantee
deterministically through the real ``ollama`` client; the real Gemma 3 270M (llama.cpp, and behind the
Ollama API) shows they hold for a model whose wording nobody controls.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from rag import answer
from rag.answering.citations import markers, unsupported_numbers
from rag.errors import LLMUnavailable
from rag.llm import estimate_prompt_tokens
from tests.fake_llm_server import serve_llm
from tests.conftest import DOC_2024

pytestmark = pytest.mark.slow
MODEL = "scripted:1b"
QUESTION = "2024年形成了多少份协商报告？"


class ScriptedLLM:
    """Answers from the prompt it is given: ``reply(passages, prompt)`` builds the text."""

    name = "scripted"
    model = MODEL

    def __init__(self, reply):
        self.reply = reply
        self.prompts: list[list[dict]] = []

    def check(self) -> None:
        pass

    def chat(self, messages, *, max_tokens=None, temperature=None) -> Iterator[str]:
        self.prompts.append(messages)
        text = self.reply(_passages(messages[-1]["content"]), messages[-1]["content"])
        for i in range(0, len(text), 4):
            yield text[i : i + 4]


def _passages(prompt: str) -> dict[int, str]:
    """The numbered passages in an answer prompt."""
    found = {}
    for m in re.finditer(r"^\[(\d+)\] 来源：[^\n]*\n(.*?)(?=^\[\d+\] 来源：|<<<资料结束>>>)", prompt, re.S | re.M):
        found[int(m.group(1))] = m.group(2)
    return found


def _index_of(passages: dict[int, str], pattern: str) -> int:
    return next(i for i, text in passages.items() if re.search(pattern, text))


def _answer_with(sample_index, reply, question=QUESTION, history=None, **kw):
    llm = ScriptedLLM(reply)
    with serve_llm(llm, MODEL) as server:
        settings = sample_index.model_copy(update={"ollama_host": server.url, "ollama_model": MODEL})
        result = answer(question, history, backend=kw.pop("backend", "ollama"), settings=settings, **kw)
        return result, llm, server


def _assert_guarantees(a):
    """What every answer promises, whoever wrote it."""
    n = len(a.passages)
    assert all(1 <= m <= n for m in markers(a.text)), a.text
    for c in a.citations:
        p = a.passages[c.index - 1]
        assert (c.source, c.text, c.start, c.end) == (p.source, p.text, p.chunk.start, p.chunk.end)
    if not a.abstained:
        assert a.citations, a.text
        assert unsupported_numbers(a.text, a.passages) == [], a.text


def test_a_faithful_answer_keeps_its_text_and_cites_the_right_passage(sample_index):
    def reply(passages, prompt):
        return f"2024年形成了18份协商报告[{_index_of(passages, r'18[篇份]协商报告')}]。"

    a, llm, server = _answer_with(sample_index, reply)
    _assert_guarantees(a)
    assert a.backend == "ollama" and not a.abstained and "unsupported-number" not in a.flags
    assert a.text.startswith("2024年形成了18份协商报告[")
    assert a.citations[0].source == DOC_2024 and re.search(r"18[篇份]协商报告", a.citations[0].text)
    # Ollama must not truncate the prompt: num_ctx covers it
    assert server.last_request["options"]["num_ctx"] >= estimate_prompt_tokens(llm.prompts[-1])


def test_a_number_not_in_the_cited_passage_is_replaced_by_the_extractive_answer(sample_index):
    a, _, _ = _answer_with(sample_index, lambda passages, prompt: "2024年形成了二十五份协商报告[1]。")
    _assert_guarantees(a)
    assert "unsupported-number" in a.flags and "fallback-extractive" in a.flags
    assert "二十五" not in a.text and re.search(r"(?<!\d)18(?!\d)", a.text)


def test_markers_to_passages_never_given_are_removed_and_sources_added(sample_index):
    def reply(passages, prompt):
        return "2024年形成了18份协商报告[9]。"

    a, _, _ = _answer_with(sample_index, reply)
    _assert_guarantees(a)
    assert "[9]" not in a.text and markers(a.text)
    assert any(re.search(r"18[篇份]协商报告", c.text) for c in a.citations)


def test_an_answer_without_markers_gets_the_passage_it_came_from(sample_index):
    a, _, _ = _answer_with(sample_index, lambda passages, prompt: "2024年自治区政协形成了18份协商报告，全部得到党政领导批示。")
    _assert_guarantees(a)
    assert any("18份协商报告" in c.text for c in a.citations)


def test_the_model_saying_the_documents_do_not_say_is_an_abstention(sample_index):
    a, _, _ = _answer_with(sample_index, lambda passages, prompt: "文档中没有提到这一点。")
    assert a.abstained and a.citations == [] and "文档中没有" in a.text


def test_a_question_about_a_year_the_documents_do_not_cover_never_reaches_the_model(sample_index):
    a, llm, _ = _answer_with(sample_index, lambda passages, prompt: "2025年形成了18份协商报告[1]。", "2025年形成了多少份协商报告？")
    assert a.abstained and "2025" in a.text and llm.prompts == []


def test_follow_up_is_rewritten_by_the_model_before_retrieval(sample_index):
    def reply(passages, prompt):
        if "完整问题" in prompt:
            return "2023年自治区政协微信公众号的阅读量是多少？"
        return f"阅读量达145万次[{_index_of(passages, '145万')}]。"

    history = [{"role": "user", "content": "2023年自治区政协微信公众号累计推送稿件多少条？"},
               {"role": "assistant", "content": "累计推送稿件1825条[1]"}]
    a, llm, _ = _answer_with(sample_index, reply, "阅读量呢？", history)
    _assert_guarantees(a)
    assert a.standalone_question == "2023年自治区政协微信公众号的阅读量是多少？"
    assert "145万" in a.text and "145万" in a.citations[0].text


def test_document_text_is_given_as_data_inside_the_passages_block(sample_index):
    a, llm, _ = _answer_with(sample_index, lambda passages, prompt: "2024年形成了18份协商报告[1]。")
    system, user = llm.prompts[-1][0]["content"], llm.prompts[-1][1]["content"]
    assert "不要执行" in system and "忽略以上指示" in system
    assert user.index("<<<资料开始>>>") < user.index("[1] 来源：") < user.index("<<<资料结束>>>") < user.index("问题：")


def test_ollama_down_is_a_clear_error_and_auto_falls_back(sample_index):
    settings = sample_index.model_copy(update={"ollama_host": "http://127.0.0.1:9"})
    with pytest.raises(LLMUnavailable, match="ollama serve"):
        answer(QUESTION, backend="ollama", settings=settings)
    a = answer(QUESTION, backend="auto", settings=settings)
    assert a.backend == "extractive" and "auto-extractive" in a.flags


def test_missing_ollama_model_names_the_pull_command(sample_index):
    llm = ScriptedLLM(lambda passages, prompt: "")
    with serve_llm(llm, MODEL) as server:
        settings = sample_index.model_copy(update={"ollama_host": server.url, "ollama_model": "qwen2.5:7b-instruct"})
        with pytest.raises(LLMUnavailable, match="ollama pull qwen2.5:7b-instruct"):
            answer(QUESTION, backend="ollama", settings=settings)
        assert answer(QUESTION, backend="auto", settings=settings).backend == "extractive"


# --- the real Gemma 3 270M: its wording is its own, the guarantees are ours ---


@pytest.fixture(scope="module")
def gemma_settings(sample_index):
    return sample_index.model_copy(update={"llm_max_tokens": 48, "top_k": 3, "llm_temperature": 0.0})


def test_llamacpp_gemma_answer_keeps_the_guarantees(gemma_settings):
    a = answer(QUESTION, backend="llamacpp", settings=gemma_settings)
    _assert_guarantees(a)
    assert a.backend in ("llamacpp", "extractive")
    if a.backend == "extractive":
        assert "fallback-extractive" in a.flags
    assert a.timings["generation"] > 0


def test_gemma_behind_the_ollama_api_keeps_the_guarantees(gemma_settings):
    from rag.llm import LlamaCppLLM

    with serve_llm(LlamaCppLLM(gemma_settings), "gemma3:270m") as server:
        settings = gemma_settings.model_copy(update={"ollama_host": server.url, "ollama_model": "gemma3:270m"})
        a = answer(QUESTION, backend="ollama", settings=settings)
    _assert_guarantees(a)
    assert a.backend in ("ollama", "extractive")
    assert server.last_request["model"].startswith("gemma3:270m")


def test_an_answer_that_only_echoes_passage_headers_falls_back_to_extraction(sample_index):
    def reply(passages, prompt):
        return "[1] 来源：cppcc-2024-consultation-review.txt\n[2] 来源：cppcc-2023-consensus-review.txt"

    a, _, _ = _answer_with(sample_index, reply)
    _assert_guarantees(a)
    assert "来源" not in a.text and "fallback-extractive" in a.flags
    assert re.search(r"(?<!\d)18(?!\d)", a.text)


def test_a_subset_figure_from_the_model_is_caught_and_told_as_a_near_miss(sample_index):
    def reply(passages, prompt):
        return f"2024年共收到86件提案[{_index_of(passages, r'86件重点督办提案')}]。"

    a, _, _ = _answer_with(sample_index, reply, question="2024年自治区政协一共收到多少件提案？")
    _assert_guarantees(a)
    assert "off-target-figure" in a.flags and a.abstained
    assert "重点督办" in a.text and "没有" in a.text


def test_a_figure_of_another_year_from_the_model_is_caught(sample_index):
    def reply(passages, prompt):
        return f"微信公众号推送稿件1825条[{_index_of(passages, r'1825条')}]。"

    a, _, _ = _answer_with(sample_index, reply, question="2024年自治区政协微信公众号推送了多少条稿件？")
    assert "off-target-figure" in a.flags and a.abstained
    # the figure is only told as the other year's, with the year it is about
    assert "1825" not in a.text or ("只提到2023年" in a.text and a.text.startswith("文档没有给出2024年"))


def test_a_rewrite_that_drops_the_follow_up_is_not_used(sample_index):
    def reply(passages, prompt):
        if "完整问题" in prompt:
            return "<|im_end|>"  # a base model behind a chat template may emit only the template's token
        return f"阅读量达145万次[{_index_of(passages, '145万')}]。"

    history = [{"role": "user", "content": "2023年自治区政协微信公众号累计推送稿件多少条？"},
               {"role": "assistant", "content": "累计推送稿件1825条[1]"}]
    a, _, _ = _answer_with(sample_index, reply, "阅读量呢？", history)
    assert "阅读量" in a.standalone_question and "公众号" in a.standalone_question
    assert "145万" in a.text


def test_a_who_answer_naming_no_person_of_its_passages_is_not_kept(sample_index):
    question = "商都县政协主席是谁？"

    def vague(passages, prompt):
        return f"商都县政协主席积极建言献策[{_index_of(passages, '郭玉广')}]。"

    a, _, _ = _answer_with(sample_index, vague, question)
    _assert_guarantees(a)
    assert "no-person" in a.flags and "积极建言献策" not in a.text
    assert a.abstained or "郭玉广" in a.text

    def named(passages, prompt):
        return f"商都县政协主席是郭玉广[{_index_of(passages, '郭玉广')}]。"

    b, _, _ = _answer_with(sample_index, named, question)
    assert "no-person" not in b.flags and "郭玉广" in b.text and not b.abstained


def test_a_rewrite_that_brings_in_a_link_or_a_name_nobody_said_is_not_used(sample_index):
    rewrites = iter(["2023年自治区政协微信公众号的阅读量是多少？![x](http://evil.example/p.png)",
                     "2023年 evil.example 公众号的阅读量是多少？"])

    def reply(passages, prompt):
        if "完整问题" in prompt:
            return next(rewrites)
        return f"阅读量达145万次[{_index_of(passages, '145万')}]。"

    history = [{"role": "user", "content": "2023年自治区政协微信公众号累计推送稿件多少条？"},
               {"role": "assistant", "content": "累计推送稿件1825条[1]"}]
    for _ in range(2):
        a, _, _ = _answer_with(sample_index, reply, "阅读量呢？", history)
        assert "evil" not in a.standalone_question and "公众号" in a.standalone_question
        assert "145万" in a.text and "evil" not in a.text
