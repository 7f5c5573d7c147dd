"""multilingual-e5-small's tokenizer for short texts, loaded in a few hundredths of a second.

``tokenizers`` needs most of a second to load the 250,002-piece ``tokenizer.json`` (building its trie),
and holds the interpreter lock all the while. A question is a few dozen characters, so this module does
the same work in plain Python from tables prepared once (``build_tables``, from ``tokenizer.json``):
the per-character normalisation (the ``Precompiled`` map, applied by ``tokenizers`` itself when the
tables are built), collapsing runs of spaces, ``▁`` word marks, and the unigram Viterbi search with the
same tie-breaking and unknown-piece rules as ``tokenizers``. The ids are the ones ``tokenizers`` gives
(tests compare them on every eval question and corpus line). A text this cannot handle exactly (one
with combining marks or other characters that join a grapheme cluster, or a literal special token such
as ``<s>``) returns ``None``, and the caller asks the reference tokenizer.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import numpy as np

BOS, PAD, EOS, UNK = 0, 1, 2, 3
MAX_TOKENS = 512  # sentence-transformers' max_seq_length for e5-small, specials included
_UNK_PENALTY = 10.0  # tokenizers' K_UNK_PENALTY: an unknown character scores min_score - 10
_SPECIALS = ("<s>", "</s>", "<pad>", "<unk>", "<mask>")
_SEP = "\x00"
_SPACES = re.compile(" {2,}")
_WORDS = re.compile("▁[^▁]*")
# Ranges whose characters join a neighbour into one grapheme cluster (beside categories Mn, Mc, Me, Cf):
# Hangul jamo, regional indicators, emoji skin tones, and letters that are spacing marks or prepended.
_JOINING_RANGES = ((0x1100, 0x11FF), (0xA960, 0xA97F), (0xD7B0, 0xD7FF), (0x1F1E6, 0x1F1FF), (0x1F3FB, 0x1F3FF))
_JOINING_CHARS = {0x0D, 0x0E33, 0x0EB3, 0xFF9E, 0xFF9F, 0x0D4E, 0x111C2, 0x111C3, 0x1193F, 0x11941, 0x11A3A,
                  0x11A84, 0x11A85, 0x11A86, 0x11A87, 0x11A88, 0x11A89, 0x11D46, 0x11F02}
_JOINING_CATEGORIES = {"Mn", "Mc", "Me", "Cf", "Cs", "Co", "Cn"}


class FastTokenizer:
    """Token ids of ``tokenizer.json``'s unigram model for texts whose characters stand alone."""

    def __init__(self, pieces: list[str], scores: list[float], char_map: dict[str, str]):
        self._ids = dict(zip(pieces, range(len(pieces))))
        self._scores = scores
        self._map = char_map
        self._max_piece = max(map(len, pieces))
        self._unk_score = min(scores) - _UNK_PENALTY

    @classmethod
    def load(cls, path: Path) -> "FastTokenizer":
        """The tables written by :func:`write_tables`."""
        with np.load(path) as data:
            pieces = bytes(data["pieces"]).decode("utf-8").split(_SEP)
            scores = data["scores"].tolist()
            keys = bytes(data["map_keys"]).decode("utf-8")
            values = bytes(data["map_values"]).decode("utf-8").split(_SEP)
        return cls(pieces, scores, dict(zip(keys, values)))

    def encode(self, text: str) -> list[int] | None:
        """``[<s>, ids…, </s>]`` (at most 512), or None when only the reference tokenizer gets it exactly."""
        normalized = self._normalize(text)
        if normalized is None:
            return None
        normalized = _SPACES.sub(" ", normalized).replace(" ", "▁")
        if not normalized:
            return [BOS, EOS]
        if not normalized.startswith("▁"):
            normalized = "▁" + normalized
        ids: list[int] = []
        for word in _WORDS.findall(normalized):
            ids.extend(self._viterbi(word))
        return [BOS, *ids[: MAX_TOKENS - 2], EOS]

    def encode_offsets(self, text: str) -> tuple[list[int], list[tuple[int, int]]] | None:
        """``encode``'s ids and each token's character span in ``text``, as ``tokenizers`` reports them:
        (0, 0) for ``<s>`` and ``</s>``, a run of spaces aligned to its last space, the ``▁`` put before
        the first word to the first character. None when ``encode`` returns None."""
        if self._normalize(text) is None:
            return None
        chars: list[str] = []
        origin: list[int] = []
        space = False
        for i, char in enumerate(text):
            for out in self._map.get(char, char):
                if out == " " and space:
                    origin[-1] = i  # a run of spaces is one space, aligned to its last
                    continue
                space = out == " "
                chars.append("▁" if space else out)
                origin.append(i)
        if not chars:
            return [BOS, EOS], [(0, 0), (0, 0)]
        if chars[0] != "▁":
            chars.insert(0, "▁")
            origin.insert(0, origin[0])
        ids, spans = [BOS], [(0, 0)]
        for word in _WORDS.finditer("".join(chars)):
            cursor, lengths = word.start(), []
            ids.extend(self._viterbi(word.group(), lengths))
            for length in lengths:
                spans.append((origin[cursor], origin[cursor + length - 1] + 1))
                cursor += length
        return [*ids[: MAX_TOKENS - 1], EOS], [*spans[: MAX_TOKENS - 1], (0, 0)]

    def _normalize(self, text: str) -> str | None:
        if any(special in text for special in _SPECIALS):
            return None
        if any(map(joins_graphemes, text)):
            return None
        mapped = self._map
        return "".join([mapped.get(char, char) for char in text])

    def _viterbi(self, word: str, lengths: list[int] | None = None) -> list[int]:
        """The best segmentation of one ``▁``-word, as tokenizers' ``Unigram.encode_optimized`` finds it
        (each piece's length in characters appended to ``lengths`` when given)."""
        n, ids, scores = len(word), self._ids, self._scores
        best = [0.0] * (n + 1)
        start_of: list[int | None] = [None] * (n + 1)
        piece_of = [UNK] * (n + 1)
        for start in range(n):
            here = best[start]
            single = False
            for end in range(start + 1, min(n, start + self._max_piece) + 1):
                piece = ids.get(word[start:end])
                if piece is None:
                    continue
                score = here + scores[piece]
                if start_of[end] is None or score > best[end]:
                    best[end], start_of[end], piece_of[end] = score, start, piece
                single = single or end == start + 1
            if not single:
                score = here + self._unk_score
                if start_of[start + 1] is None or score > best[start + 1]:
                    best[start + 1], start_of[start + 1], piece_of[start + 1] = score, start, UNK
        return self._backtrack(word, start_of, piece_of, lengths)

    def _backtrack(self, word: str, start_of: list, piece_of: list[int], lengths: list[int] | None) -> list[int]:
        out: list[int] = []
        ends: list[int] = []  # where each piece of ``out`` ends
        end, unknown_end = len(word), None
        while end > 0:
            start = start_of[end]
            if piece_of[end] == UNK:  # consecutive unknown characters become one piece, as tokenizers fuses them
                unknown_end = end if unknown_end is None else unknown_end
            else:
                if unknown_end is not None:
                    out.append(self._ids.get(word[end:unknown_end], UNK))
                    ends.append(unknown_end)
                    unknown_end = None
                out.append(piece_of[end])
                ends.append(end)
            end = start
        if unknown_end is not None:
            out.append(self._ids.get(word[0:unknown_end], UNK))
            ends.append(unknown_end)
        out.reverse()
        if lengths is not None:
            ends.reverse()
            lengths.extend(e - s for s, e in zip([0, *ends], ends))
        return out


