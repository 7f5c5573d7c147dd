"""Fit the answer selector's weights and abstention threshold on the dev items of every dev corpus.

    python -m eval.fit_selector            # writes rag/answering/selector.json and prints the validation

Each dev item is retrieved as ``rag.answer`` retrieves it; every unit of its passages becomes one row
(features from ``rag.answering.unit_features``), labelled 1 when it holds the item's evidence and its
answer pattern. Two models, each validated leave-one-corpus-out and then fitted on every dev corpus:

- the ranker: a conditional logit (the answer units against the other units of the same question, by
  L-BFGS in scipy), each corpus weighted equally so the largest set does not decide what answers look like;
- the answerability model: a logistic regression (scikit-learn) over the best unit's ``QUESTION_FEATURES``,
  answerable items against the near-miss traps, with the threshold that wrongly abstains on at most 1%
  (out of domain it tells traps from answerable questions little better than chance: the near-miss checks
  do most of that work).

The query path applies both with numpy. Holdout items and the corpora held out whole are never read.
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
MAX_WRONG_ABSTENTIONS = 0.01


def dev_items() -> list[dict]:
    """Dev items of every set; a corpus with no dev item (held out whole) is never opened."""
    items = [i for path in [DEFAULT_SET, *extra_sets()] for i in load_items(path) if item_split(i) == "dev"]
    return [i for i in items if i.get("type") != "compare"]  # compared years are answered year by year


def rows_for(item: dict, settings) -> tuple[np.ndarray, np.ndarray] | None:
    """Features and labels of the units of one item's passages (None when retrieval gives nothing)."""
    from rag.answering.evidence import analyse_question
    from rag.answering.pipeline import _standalone
    from rag.answering.selection import qtype_of
    from rag.answering.unit_features import candidates, features
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


L2 = 3.0  # the ranker's ridge penalty
CLOSE = 0.05  # a runner-up with a twentieth of the best unit's share joins the answer (at most two of them);
# swept on the dev items: 0.25 → 0.12 → 0.05 → 0 gave dev accuracy 0.750, 0.750, 0.767, 0.767 and answers
# of median 76, 90, 108, 130 characters
PLAUSIBLE_SHARE = 0.04  # a unit may give an asked figure down to this share of the best unit's


def _corpus_weights(rows: list) -> np.ndarray:
    """One weight per row's item so that every corpus weighs the same in total."""
    counts: dict[str, int] = {}
    for item, _, _ in rows:
        counts[item_corpus(item)] = counts.get(item_corpus(item), 0) + 1
    weights = np.asarray([1.0 / counts[item_corpus(item)] for item, _, _ in rows])
    return weights * len(rows) / weights.sum()


def fit_ranker(rows: list, l2: float = L2) -> np.ndarray:
    """Weights maximising each answerable item's share on its answer units (corpora weighted equally)."""
    from scipy.optimize import minimize

    weights = _corpus_weights(rows)
    groups = [(x.astype(np.float64), y.astype(bool), w) for (_, x, y), w in zip(rows, weights) if y.any()]
    total = sum(w for _, _, w in groups) or 1.0

    def loss(coef: np.ndarray) -> tuple[float, np.ndarray]:
        value, grad = 0.5 * l2 * coef @ coef, l2 * coef
        for x, y, w in groups:
            s = x @ coef
            p = np.exp(s - s.max())
            p /= p.sum()
            on_answer = p[y].sum()
            scale = w * len(groups) / total
            value -= scale * np.log(on_answer + 1e-12)
            grad += scale * (p @ x - (p[y] @ x[y]) / on_answer)
        return value, grad

    found = minimize(loss, np.zeros(rows[0][1].shape[1]), jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return found.x


def fit_answerable(rows: list, coef: np.ndarray) -> tuple[np.ndarray, float, float]:
    """The answerability model over the best unit's features, and its threshold."""
    from sklearn.linear_model import LogisticRegression

    from rag.answering.selection import question_features

    x = np.vstack([question_features(xs, xs @ coef) for _, xs, _ in rows])
    y = np.asarray([bool(item.get("answerable")) for item, _, _ in rows])
    model = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced")
    model.fit(x, y, sample_weight=_corpus_weights(rows))
    p = model.predict_proba(x)[:, 1]
    threshold = float(np.quantile(p[y], MAX_WRONG_ABSTENTIONS)) if y.any() else 0.5
    return model.coef_[0].astype(float), float(model.intercept_[0]), threshold


def outcomes(rows: list, coef, answer) -> list[tuple[bool, bool, bool, float]]:
    """Per item: answerable, whether the best unit is an answer unit, whether one of the answer's units is,
    and the answerability."""
    from rag.answering.selection import question_features, shares

    a_coef, a_intercept, _ = answer
    found = []
    for item, x, y in rows:
        scores = x @ coef
        share = shares(scores)
        order = np.argsort(-share)
        kept = [i for i in order[:3] if share[i] >= CLOSE * share[order[0]]]
        z = float(question_features(x, scores) @ a_coef + a_intercept)
        found.append((bool(item.get("answerable")), bool(y[order[0]]), bool(y[kept].any()), 1 / (1 + np.exp(-z))))
    return found


def summary(found: list[tuple[bool, bool, bool, float]], t: float) -> dict:
    ans = [f for f in found if f[0]]
    traps = [f for f in found if not f[0]]
    n = max(len(ans), 1)
    return {
        "answerable": len(ans), "top1": round(sum(f[1] for f in ans) / n, 3),
        "in_answer": round(sum(f[2] for f in ans) / n, 3),
        "answered_right": round(sum(f[2] and f[3] >= t for f in ans) / n, 3),
        "wrong_abstentions": round(sum(f[3] < t for f in ans) / n, 3),
        "traps": len(traps), "traps_abstained": round(sum(f[3] < t for f in traps) / max(len(traps), 1), 3),
    }


def main(argv: list[str] | None = None) -> int:
    from rag.answering.selection import QUESTION_FEATURES
    from rag.answering.unit_features import FEATURES

    parser = argparse.ArgumentParser(prog="python -m eval.fit_selector", description=__doc__)
    parser.add_argument("--out", default=str(OUT), help="where to write the weights")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    data = collect()
    validation = {}
    for held in data:
        train = [r for c, rows in data.items() if c != held for r in rows]
        coef = fit_ranker(train)
        answer = fit_answerable(train, coef)
        validation[held] = summary(outcomes(data[held], coef, answer), answer[2])
    everything = [r for rows in data.values() for r in rows]
    coef = fit_ranker(everything)
    answer = fit_answerable(everything, coef)
    weights = {
        "features": list(FEATURES), "coef": [round(c, 6) for c in coef],
        "close": CLOSE, "plausible": PLAUSIBLE_SHARE,
        "answerable": {"features": list(QUESTION_FEATURES), "coef": [round(c, 6) for c in answer[0]],
                       "intercept": round(answer[1], 6), "threshold": round(answer[2], 6)},
        "trained_on": {c: len(r) for c, r in data.items()},
        "fit": summary(outcomes(everything, coef, answer), answer[2]), "leave_one_corpus_out": validation,
    }
    Path(args.out).write_text(json.dumps(weights, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: weights[k] for k in ("fit", "leave_one_corpus_out")}, ensure_ascii=False, indent=1))
    print(f"wrote {args.out} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
