"""Calibrate ``rag.answering.support.THRESHOLD`` on real small-model answers over the sample corpus.

``python -m eval.support_calibration collect``: asks the real small model (eval/small_model.py, greedy, short
replies) a dozen questions of the eval set over the sample corpus, splits its answers into sentences with the
passage each cites, and appends them to ``eval/calibration/support.jsonl`` with ``label: null``.
A person then labels each sentence ``supported`` or ``unsupported`` (does the cited passage say it?).
The file also holds swapped rows (a supported sentence checked against a passage of the other document:
unsupported by construction) and flipped claims (a supported sentence with its verb turned into its opposite).

``python -m eval.support_calibration fit``: scores every labelled row, prints how each threshold separates
them, and the best one (the one in ``support.py`` must match it; ``tests/test_support.py`` checks that).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from rag.answering import support

DATA = Path(__file__).resolve().parent / "calibration" / "support.jsonl"
QUESTIONS = Path(__file__).resolve().parent / "questions.jsonl"
# a spread of kinds: counts, dates, names, lists, places, an English one, and questions the corpus cannot answer
PICK = ("q001", "q002", "q019", "q026", "q043", "q054", "q057")
# open questions: the small model answers them in whole sentences, which is what the check is for
OPEN = (
    "2024年自治区政协在协商议政方面做了哪些工作？",
    "简要介绍2023年自治区政协的凝聚共识工作。",
    "“政协+法院”民商事纠纷多元化解机制取得了什么成效？",
    "京蒙协作政协助力工作有哪些成果？",
    "2023年自治区政协如何加强委员学习培训？",
)


def rows(path: Path = DATA) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def scored(row: dict) -> tuple[float, bool]:
    """The row's overlap score and whether it passes the polarity check."""
    score, clash = support.sentence_support(row["sentence"], row["passage"])
    return score, clash is None


def caught_by_numbers(row: dict) -> bool:
    """Whether the pipeline's number check already rejects the sentence (a number its passage lacks)."""
    from rag.text.numbers import numbers_supported

    return bool(numbers_supported(support.strip_markers(row["sentence"]), row["passage"]))


def separation(data: list[dict], threshold: float) -> tuple[int, int, int, int]:
    """(supported kept, supported dropped, unsupported kept, unsupported dropped) at ``threshold``;
    an unsupported sentence the number check rejects counts as dropped."""
    counts = [0, 0, 0, 0]
    for row in data:
        score, polar_ok = scored(row)
        keep = polar_ok and score >= threshold
        if row["label"] == "supported":
            counts[0 if keep else 1] += 1
        else:
            counts[2 if keep and not caught_by_numbers(row) else 3] += 1
    return tuple(counts)


THRESHOLDS = [round(step * 0.05, 2) for step in range(4, 19)]


def best_threshold(data: list[dict]) -> tuple[float, tuple[int, int, int, int]]:
    """The middle of the widest run of thresholds (steps of 0.05) with the fewest errors: the largest margin
    on both sides, since a paraphrase scores lower than the verbatim sentences most rows are."""
    table = {t: separation(data, t) for t in THRESHOLDS}
    fewest = min(c[1] + c[2] for c in table.values())
    runs, run = [], []
    for t in THRESHOLDS:
        if table[t][1] + table[t][2] == fewest:
            run.append(t)
        elif run:
            runs.append(run)
            run = []
    if run:
        runs.append(run)
    widest = max(runs, key=len)
    middle = round((widest[(len(widest) - 1) // 2] + widest[len(widest) // 2]) / 2, 3)
    return middle, separation(data, middle)


def fit() -> None:
    data = [r for r in rows() if r.get("label") in ("supported", "unsupported")]
    n_sup = sum(r["label"] == "supported" for r in data)
    print(f"{len(data)} labelled sentences: {n_sup} supported, {len(data) - n_sup} unsupported")
    for t in THRESHOLDS:
        counts = separation(data, t)
        print(f"  threshold {t:.2f}: supported kept/dropped {counts[:2]}, unsupported kept/dropped {counts[2:]}")
    t, counts = best_threshold(data)
    print(f"best threshold {t:.2f} (support.THRESHOLD = {support.THRESHOLD:.2f}): "
          f"{counts[0]}/{n_sup} supported kept, {counts[3]}/{len(data) - n_sup} unsupported dropped")


def collect(max_tokens: int = 120, only_open: bool = False) -> None:
    from eval.small_model import small_model_path
    from rag.answering.citations import markers
    from rag.answering.pipeline import _messages
    from rag.index.ingestion import ingest
    from rag.llm import LlamaCppLLM
    from rag.retrieval.hybrid import get_retriever
    from rag.settings import Settings, get_settings

    base = Path(tempfile.mkdtemp(prefix="support-calibration-"))
    settings = Settings(index_dir=base / "vectorstore", uploads_dir=base / "uploads", backend="extractive",
                        llm_max_tokens=max_tokens, llm_temperature=0.0, top_k=3)
    ingest([settings.corpus_dir], settings=settings)
    retriever = get_retriever(settings)
    llm = LlamaCppLLM(settings, model_path=small_model_path(get_settings().cache_dir))
    questions = {q["id"]: q for q in map(json.loads, QUESTIONS.read_text(encoding="utf-8").splitlines())}
    DATA.parent.mkdir(parents=True, exist_ok=True)
    with DATA.open("a", encoding="utf-8") as out:
        picked = [] if only_open else [(q, questions[q]["question"]) for q in PICK]
        for qid, question in [*picked, *(("open", q) for q in OPEN)]:
            passages = retriever.search(question, settings.top_k)
            reply = "".join(llm.chat(_messages(question, passages, settings)))
            print(f"--- {qid} {question}\n{reply}\n")
            for sentence in support.split_sentences(reply):
                cited = [n for n in markers(sentence) if 1 <= n <= len(passages)] or [1]
                row = {"origin": f"qwen2.5-coder-0.5b:{qid}", "question": question, "sentence": sentence.strip(),
                       "passage": passages[cited[0] - 1].text, "label": None}
                out.write(json.dumps(row, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="calibrate the support threshold of model answers")
    parser.add_argument("mode", choices=["collect", "fit"])
    parser.add_argument("--only-open", action="store_true", help="collect: the open questions only")
    args = parser.parse_args(argv)
    collect(only_open=args.only_open) if args.mode == "collect" else fit()


if __name__ == "__main__":
    main()
