"""Connecting to Milvus: an embedded Milvus Lite folder (one process at a time) or a server, and the errors a user
reads when it cannot be reached."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path

from rag.errors import RagError
from rag.settings import Settings

LITE_FOLDER = "milvus.db"
_clients: dict[tuple[str, str], object] = {}


class _NoLiteNoise(logging.Filter):
    """Lite has no server timestamp for iterators: pymilvus warns on every page (and falls back correctly), and
    embedded Lite's in-process server logs a traceback for each RPC it lacks (the iterator's timestamp probe)."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = f"{record.getMessage()} {record.exc_info[1] if record.exc_info else ''}"
        return "mvccTs" not in text and "Method not implemented" not in text


logging.getLogger("pymilvus.client.iterator.query_iterator").addFilter(_NoLiteNoise())
logging.getLogger("grpc._server").addFilter(_NoLiteNoise())


class StoreUnavailableError(RagError):
    """The Milvus server cannot be reached, or the embedded database is in use by another process."""


def uri_of(settings: Settings) -> str:
    """The configured URI, or the embedded Lite database inside the index folder."""
    return settings.milvus_uri or str(Path(settings.index_dir) / LITE_FOLDER)


def is_embedded(uri: str) -> bool:
    return not uri.startswith(("http://", "https://", "tcp://", "grpc://", "unix:"))


def where(uri: str) -> str:
    """The URI as shown to users (never with credentials)."""
    return uri.split("@")[-1] if "://" in uri else uri


def pymilvus_module():
    try:
        import pymilvus
    except ImportError:
        raise RagError('RAG_VECTOR_STORE=milvus 需要 Milvus 客户端：请运行 pip install -e ".[milvus]"。') from None
    return pymilvus


def forget_client(settings: Settings) -> None:
    """Drop this process's client of ``settings``' Milvus (its connection was lost): the next call connects again."""
    _clients.pop((uri_of(settings), settings.milvus_token.get_secret_value()), None)


def client(settings: Settings):
    """A client for the configured Milvus, shared in this process; a clear error when it cannot be reached."""
    uri, token = uri_of(settings), settings.milvus_token.get_secret_value()
    if (uri, token) not in _clients:
        _clients[(uri, token)] = _connect(uri, token)
    return _clients[(uri, token)]


def _connect(uri: str, token: str):
    pymilvus = pymilvus_module()
    if is_embedded(uri):
        Path(uri).parent.mkdir(parents=True, exist_ok=True)
    try:
        return pymilvus.MilvusClient(uri=uri, token=token, timeout=10)
    except Exception as exc:  # pymilvus wraps every connection failure in its own exception types
        raise unavailable(uri, exc) from None


def _locked_elsewhere(folder: str) -> bool:
    """True when another process holds the lock of the embedded database in ``folder``."""
    try:
        import fcntl

        with open(Path(folder) / "LOCK", "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(fh, fcntl.LOCK_UN)
        return False
    except BlockingIOError:
        return True
    except (OSError, ImportError):  # no lock file yet, or no fcntl (Windows): not known to be held
        return False


def unavailable(uri: str, exc: BaseException) -> StoreUnavailableError:
    if is_embedded(uri) and _locked_elsewhere(uri):
        return StoreUnavailableError(
            f"嵌入式 Milvus Lite 数据库 {uri} 正被另一个进程使用（它一次只允许一个进程打开）。"
            "请先关闭那个进程；要让多个进程共用，请运行 `milvus-lite server --data-dir 数据目录 --port 19530` "
            "并设置 RAG_MILVUS_URI=http://127.0.0.1:19530。"
        )
    if is_embedded(uri):
        cause = str(exc.__cause__ or exc.__context__ or exc)[:160]
        return StoreUnavailableError(
            f"无法打开嵌入式 Milvus Lite 数据库 {uri}（{cause}）。请确认 milvus-lite 已安装（pip install -e \".[milvus]\"）、"
            "这个文件夹可写；或设置 RAG_MILVUS_URI 指向 Milvus 服务器。"
        )
    return StoreUnavailableError(
        f"无法连接 Milvus（{where(uri)}）。请确认服务器已启动、RAG_MILVUS_URI 的地址和端口正确、"
        "RAG_MILVUS_TOKEN 有权限；或设置 RAG_VECTOR_STORE=faiss 改用本地索引。"
    )

def connection_problem(exc: BaseException) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return any(w in text for w in ("unavailable", "connect", "deadline", "timeout", "closed channel", "lock"))


def not_loaded(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "released" in text or "not loaded" in text or "load()" in text


# Lite's request handler and pymilvus each log a failed request with its traceback
_REQUEST_LOGGERS = ("milvus_lite.adapter.grpc.servicer", "pymilvus.decorators")


@contextmanager
def quiet_lite(uri: str):
    """Within the block, a request to embedded Lite that fails prints no traceback: the caller handles the failure
    (and says what went wrong itself)."""
    if not is_embedded(uri):
        yield
        return
    loggers = [logging.getLogger(name) for name in _REQUEST_LOGGERS]
    before = [log.level for log in loggers]
    for log in loggers:
        log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for log, level in zip(loggers, before):
            log.setLevel(level)


def drop_lite_index_files(uri: str, collection: str) -> bool:
    """Remove the search-index files of an embedded Lite collection (derived from its stored vectors, which Lite
    reads them back from on the next load); whether there were any."""
    if not is_embedded(uri):
        return False
    found = list((Path(uri) / "collections" / collection / "partitions").glob("*/indexes/*.idx"))
    for path in found:
        path.unlink(missing_ok=True)
    return bool(found)
