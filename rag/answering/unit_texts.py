"""What an answer unit's text is, whatever the question: its bigrams, lower-cased text, years, numbers and
the patterns the answer selector tests (``unit_features``).

A unit table belongs to one committed state of the index, and every question reads some of its units
again: each unit's text is worked out on its first use and kept beside its table, the ``KEEP`` units
used last (a large index is not held twice over).
"""

from __future__ import annotations

import re
import threading
import weakref
from collections import OrderedDict
from functools import cached_property

from rag.index.unit_table import UnitTable
from rag.text.numbers import extract_numbers
from rag.text.tokens import YEAR_IN_TEXT, bigrams

HEAD_STRIP = " *_`-•·[（("  # what an entry's head may start with before the term it names
KEEP = 8192  # units kept per table: a few hundred questions' worth of passages


class UnitText:
    """One unit's text as the features read it: ``full`` is its context and its text (``"{context} {text}"``)."""

    def __init__(self, context: str, text: str):
        self.context, self.text = context, text
        self.full = f"{context} {text}"
        self.lowered = self.full.lower()
        self.grams = frozenset(bigrams(self.full))
        self.text_grams = frozenset(bigrams(text))
        self.years = frozenset(YEAR_IN_TEXT.findall(self.full))
        self.head = text.lstrip(HEAD_STRIP).lower()  # where an entry names its term
        self._found: dict[re.Pattern, bool] = {}

    @cached_property
    def numbers(self) -> tuple[str, ...]:
        """The numbers the text writes, as written (only figure questions look)."""
        return tuple(n.text for n in extract_numbers(self.text))

    def search(self, pattern: re.Pattern) -> bool:
        """Whether ``pattern`` occurs in the text (each pattern searched once per unit)."""
        found = self._found.get(pattern)
        if found is None:
            found = self._found[pattern] = bool(pattern.search(self.text))
        return found


class UnitTexts:
    """The ``UnitText`` of the rows of one table used last, made on first use."""

    def __init__(self, table: UnitTable, keep: int = KEEP):
        self._contexts, self._texts, self._keep = table.contexts, table.texts, keep
        self._rows: OrderedDict[int, UnitText] = OrderedDict()
        self._lock = threading.Lock()

    def of(self, row: int, context: str, text: str) -> UnitText:
        """Row ``row``'s unit text (``context`` and ``text`` are what the caller holds of it: when they are
        not that row's, they are worked out apart and not kept)."""
        if context != self._contexts[row] or text != self._texts[row]:
            return UnitText(context, text)
        with self._lock:
            unit = self._rows.get(row)
            if unit is not None:
                self._rows.move_to_end(row)
                return unit
        unit = UnitText(context, text)
        with self._lock:
            self._rows[row] = unit
            if len(self._rows) > self._keep:
                self._rows.popitem(last=False)
        return unit


_lock = threading.Lock()
_tables: dict[int, tuple[weakref.ref, UnitTexts]] = {}


def unit_texts(table: UnitTable) -> UnitTexts:
    """The unit texts of ``table``, kept as long as the table is."""
    key = id(table)
    with _lock:
        held = _tables.get(key)
        if held is not None and held[0]() is table:
            return held[1]
        texts = UnitTexts(table)
        _tables[key] = (weakref.ref(table, lambda _, key=key: _forget(key)), texts)
        return texts


def _forget(key: int) -> None:
    # called while the table is collected, maybe inside ``unit_texts``: no lock here
    held = _tables.get(key)
    if held is not None and held[0]() is None:
        _tables.pop(key, None)
