"""A `milvus-lite server` on a free loopback port for the Milvus tests, which a test may restart on the same data."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path


class LiteServer:
    """``milvus-lite server --data-dir DATA`` on 127.0.0.1:``port``; ``url`` is what RAG_MILVUS_URI is set to."""

    def __init__(self, data: Path, port: int):
        self.data, self.port = data, port
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        exe = Path(sys.executable).with_name("milvus-lite")
        self.proc = subprocess.Popen([str(exe), "server", "--data-dir", str(self.data), "--host", "127.0.0.1",
                                      "--port", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"milvus-lite server did not start: {self.proc.stderr.read()[-500:]}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc.stderr.close()
        self.proc = None

    def restart(self) -> None:
        """Stop and start again on the same data: the server forgets which collections were loaded."""
        self.stop()
        self.start()
