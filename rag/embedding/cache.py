"""The question-vector cache every engine keeps: the last questions asked, most recent last (an LRU)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable

import numpy as np


class QueryCache:
    """Vectors of recent questions; a hit is moved to the end, the oldest dropped past ``size``."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str, compute: Callable[[str], np.ndarray]) -> np.ndarray:
        """The cached vector of ``text`` (a copy), computing and keeping it on a miss."""
        with self._lock:
            vector = self._vectors.get(text)
            if vector is not None:
                self._vectors.move_to_end(text)
                return vector.copy()
        vector = compute(text)  # outside the cache's lock: the engine has its own
        with self._lock:
            self._vectors[text] = vector
            if len(self._vectors) > self._size:
                self._vectors.popitem(last=False)
        return vector.copy()

    def forget(self, text: str) -> None:
        """Forget one question (the benchmark times a question as if never asked)."""
        with self._lock:
            self._vectors.pop(text, None)

    def clear(self) -> None:
        """Forget every question (the benchmark times uncached questions)."""
        with self._lock:
            self._vectors.clear()
