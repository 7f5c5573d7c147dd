"""Fit the answer selector's weights and abstention threshold on the dev items of every dev corpus.

    python -m eval.fit_selector            # writes rag/answering/selector.json and prints the validation

Each dev item is retrieved as ``rag.answer`` retrieves it; every unit of its passages becomes one row
(features from ``rag.answering.selection``), labelled 1 when it holds the item's evidence and its
answer pattern. A logistic regression (scikit-learn, only here: the query path applies the weights
with numpy) is validated leave-one-corpus-out, then fitted on all of them. Holdout items and the
corpora held out whole are never read.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import unicodedata
from pathlib import Path

import numpy as np

from eval.dataset import CORPORA, DEFAULT_SET, EVAL_DIR, extra_sets, item_corpus, item_split, load_items

OUT = Path(__file__).resolve().parent.parent / "rag" / "answering" / "selector.json"
CACHE = EVAL_DIR / "results" / "selector-index"
MAX_WRONG_ABSTENTIONS = 0.05


def dev_items() -> list[dict]:
    """Dev items of every set; a corpus with no dev item (held out whole) is never opened."""
    items = [i for path in [DEFAULT_SET, *extra_sets()] for i in load_items(path) if item_split(i) == "dev"]
    return [i for i in items if i.get("type") != "compare"]  # compared years are answered year by year


def rows_for(item: dict, settings) -> tuple[np.ndarray, np.ndarray] | None:
    """Features and labels of the units of one item's passages (None when retrieval gives nothing)."""
    from rag.answering.evidence import analyse_question
    from rag.answering.pipeline import _standalone
    from rag.answering.selection import candidates, features, qtype_of
    from rag.retrieval.hybrid import get_retriever
    from rag.text import lexicon

    retriever = get_retriever(settings)
    history = item.get("history") or []
    question, focus = _standalone(item["question"], history, None, settings)
    passages = retriever.search(question, settings.top_k)
    info = analyse_question(question, focus, retriever)
    table = retriever.units()
    cands = candidates(passages, table)
    if not cands:
        return None
    translated = []
    if not info.is_chinese:
        try:
            translated = lexicon.chinese_keywords(question, retriever.vocabulary())
        except Exception:  # noqa: BLE001 - without the dictionary the feature is 0, as in answering
            translated = []
    x = features(info, qtype_of(info), retriever.question_vector(question), cands, passages, table, translated)
    y = np.asarray([_is_answer(item, c.text, c.context) for c in cands], dtype=np.int8)
    return x, y


def _is_answer(item: dict, text: str, context: str) -> bool:
    """A unit answers an item when it overlaps the item's evidence and shows what its answer patterns want."""
    if not item.get("answerable"):
        return False
    patterns = item.get("answers") or []
    shown = unicodedata.normalize("NFKC", f"{context} {text}")
    if not any(re.search(p, shown) for p in patterns):
        return False
    unit = _norm(text)
    return any((e := _norm(ev)) and (e in unit or (len(unit) >= 6 and unit in e)) for ev in item.get("evidence", []))


_MARKUP = re.compile(r"\]\([^)]*\)|[\s`*_\[\]()#>|（）：:；;，,。.、]")


def _norm(text: str) -> str:
    """Text to compare evidence with: NFKC, without whitespace, Markdown marks and punctuation."""
    return _MARKUP.sub("", unicodedata.normalize("NFKC", text))


def collect() -> dict[str, list[tuple[dict, np.ndarray, np.ndarray]]]:
    """Rows per corpus, building each corpus's index once into the cache folder."""
    from rag.index.ingestion import ensure_index
    from rag.settings import get_settings

    by_corpus: dict[str, list] = {}
    for item in dev_items():
        by_corpus.setdefault(item_corpus(item), []).append(item)
    out = {}
    for corpus, items in by_corpus.items():
        settings = get_settings().model_copy(update={"index_dir": CACHE / corpus, "corpus_dir": CORPORA[corpus],
                                                     "backend": "extractive"})
        ensure_index(settings)
        rows = []
        for item in items:
            got = rows_for(item, settings)
            if got is not None:
                rows.append((item, *got))
        out[corpus] = rows
        print(f"{corpus}: {len(rows)} items, {sum(int(y.sum() > 0) for _, _, y in rows)} with an answer unit",
              file=sys.stderr)
    return out


def fit(rows: list) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    x = np.vstack([r[1] for r in rows])
    y = np.concatenate([r[2] for r in rows])
    model = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced")
    model.fit(x, y)
    return model.coef_[0].astype(float), float(model.intercept_[0])


def _probabilities(coef, intercept, x):
    return 1.0 / (1.0 + np.exp(-(x @ coef + intercept)))


def outcomes(rows: list, coef, intercept) -> list[tuple[bool, bool, float]]:
    """Per item: answerable, whether the best unit is an answer unit, and its probability."""
    found = []
    for item, x, y in rows:
        p = _probabilities(coef, intercept, x)
        best = int(np.argmax(p))
        found.append((bool(item.get("answerable")), bool(y[best]), float(p[best])))
    return found


def threshold_for(found: list[tuple[bool, bool, float]]) -> float:
    """The abstention threshold that answers most items right, wrongly abstaining on at most 5% of answerable ones."""
    answerable = sum(a for a, _, _ in found) or 1
    best_t, best_score = 0.0, -1.0
    for t in sorted({p for _, _, p in found} | {0.0}):
        wrong_abstain = sum(a and p < t for a, _, p in found) / answerable
        if wrong_abstain > MAX_WRONG_ABSTENTIONS:
            break
        score = sum((a and c and p >= t) or (not a and p < t) for a, c, p in found)
        if score > best_score:
            best_t, best_score = t, score
    return best_t


def summary(found: list[tuple[bool, bool, float]], t: float) -> dict:
    ans = [f for f in found if f[0]]
    traps = [f for f in found if not f[0]]
    return {
        "answerable": len(ans), "top1": round(sum(c for _, c, _ in ans) / max(len(ans), 1), 3),
        "answered_right": round(sum(c and p >= t for _, c, p in ans) / max(len(ans), 1), 3),
        "wrong_abstentions": round(sum(p < t for _, _, p in ans) / max(len(ans), 1), 3),
        "traps": len(traps), "traps_abstained": round(sum(p < t for _, _, p in traps) / max(len(traps), 1), 3),
    }


def main(argv: list[str] | None = None) -> int:
    from rag.answering.selection import FEATURES

    parser = argparse.ArgumentParser(prog="python -m eval.fit_selector", description=__doc__)
    parser.add_argument("--out", default=str(OUT), help="where to write the weights")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    data = collect()
    validation = {}
    for held in data:
        train = [r for c, rows in data.items() if c != held for r in rows]
        coef, intercept = fit(train)
        t = threshold_for(outcomes(train, coef, intercept))
        validation[held] = summary(outcomes(data[held], coef, intercept), t)
    everything = [r for rows in data.values() for r in rows]
    coef, intercept = fit(everything)
    t = threshold_for(outcomes(everything, coef, intercept))
    weights = {
        "features": list(FEATURES), "coef": [round(c, 6) for c in coef], "intercept": round(intercept, 6),
        "threshold": round(t, 6), "trained_on": {c: len(r) for c, r in data.items()},
        "fit": summary(outcomes(everything, coef, intercept), t), "leave_one_corpus_out": validation,
    }
    Path(args.out).write_text(json.dumps(weights, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: weights[k] for k in ("threshold", "fit", "leave_one_corpus_out")}, ensure_ascii=False, indent=1))
    print(f"wrote {args.out} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
