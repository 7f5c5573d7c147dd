"""LLM backends: the real ollama client against a test model server (``tests/fake_llm_server.py``), and llama.cpp
with Gemma 3 270M."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from rag.errors import LLMUnavailable
from rag.llm import (
    BACKEND_NAMES,
    NUM_CTX_MAX,
    LlamaCppLLM,
    OllamaLLM,
    PromptTooLong,
    default_model_path,
    estimate_prompt_tokens,
    estimate_tokens,
    first_line,
    get_llm,
    num_ctx_for,
    ollama_ready,
    render_plain_prompt,
)
from tests.fake_llm_server import serve_llm
from rag.settings import Settings
from tests.conftest import ROOT

MODEL = "fake-qwen:1b"
REPLY_PIECES = ["根据资料，", "2024年", "形成了", "18篇", "协商报告", "[1]。"]
QUESTION = [{"role": "system", "content": "只根据资料回答。"}, {"role": "user", "content": "形成了多少篇协商报告？"}]


class FakeLLM:
    """Deterministic stand-in: the same reply in fixed pieces; can fail after ``fail_after`` pieces."""

    name = "fake"
    model = "fake"

    def __init__(self, fail_after: int | None = None, error: Exception | None = None):
        self.fail_after = fail_after
        self.error = error or LLMUnavailable("fake model crashed")
        self.calls: list[dict] = []

    def check(self) -> None:
        pass

    def chat(self, messages, *, max_tokens=None, temperature=None) -> Iterator[str]:
        self.calls.append({"messages": messages, "max_tokens": max_tokens, "temperature": temperature})
        for i, piece in enumerate(REPLY_PIECES):
            if i == self.fail_after:
                raise self.error
            yield piece


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def fake_llm():
    return FakeLLM()


@pytest.fixture
def server(fake_llm):
    with serve_llm(fake_llm, MODEL) as srv:
        yield srv


def ollama_settings(settings: Settings, host: str, model: str = MODEL) -> Settings:
    return settings.model_copy(update={"ollama_host": host, "ollama_model": model})


# --- token estimates and num_ctx ---


def test_estimate_counts_chinese_per_character_and_latin_per_three():
    assert estimate_tokens("协商报告") == 4
    assert estimate_tokens("abcdef") == 2
    assert estimate_tokens("2024") == 4  # many tokenizers split digits one by one
    assert estimate_tokens("") == 0


def test_num_ctx_rounds_up_to_1024_with_a_floor_and_a_cap():
    assert num_ctx_for(QUESTION, 512) == 2048
    long = [{"role": "user", "content": "政" * 6000}]
    ctx = num_ctx_for(long, 512)
    assert ctx % 1024 == 0 and ctx >= estimate_prompt_tokens(long) + 512 and ctx >= 6144
    with pytest.raises(PromptTooLong, match="32768"):
        num_ctx_for([{"role": "user", "content": "政" * NUM_CTX_MAX}], 512)


# --- the real ollama client against the test model server (fast, fake LLM) ---


def test_chat_streams_pieces_through_the_ollama_client(server, fake_llm, settings):
    llm = OllamaLLM(ollama_settings(settings, server.url))
    pieces = list(llm.chat(QUESTION, max_tokens=64, temperature=0.2))
    assert pieces == REPLY_PIECES
    assert server.last_request["options"]["num_predict"] == 64
    assert server.last_request["options"]["temperature"] == 0.2
    assert fake_llm.calls[-1]["messages"] == QUESTION and fake_llm.calls[-1]["max_tokens"] == 64


def test_num_ctx_sent_fits_a_long_chinese_prompt(server, settings):
    llm = OllamaLLM(ollama_settings(settings, server.url))
    messages = [{"role": "user", "content": "自治区政协协商议政" * 667}]  # ~6,000 characters
    list(llm.chat(messages, max_tokens=256))
    num_ctx = server.last_request["options"]["num_ctx"]
    assert num_ctx >= 6144 and num_ctx >= estimate_prompt_tokens(messages) + 256


def test_prompt_too_long_raises_before_any_request(server, settings):
    llm = OllamaLLM(ollama_settings(settings, server.url))
    with pytest.raises(PromptTooLong):
        llm.chat([{"role": "user", "content": "长" * 40_000}])
    assert server.last_request is None


def test_ready_check_and_model_list(server, settings):
    s = ollama_settings(settings, server.url)
    llm = OllamaLLM(s)
    llm.check()
    assert llm.list_models() == [MODEL]
    ready, reason = ollama_ready(s)
    assert ready and MODEL in reason


def test_untagged_model_name_means_latest(fake_llm, settings):
    with serve_llm(fake_llm, "qwen2.5:latest") as srv:
        OllamaLLM(ollama_settings(settings, srv.url, "qwen2.5")).check()
        assert list(OllamaLLM(ollama_settings(settings, srv.url, "qwen2.5")).chat(QUESTION)) == REPLY_PIECES


def test_server_down_names_ollama_serve(settings):
    s = ollama_settings(settings, f"http://127.0.0.1:{free_port()}")
    llm = OllamaLLM(s)
    started = time.perf_counter()
    with pytest.raises(LLMUnavailable, match="ollama serve"):
        llm.check()
    with pytest.raises(LLMUnavailable, match="ollama serve"):
        list(llm.chat(QUESTION))
    ready, reason = ollama_ready(s)
    assert not ready and "ollama serve" in reason
    assert llm.list_models() == []
    assert time.perf_counter() - started < 5


def test_missing_model_names_ollama_pull(server, settings):
    s = ollama_settings(settings, server.url, "qwen2.5:7b-instruct")
    llm = OllamaLLM(s)
    with pytest.raises(LLMUnavailable, match="ollama pull qwen2.5:7b-instruct"):
        llm.check()
    with pytest.raises(LLMUnavailable, match="ollama pull qwen2.5:7b-instruct"):
        list(llm.chat(QUESTION))
    ready, reason = ollama_ready(s)
    assert not ready and "ollama pull qwen2.5:7b-instruct" in reason
    assert llm.list_models() == [MODEL]


def test_error_mid_stream_becomes_llm_unavailable(settings):
    with serve_llm(FakeLLM(fail_after=2), MODEL) as srv:
        with pytest.raises(LLMUnavailable, match="fake model crashed"):
            list(OllamaLLM(ollama_settings(settings, srv.url)).chat(QUESTION))


def test_stream_cut_without_final_message_is_reported(settings):
    # A crash (not an LLMUnavailable) closes the connection with no "done" line, like a dropped link.
    with serve_llm(FakeLLM(fail_after=2, error=RuntimeError("segfault")), model_name=MODEL) as srv:
        with pytest.raises(LLMUnavailable, match="ollama serve"):
            list(OllamaLLM(ollama_settings(settings, srv.url)).chat(QUESTION))


# --- registry and llama.cpp without loading a model ---


def test_unknown_backend_lists_every_name(settings):
    with pytest.raises(ValueError) as info:
        get_llm("gpt-9", settings)
    assert all(name in str(info.value) for name in BACKEND_NAMES)
    assert isinstance(get_llm("ollama", settings), OllamaLLM)
    assert isinstance(get_llm("llamacpp", settings), LlamaCppLLM)


def test_missing_model_path_is_unavailable(settings, tmp_path):
    llm = LlamaCppLLM(settings, model_path=tmp_path / "nope.gguf")
    with pytest.raises(LLMUnavailable, match="RAG_LLAMACPP_MODEL_PATH"):
        llm.check()
    with pytest.raises(LLMUnavailable, match="RAG_LLAMACPP_MODEL_PATH"):
        list(llm.chat(QUESTION))


def test_a_file_that_is_not_gguf_is_unavailable(settings, tmp_path):
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"not a model" * 10)
    with pytest.raises(LLMUnavailable, match="GGUF"):
        LlamaCppLLM(settings, model_path=fake).check()


def test_plain_prompt_for_a_base_model():
    messages = [
        {"role": "system", "content": "只根据资料回答。"},
        {"role": "user", "content": "问一"},
        {"role": "assistant", "content": "答一"},
        {"role": "user", "content": "问二"},
    ]
    assert render_plain_prompt(messages) == "只根据资料回答。\n\n问一\n回答：答一\n\n问二\n回答："
    assert render_plain_prompt([{"role": "user", "content": "追问：呢？\n\n完整问题："}]).endswith("完整问题：")


def test_first_line_drops_leading_space_and_stops_at_the_line_end():
    assert list(first_line(["\n", "\n答", "案是", "1。\n", "[2] 来源"])) == ["答", "案是", "1。"]
    assert "".join(first_line(["  18篇", "。\n\n问题二"])) == "18篇。"
    assert list(first_line(["\n", " "])) == []


# --- the real Gemma 3 270M through llama.cpp (slow) ---


@pytest.fixture(scope="session")
def gemma():
    """The bundled Gemma 3 270M, loaded once for the whole session."""
    llm = LlamaCppLLM(Settings(llamacpp_model_path=None))
    started = time.perf_counter()
    llm.check()
    print(f"\nGemma 3 270M loaded in {time.perf_counter() - started:.1f}s")
    return llm


RAG_QUESTION = [{"role": "user", "content": "资料：\n[1] 2024年自治区政协形成了18篇协商报告。\n\n问题：形成了多少篇协商报告？"}]


class Recording:
    """Wraps an LLM and keeps the pieces it produced, to compare with what a client received."""

    def __init__(self, inner):
        self.inner, self.name, self.model, self.pieces = inner, inner.name, inner.model, []

    def check(self) -> None:
        self.inner.check()

    def chat(self, messages, **kw) -> Iterator[str]:
        for piece in self.inner.chat(messages, **kw):
            self.pieces.append(piece)
            yield piece


@pytest.mark.slow
def test_gemma_answers_a_chinese_rag_prompt(gemma):
    started = time.perf_counter()
    pieces = list(gemma.chat(RAG_QUESTION, max_tokens=32, temperature=0.0))
    text = "".join(pieces)
    print(f"\n{len(pieces)} pieces in {time.perf_counter() - started:.1f}s: {text!r}")
    assert text.strip() and "\n" not in text  # a base model gets one line back
    assert 1 <= len(pieces) <= 32  # at most one piece per token


@pytest.mark.slow
def test_gemma_stays_within_max_tokens(gemma):
    pieces = list(gemma.chat([{"role": "user", "content": "你好"}], max_tokens=8, temperature=0.0))
    assert len(pieces) <= 8
    if gemma.last_usage:  # present when the generation ran to its end rather than being cut at a line break
        assert gemma.last_usage["completion_tokens"] <= 8
        timings = gemma.last_usage["timings"]
        print(f"\nprompt {timings['prompt_per_second']:.0f} tok/s, generation {timings['predicted_per_second']:.0f} tok/s")


@pytest.mark.slow
def test_gemma_stops_early_when_the_consumer_does(gemma):
    stream = gemma.chat([{"role": "user", "content": "从前有座山，山里有座庙。请续写这个故事。"}], max_tokens=64, temperature=0.0)
    first = next(stream)
    stream.close()
    assert first
    # the engine is free again at once (the cancelled generation released its lock)
    assert "".join(gemma.chat([{"role": "user", "content": "你好"}], max_tokens=4, temperature=0.0)) is not None


@pytest.mark.slow
def test_exit_during_a_generation_is_clean():
    # llama.cpp aborts the process if interpreter exit interrupts a generation; an atexit hook prevents that.
    code = (
        "from rag.llm import LlamaCppLLM; from rag.settings import Settings\n"
        "g = LlamaCppLLM(Settings(llamacpp_model_path=None)).chat([{'role': 'user', 'content': '从前有座山，'}], "
        "max_tokens=200, temperature=0.0)\n"  # greedy: a sampled first line may be empty, ending at once
        "print(next(g))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.slow
def test_gemma_behind_the_ollama_api(gemma, settings):
    recording = Recording(gemma)
    with serve_llm(recording, "gemma3:270m") as srv:
        llm = OllamaLLM(ollama_settings(settings, srv.url, "gemma3:270m"))
        llm.check()
        pieces = list(llm.chat(RAG_QUESTION, max_tokens=32, temperature=0.0))
        assert len(pieces) >= 2 and "".join(pieces).strip()
        assert pieces == recording.pieces  # streamed piece by piece, nothing lost or merged
        assert srv.last_request["options"]["num_ctx"] >= 2048


@pytest.mark.slow
def test_bundled_model_is_assembled_once_and_atomically(tmp_path):
    path = default_model_path(tmp_path)
    try:
        assert path.stat().st_size > 200_000_000 and path.read_bytes()[:4] == b"GGUF"
        assert not list(path.parent.glob("*.tmp"))
        mtime = path.stat().st_mtime_ns
        assert default_model_path(tmp_path) == path and path.stat().st_mtime_ns == mtime
    finally:
        path.unlink(missing_ok=True)  # 253 MB: don't leave it in pytest's kept temp folders


def test_the_llm_package_exports_one_name_per_backend():
    import rag.llm

    assert all(hasattr(rag.llm, name) for name in rag.llm.__all__)
    assert set(BACKEND_NAMES) == {"auto", "extractive", *rag.llm.LLM_BACKENDS}
    assert {get_llm(name, Settings()).name for name in rag.llm.LLM_BACKENDS} == set(rag.llm.LLM_BACKENDS)
    with pytest.raises(ValueError, match="openai"):
        get_llm("gpt", Settings())
