"""The OpenAI-compatible backend through the real ``openai`` client against llama.cpp's own server.

``xllamacpp.Server`` is llama.cpp's HTTP server (the one behind ``llama-server``): it listens on a free
loopback port, serves the OpenAI routes and checks an API key, here with the bundled Gemma 3 270M.
A 404 for an unknown model, a stream cut short and an error event come from the test model server
(``tests/fake_llm_server.py``; llama.cpp serves one model under any name and never crashes on cue); no
server that installs here answers 429, so that mapping is checked on a recorded response through the
same client.
"""

from __future__ import annotations

import logging
import socket
import time

import pytest
from pydantic import SecretStr

from rag import stream_answer
from rag.answering.citations import markers, unsupported_numbers
from rag.errors import LLMUnavailable
from rag.llm import OpenAILLM, auto_llm, default_model_path, get_llm, openai_ready
from tests.fake_llm_server import serve_llm
from rag.types import Answer
from tests.llama_server import llama_server as serve_llama
from tests.test_llm import QUESTION, REPLY_PIECES, FakeLLM

pytestmark = pytest.mark.slow
KEY = "sk-test-4f1d9c2b7e"  # what the server demands; must never show up in messages, logs or dumps
ALIAS = "gemma3-270m"
ASK = "2024年形成了多少份协商报告？"


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server(sample_index):
    """llama.cpp's OpenAI-compatible server on 127.0.0.1:<free port>, requiring ``KEY``."""
    with serve_llama(default_model_path(sample_index.cache_dir), ALIAS, KEY) as url:
        yield url


def openai_settings(base, url: str, key: str | None = KEY, model: str = "", **extra):
    """``base`` pointed at an OpenAI-compatible server (and at no Ollama), with short replies."""
    update = {"openai_base_url": url, "openai_api_key": SecretStr(key) if key else None, "openai_model": model,
              "llm_max_tokens": 16, "llm_temperature": 0.0, "top_k": 1,
              "ollama_host": f"http://127.0.0.1:{free_port()}", **extra}
    return base.model_copy(update=update)


def test_chat_streams_from_llama_server_and_check_picks_its_model(llama_server, sample_index):
    llm = OpenAILLM(openai_settings(sample_index, llama_server))
    llm.check()
    assert llm.model == ALIAS and llm.list_models() == [ALIAS]
    # Gemma 270M is a base model: it echoes this prompt as text (a bare "1, 2, 3," gets only its template's
    # end token, which is a stop sequence now)
    pieces = list(llm.chat([{"role": "user", "content": "Write a sentence about the sea."}], max_tokens=8,
                           temperature=0.0))
    assert len(pieces) >= 2 and "".join(pieces).strip()


def test_answer_streams_through_the_pipeline_with_verified_markers(llama_server, sample_index):
    items = list(stream_answer(ASK, backend="openai", settings=openai_settings(sample_index, llama_server)))
    a = items[-1]
    assert isinstance(a, Answer) and all(isinstance(i, str) for i in items[:-1])
    assert a.backend in ("openai", "extractive") and not a.abstained
    if a.backend == "openai":
        assert len(items) - 1 >= 2  # the model's reply arrived piece by piece
    else:  # Gemma 270M is a base model: its reply may be only its template's end token, or not an answer
        assert "fallback-extractive" in a.flags
    assert markers(a.text) and all(1 <= m <= len(a.passages) for m in markers(a.text))
    assert unsupported_numbers(a.text, a.passages) == [] and a.citations


def test_follow_up_is_rewritten_through_the_openai_backend(llama_server, sample_index):
    history = [{"role": "user", "content": "2023年自治区政协微信公众号累计推送稿件多少条？"},
               {"role": "assistant", "content": "累计推送稿件1825条[1]"}]
    items = list(stream_answer("阅读量呢？", history, backend="openai",
                               settings=openai_settings(sample_index, llama_server)))
    a = items[-1]
    assert "阅读量" in a.standalone_question and "公众号" in a.standalone_question
    assert not a.abstained and a.citations and unsupported_numbers(a.text, a.passages) == []


def test_wrong_key_is_401_naming_the_setting_and_never_echoing_the_key(llama_server, sample_index, caplog):
    wrong = "sk-wrong-0a9b8c7d6e"
    s = openai_settings(sample_index, llama_server, key=wrong)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(LLMUnavailable, match="RAG_OPENAI_API_KEY") as err:
        OpenAILLM(s).check()
    with pytest.raises(LLMUnavailable, match="401"):
        list(OpenAILLM(s, model=ALIAS).chat(QUESTION))
    assert wrong not in str(err.value) and err.value.__cause__ is None
    assert wrong not in caplog.text and KEY not in caplog.text
    assert wrong not in repr(s) and wrong not in s.model_dump_json()
    assert not openai_ready(s)[0]


def test_unknown_model_names_the_setting_and_lists_the_served_ones(llama_server, sample_index):
    with pytest.raises(LLMUnavailable, match=f"RAG_OPENAI_MODEL.*{ALIAS}") as err:
        OpenAILLM(openai_settings(sample_index, llama_server, model="qwen-72b")).check()
    assert "qwen-72b" in str(err.value)