def joins_graphemes(char: str) -> bool:
    """Whether ``char`` may form one grapheme cluster with a neighbour (conservatively: when in doubt, yes)."""
    code = ord(char)
    if code in _JOINING_CHARS or unicodedata.category(char) in _JOINING_CATEGORIES:
        return True
    return any(low <= code <= high for low, high in _JOINING_RANGES)


def write_tables(tokenizer_json: Path, target: Path) -> None:
    """Prepare the tables :meth:`FastTokenizer.load` reads, from ``tokenizer.json`` (a few seconds, once)."""
    import json

    from tokenizers import Tokenizer

    spec = json.loads(Path(tokenizer_json).read_text(encoding="utf-8"))
    model = spec["model"]
    if model.get("type") != "Unigram" or model.get("unk_id") != UNK or spec["pre_tokenizer"]["type"] != "Metaspace":
        raise ValueError(f"{tokenizer_json} is not the XLM-R unigram tokenizer this module implements")
    pieces = [piece for piece, _ in model["vocab"]]
    if any(_SEP in piece for piece in pieces):
        raise ValueError(f"{tokenizer_json}: a piece holds a NUL character")
    normalizer = Tokenizer.from_file(str(tokenizer_json)).normalizer
    keys, values = [], []
    for code in range(0x110000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        char = chr(code)
        if joins_graphemes(char):
            continue  # such a text goes to the reference tokenizer
        value = normalizer.normalize_str(char)
        if value != char:
            if _SEP in value:
                raise ValueError(f"normalisation of U+{code:04X} holds a NUL character")
            keys.append(char)
            values.append(value)
    arrays = {
        "pieces": np.frombuffer(_SEP.join(pieces).encode("utf-8"), dtype=np.uint8),
        "scores": np.asarray([score for _, score in model["vocab"]], dtype=np.float64),
        "map_keys": np.frombuffer("".join(keys).encode("utf-8"), dtype=np.uint8),
        "map_values": np.frombuffer(_SEP.join(values).encode("utf-8"), dtype=np.uint8),
    }
    with open(target, "wb") as fh:
        np.savez(fh, **arrays)
