"""llama.cpp's own OpenAI-compatible server (``xllamacpp.Server``) on 127.0.0.1, for the tests that need a real one."""

from __future__ import annotations

import gc
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def llama_server(model: Path, alias: str, key: str) -> Iterator[str]:
    """Serve the GGUF ``model`` as ``alias``, requiring ``key``; yields the base URL (ending in ``/v1``)."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(model)
    params.model_alias = {alias}
    params.n_ctx = 4096
    params.n_parallel = 1
    params.cpuparams.n_threads = 2
    params.cpuparams_batch.n_threads = 2
    params.verbosity = -1
    params.api_keys = [key]
    server = xllamacpp.Server(params)
    try:
        yield server.listening_address + "/v1"
    finally:
        del server
        gc.collect()  # frees the port and the model