def test_a_404_from_the_server_names_the_model_setting(sample_index):
    with serve_llm(FakeLLM(), "fake:1b") as server:
        s = openai_settings(sample_index, server.url + "/v1", key=None)
        assert list(OpenAILLM(s, model="fake:1b").chat(QUESTION)) == REPLY_PIECES
        with pytest.raises(LLMUnavailable, match="没有模型 qwen-72b.*RAG_OPENAI_MODEL"):
            list(OpenAILLM(s, model="qwen-72b").chat(QUESTION))


def test_a_stream_cut_short_or_an_error_event_is_reported(sample_index):
    s = openai_settings(sample_index, "", key=None)
    with serve_llm(FakeLLM(fail_after=2, error=RuntimeError("segfault")), model_name="fake:1b") as server:
        s = s.model_copy(update={"openai_base_url": server.url + "/v1"})
        with pytest.raises(LLMUnavailable, match="中途断开"):
            list(OpenAILLM(s, model="fake:1b").chat(QUESTION))
    with serve_llm(FakeLLM(fail_after=0), "fake:1b") as server:
        s = s.model_copy(update={"openai_base_url": server.url + "/v1"})
        with pytest.raises(LLMUnavailable, match="返回错误 500.*fake model crashed"):
            list(OpenAILLM(s, model="fake:1b").chat(QUESTION))


def test_server_down_names_the_fix_fast_and_auto_answers_extractively(sample_index):
    s = openai_settings(sample_index, f"http://127.0.0.1:{free_port()}/v1")
    started = time.perf_counter()
    with pytest.raises(LLMUnavailable, match="无法连接.*RAG_OPENAI_BASE_URL"):
        OpenAILLM(s).check()
    with pytest.raises(LLMUnavailable, match="无法连接"):
        list(OpenAILLM(s, model=ALIAS).chat(QUESTION))
    a = list(stream_answer(ASK, backend="auto", settings=s))[-1]
    assert a.backend == "extractive" and "auto-extractive" in a.flags and a.citations
    assert time.perf_counter() - started < 15


def test_unset_base_url_is_a_clear_error(sample_index):
    with pytest.raises(LLMUnavailable, match="RAG_OPENAI_BASE_URL"):
        get_llm("openai", openai_settings(sample_index, "")).check()


def test_auto_order_openai_then_ollama_then_extractive(llama_server, sample_index):
    with serve_llm(FakeLLM(), "fake:1b") as ollama:
        up = {"ollama_host": ollama.url, "ollama_model": "fake:1b"}
        assert auto_llm(openai_settings(sample_index, llama_server, **up))[0].name == "openai"
        down = openai_settings(sample_index, f"http://127.0.0.1:{free_port()}/v1", **up)
        assert auto_llm(down)[0].name == "ollama"
        assert auto_llm(openai_settings(sample_index, "", **up))[0].name == "ollama"  # not configured
    llm, reason = auto_llm(down)
    assert llm is None and "RAG_OPENAI_BASE_URL" in reason and "ollama serve" in reason


@pytest.mark.parametrize(
    ("status", "expected"),
    [(429, "429.*稍后重试"), (401, "RAG_OPENAI_API_KEY"), (404, "RAG_OPENAI_MODEL"), (500, "返回错误 500")],
)
def test_http_errors_map_to_one_clear_message(monkeypatch, sample_index, status, expected):
    # No server that installs here rate-limits; the real client parses a recorded OpenAI error response.
    import httpx2
    import openai

    def respond(request):
        return httpx2.Response(status, json={"error": {"message": "limit", "type": "x", "code": None}})

    monkeypatch.setattr(openai, "DefaultHttpxClient", lambda **kw: httpx2.Client(transport=httpx2.MockTransport(respond)))
    s = openai_settings(sample_index, "http://127.0.0.1:9/v1")
    with pytest.raises(LLMUnavailable, match=expected):
        list(OpenAILLM(s, model=ALIAS).chat(QUESTION))


def test_the_chat_page_offers_the_servers_models(llama_server, sample_index):
    from ui import actions, app, render

    s = openai_settings(sample_index, llama_server)
    assert actions.list_models(s, "openai") == [ALIAS]
    assert actions.list_models(s, "auto") == [ALIAS]  # auto tries the configured server first
    box = app._model_box("openai", settings=s)
    assert box["visible"] and box["choices"] == [ALIAS] and box["value"] == ALIAS and "/v1/models" in box["info"]
    assert not app._model_box("extractive", settings=s)["visible"]
    chosen = actions.answer_options("openai", ALIAS, s)["settings"]
    assert chosen.openai_model == ALIAS and chosen.openai_api_key == s.openai_api_key and chosen.ollama_model == s.ollama_model
    assert render.backend_label("openai", ALIAS) == f"OpenAI 兼容服务 · {ALIAS}"
    down = openai_settings(sample_index, f"http://127.0.0.1:{free_port()}/v1", model="qwen-72b")
    assert actions.list_models(down, "openai") == ["qwen-72b"]
