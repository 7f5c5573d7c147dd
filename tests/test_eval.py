"""Tests for the eval set, its checker and the metric computation of eval/run.py (no real pipeline)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from eval import run
from eval.check_set import check_item, check_set, load_corpus
from eval.dataset import answer_matches, load_items, squash
from eval.report import format_report
from rag.types import Answer, Chunk, Citation, Passage

A = "a.txt"
B = "b.txt"


@pytest.fixture(scope="module")
def items() -> dict[str, dict]:
    return {i["id"]: i for i in load_items()}


@pytest.fixture(scope="module")
def docs() -> dict[str, str]:
    """The sample documents, squashed (conftest's ``corpus`` is a folder, not this)."""
    return load_corpus()


def _find(items: dict[str, dict], question: str) -> dict:
    return next(i for i in items.values() if i["question"] == question)


# ---------------------------------------------------------------- the set and its checker


def test_checker_passes_on_the_set(items, docs):
    assert check_set(list(items.values()), docs) == []


def test_checker_main_exits_zero(capsys):
    from eval.check_set import main

    assert main([]) == 0
    assert "count" in capsys.readouterr().out


def test_checker_flags_broken_items(items, docs):
    good = _find(items, "2024年自治区政协形成了多少份协商报告？")
    assert check_item(good, docs) == []
    assert any("not found" in p for p in check_item({**good, "evidence": ["这句话不在任何文档里出现过"]}, docs))
    assert any("compile" in p for p in check_item({**good, "answers": ["(unclosed"]}, docs))
    assert any("no answer pattern" in p for p in check_item({**good, "answers": ["(?<!\\d)186(?!\\d)"]}, docs))
    assert any("chars" in p for p in check_item({**good, "evidence": ["18篇"]}, docs))
    assert check_item({"id": "x"}, docs)[0].startswith("missing fields")


def test_set_has_the_required_mix(items):
    types = [i["type"] for i in items.values()]
    assert len(items) >= 70
    assert types.count("count") >= 20 and types.count("compare") >= 5
    assert types.count("reworded") >= 6 and types.count("english") >= 4
    unanswerable = [i for i in items.values() if not i["answerable"]]
    assert len(unanswerable) >= 12 and all(i["answers"] == [] for i in unanswerable)


def test_checker_validates_split_history_and_corpus(items, docs):
    good = _find(items, "2024年自治区政协形成了多少份协商报告？")
    assert any("unknown split" in p for p in check_item({**good, "split": "test"}, docs))
    assert any("unknown corpus" in p for p in check_item({**good, "corpus": "nowhere"}, docs))
    followup = next(i for i in items.values() if i["type"] == "followup" and i["answerable"])
    assert check_item(followup, docs) == []
    assert any("needs a history" in p for p in check_item({k: v for k, v in followup.items() if k != "history"}, docs))
    assert any("role" in p for p in check_item({**followup, "history": [{"role": "bot", "content": "x"}]}, docs))


def test_extra_items_are_checked_against_the_extra_corpus(items, docs):
    extra = [i for i in items.values() if i.get("corpus") == "extra" and i["answerable"]]
    assert len(extra) >= 10
    assert check_set(list(items.values()), docs) == []  # the extra corpus is read from its folder
    # against the sample documents their evidence is missing: the checker really looks in the right corpus
    assert any("not found" in p for p in check_item(extra[0], docs))
    assert check_set(list(items.values()), docs, others={"extra": {}}) != []


def test_set_has_both_splits_and_the_new_types(items):
    splits = [i["split"] for i in items.values()]
    assert splits.count("holdout") >= 40 and splits.count("dev") >= 60
    types = [i["type"] for i in items.values()]
    assert types.count("multi") >= 8 and types.count("followup") >= 6
    assert all(i.get("all") for i in items.values() if i["type"] == "multi" and i["answerable"])
    assert all(i["history"] for i in items.values() if i["type"] == "followup")


def test_a_followup_question_may_repeat_with_another_history(items, docs):
    followup = next(i for i in items.values() if i["type"] == "followup" and i["answerable"])
    twin = {**followup, "id": "twin", "history": [{"role": "user", "content": "另一个问题？"}]}
    assert not any("duplicate" in p for p in check_set([followup, twin], docs))
    assert any("duplicate question" in p for p in check_set([followup, {**followup, "id": "twin"}], docs))


def test_evidence_survives_line_joins(docs):
    # the 2024 page breaks this sentence across lines; squash() must join it
    assert squash("筑牢我国北方重要生态安全屏障的\n\n有力体现") in docs["cppcc-2024-consultation-review.txt"]


# ---------------------------------------------------------------- pattern semantics


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("形成了18份协商报告[1]", True),
        ("共十八篇协商报告", True),
        ("186份", False),
        ("2018年", False),
        ("18场对接活动", False),  # the other 18 in the same document
        ("第18名", False),
        ("见[18]", False),  # a citation marker is not an answer
    ],
)
def test_count_pattern_18(items, text, expected):
    assert answer_matches(_find(items, "2024年自治区政协形成了多少份协商报告？"), text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1140余篇", True), ("1140多篇", True), ("一千一百四十余篇", True), ("1,140篇", True), ("11400篇", False)],
)
def test_count_pattern_1140(items, text, expected):
    assert answer_matches(_find(items, "2024年自治区政协的社情民意信息有多少篇？"), text) is expected


@pytest.mark.parametrize(("text", "expected"), [("2万多人", True), ("两万多人", True), ("12万人", False), ("2月", False)])
def test_count_pattern_wan(items, text, expected):
    assert answer_matches(_find(items, "2023年自治区政协第一期委员专题培训班有多少人参训？"), text) is expected


def test_date_pattern(items):
    item = _find(items, "自治区十三届政协常委会第九次会议是哪天召开的？")
    assert answer_matches(item, "2024年9月26日")
    assert answer_matches(item, "九月二十六日")
    assert not answer_matches(item, "2024年9月27日")


def test_all_patterns_must_match_for_lists(items):
    item = _find(items, "“六个倍增”计划指的是哪六个倍增？")
    assert item.get("all") is True
    full = "教育倍增、医疗倍增、农畜产品销售倍增、旅游倍增、产业合作倍增、科技创新倍增"
    assert answer_matches(item, full)
    assert not answer_matches(item, full.replace("、旅游倍增", ""))


def test_unanswerable_items_never_match():
    assert not answer_matches({"answers": []}, "18")


# ---------------------------------------------------------------- score_item / summarize


def _passage(source: str, text: str, rank: int) -> Passage:
    return Passage(Chunk(source, text, 0, len(text), rank), score=1.0 / rank, rank=rank)


def _answer(text: str, passages: list[Passage], cited: list[int] = (), abstained: bool = False) -> Answer:
    citations = [Citation(n, passages[n - 1].source, passages[n - 1].text, 0, 0) for n in cited]
    return Answer("q", text, citations, passages, abstained, "fake", timings={"retrieval": 0.1, "generation": 0.2})


def _item(id_: str, type_: str, answerable: bool, answers=(), evidence=(), source=(A,)) -> dict:
    return {"id": id_, "question": id_, "type": type_, "answerable": answerable, "answers": list(answers),
            "source": list(source), "evidence": list(evidence)}  # fmt: skip


NOISE = "无关的段落内容"
EIGHTEEN = [r"(?<!\d)18(?!\d)"]


def _fake_run():
    """Six items with hand-known outcomes (see the comments) and their scored results."""
    cases = [
        # hit at 1, right, cites the evidence
        (_item("i1", "count", True, EIGHTEEN, ["甲证据十八份"]),
         _answer("共18份[1]", [_passage(A, "甲证据十八份,即18份", 1)], cited=[1])),
        # evidence at rank 3, wrong number, cites noise
        (_item("i2", "count", True, EIGHTEEN, ["乙证据"]),
         _answer("186份[1]", [_passage(A, NOISE, 1), _passage(A, NOISE, 2), _passage(A, "乙证据", 3)], cited=[1])),
        # evidence only at rank 6 (no hit@5), abstained: wrong, a false abstention
        (_item("i3", "name", True, ["张三"], ["丙证据"]),
         _answer("无法回答", [_passage(A, NOISE, r) for r in range(1, 6)] + [_passage(A, "丙证据", 6)], abstained=True)),
        # unanswerable, abstained: right
        (_item("i4", "unanswerable", False), _answer("无法回答", [_passage(A, NOISE, 1)], abstained=True)),
        # unanswerable, answered with an invented number: wrong
        (_item("i5", "unanswerable", False), _answer("86件", [_passage(A, NOISE, 1)])),
        # compare: both sources needed; B's evidence arrives at rank 2; right; cites A's evidence
        (_item("i6", "compare", True, ["丁", "戊"], ["丁证据", "戊证据"], source=(A, B)),
         _answer("丁和戊[1][2]", [_passage(A, "丁证据", 1), _passage(B, "戊证据", 2)], cited=[1, 2])),
    ]  # fmt: skip

    def unsupported(text: str, evidence: str) -> list[str]:
        return [n for n in re.findall(r"\d+", text) if n not in evidence]

    return [
        run.score_item(item, ans, latency=float(n), numbers_check=unsupported)
        for n, (item, ans) in enumerate(cases, 1)
    ]


def test_score_item_fields():
    r1, r2, r3, r4, r5, r6 = _fake_run()
    assert (r1.hit_rank, r1.correct, r1.citation_ok) == (1, True, True)
    assert (r2.hit_rank, r2.correct, r2.citation_ok, r2.unsupported) == (3, False, False, ["186"])
    assert (r3.hit_rank, r3.correct, r3.citation_ok) == (6, False, None)
    assert (r4.correct, r4.hit_rank) == (True, None)
    assert (r5.correct, r5.unsupported) == (False, ["86"])
    assert (r6.hit_rank, r6.correct, r6.citation_ok) == (2, True, True)
    assert r1.top_passages[0]["has_evidence"] and not r2.top_passages[0]["has_evidence"]


def test_summarize_hand_computed():
    s = run.summarize(_fake_run())
    assert (s["items"], s["answerable"], s["unanswerable"]) == (6, 4, 2)
    assert s["hit@1"] == pytest.approx(1 / 4)
    assert s["hit@3"] == pytest.approx(3 / 4)
    assert s["hit@5"] == pytest.approx(3 / 4)
    assert s["mrr"] == pytest.approx((1 + 1 / 3 + 1 / 6 + 1 / 2) / 4)  # rank 6 is past hit@5, still in MRR
    assert s["accuracy"] == pytest.approx(3 / 6)
    assert s["answerable_accuracy"] == pytest.approx(2 / 4)
    assert s["unanswerable_accuracy"] == pytest.approx(1 / 2)
    assert s["citation_accuracy"] == pytest.approx(2 / 3)
    assert s["abstention_precision"] == pytest.approx(1 / 2)  # i4 right, i3 wrongly
    assert s["abstention_recall"] == pytest.approx(1 / 2)  # i4 caught, i5 missed
    assert s["accuracy_by_type"] == {"compare": 1.0, "count": 0.5, "name": 0.0, "unanswerable": 0.5}
    assert (s["unsupported_numbers"], s["answers_with_unsupported_numbers"]) == (2, 2)
    assert s["latency_p50"] == pytest.approx(3.5)
    assert s["latency_p95"] == pytest.approx(5.75)
    assert s["retrieval_p50"] == pytest.approx(0.1)
    assert s["errors"] == 0


def test_compare_needs_every_source():
    item = _item("c", "compare", True, ["丁"], ["丁证据", "戊证据"], source=(A, B))
    only_a = [_passage(A, "丁证据", 1), _passage(A, "戊证据", 2)]  # B's evidence, but not from B
    assert run.evidence_rank(item, only_a) is None
    assert run.evidence_rank(item, only_a + [_passage("data/b.txt", "戊证据", 3)]) == 3


def test_numbers_check_skipped_when_absent():
    item = _item("i", "count", True, EIGHTEEN, ["甲证据"])
    r = run.score_item(item, _answer("18", [_passage(A, "甲证据", 1)]), numbers_check=None)
    assert r.unsupported is None
    assert run.summarize([r])["unsupported_numbers"] is None


def test_default_numbers_check_uses_rag_numbers():
    pytest.importorskip("rag.text.numbers")
    item = _item("i", "count", True, EIGHTEEN, ["甲证据"])
    r = run.score_item(item, _answer("共186份[1]", [_passage(A, "甲证据18份", 1)], cited=[1]))
    assert r.unsupported == ["186"]


def test_summarize_with_no_abstentions_has_no_precision():
    item = _item("i", "count", True, EIGHTEEN, ["甲证据"])
    s = run.summarize([run.score_item(item, _answer("18", [_passage(A, "甲证据", 1)]), numbers_check=None)])
    assert s["abstention_precision"] is None and s["abstention_recall"] is None


# ---------------------------------------------------------------- main() and --check-floors


def _fake_answer(question, backend=None, top_k=None):
    if question == "boom":
        raise RuntimeError("backend exploded")
    passages = [_passage(A, "甲证据十八份", 1)]
    return _answer("18份[1]", passages, cited=[1])


def _write_set(path: Path) -> Path:
    rows = [
        _item("t1", "count", True, EIGHTEEN, ["甲证据十八份"]),
        {**_item("t2", "count", True, EIGHTEEN, ["甲证据"]), "question": "boom"},
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


def _run_main(tmp_path: Path, floors: dict, *extra: str) -> int:
    (tmp_path / "floors.json").write_text(json.dumps(floors), encoding="utf-8")
    argv = ["--set", str(_write_set(tmp_path / "set.jsonl")), "--out", str(tmp_path / "out"),
            "--floors", str(tmp_path / "floors.json"), *extra]  # fmt: skip
    return run.main(argv, answer_fn=_fake_answer)


def test_check_floors_fails_when_a_floor_is_above_the_measure(tmp_path, capsys):
    # measured accuracy is 0.5: t1 right, t2 raised
    assert _run_main(tmp_path, {"extractive": {"accuracy": 0.9}}, "--check-floors") == 1
    out = capsys.readouterr().out
    assert "BELOW FLOOR" in out and "accuracy" in out


def test_check_floors_passes_when_floors_are_met(tmp_path, capsys):
    floors = {"extractive": {"accuracy": 0.5, "hit@1": 0.5, "accuracy_by_type.count": 0.5, "max": {"errors": 1}}}
    assert _run_main(tmp_path, floors, "--check-floors") == 0
    assert "all floors met" in capsys.readouterr().out


def test_check_floors_ceiling_and_missing_metric():
    summaries = {"extractive": {"errors": 2, "accuracy": 0.7}, "other": {}}
    floors = {"extractive": {"max": {"errors": 0}, "no_such_metric": 0.1}, "absent": {"accuracy": 1.0}}
    failures = run.check_floors(summaries, floors)
    assert len(failures) == 2 and any("ceiling" in f for f in failures)


def test_without_check_floors_exit_is_zero(tmp_path, capsys):
    assert _run_main(tmp_path, {"extractive": {"accuracy": 0.9}}) == 0
    capsys.readouterr()


def test_main_writes_json_and_report(tmp_path, capsys):
    _run_main(tmp_path, {}, "--backend", "extractive", "--backend", "other")
    capsys.readouterr()
    data = json.loads((tmp_path / "out" / "extractive.json").read_text(encoding="utf-8"))
    assert data["metrics"]["accuracy"] == pytest.approx(0.5)
    assert [r["id"] for r in data["results"]] == ["t1", "t2"]
    assert "backend exploded" in data["results"][1]["error"]
    report = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert "## Misses: extractive (1 of 2)" in report and "## Misses: other" in report
    assert (tmp_path / "out" / "other.json").exists()


def test_type_and_limit_filters():
    rows = [{"type": "count"}, {"type": "date"}, {"type": "count"}]
    assert run.select_items(rows, "count") == [rows[0], rows[2]]
    assert run.select_items(rows, None, 2) == rows[:2]


def test_split_and_corpus_filters():
    rows = [{"type": "count", "split": "holdout"}, {"type": "count"}, {"type": "date", "corpus": "extra"}]
    assert run.select_items(rows, split="holdout") == [rows[0]]
    assert run.select_items(rows, split="dev") == rows[1:]  # no split field = dev
    assert run.select_items(rows, corpus="sample") == rows[:2]  # no corpus field = sample
    assert run.select_items(rows, "date", corpus="extra") == [rows[2]]


def _split_set(path: Path) -> Path:
    rows = [
        {**_item("d1", "count", True, EIGHTEEN, ["甲证据十八份"]), "split": "dev"},
        {**_item("h1", "count", True, EIGHTEEN, ["甲证据十八份"]), "question": "h1 other", "split": "holdout"},
        {**_item("f1", "followup", True, EIGHTEEN, ["甲证据十八份"]), "question": "那个呢？", "split": "holdout",
         "history": [{"role": "user", "content": "前一个问题？"}, {"role": "assistant", "content": "回答。"}]},
        {**_item("x1", "count", True, EIGHTEEN, ["甲证据十八份"]), "question": "x1", "corpus": "extra"},
    ]  # fmt: skip
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


def test_main_passes_history_and_reports_by_split(tmp_path, capsys):
    calls = []

    def answer_fn(question, backend=None, top_k=None, **kwargs):
        calls.append((question, kwargs.get("history")))
        right = kwargs.get("history") is not None or question != "那个呢？"
        return _answer("18份[1]" if right else "不知道", [_passage(A, "甲证据十八份", 1)], cited=[1])

    argv = ["--set", str(_split_set(tmp_path / "set.jsonl")), "--out", str(tmp_path / "out")]
    assert run.main(argv, answer_fn=answer_fn) == 0
    out = capsys.readouterr().out
    # the default corpus is the sample one: the extra item is not asked
    assert [q for q, _ in calls] == ["d1", "h1 other", "那个呢？"]
    assert calls[0][1] is None and calls[2][1][0] == {"role": "user", "content": "前一个问题？"}
    metrics = json.loads((tmp_path / "out" / "extractive.json").read_text(encoding="utf-8"))["metrics"]
    assert metrics["items"] == 3 and set(metrics["by_split"]) == {"dev", "holdout"}
    assert metrics["by_split"]["holdout"]["items"] == 2 and metrics["by_split"]["dev"]["items"] == 1
    assert metrics["by_split"]["holdout"]["accuracy_by_type"] == {"count": 1.0, "followup": 1.0}
    assert "extractive/holdout" in out and "extractive/dev" in out


def test_main_selects_a_split_and_a_corpus(tmp_path, capsys):
    asked = []

    def answer_fn(question, backend=None, top_k=None, **kwargs):
        asked.append(question)
        return _answer("18份[1]", [_passage(A, "甲证据十八份", 1)], cited=[1])

    path = str(_split_set(tmp_path / "set.jsonl"))
    run.main(["--set", path, "--out", str(tmp_path / "o1"), "--split", "holdout"], answer_fn=answer_fn)
    assert asked == ["h1 other", "那个呢？"]
    asked.clear()
    run.main(["--set", path, "--out", str(tmp_path / "o2"), "--corpus", "extra"], answer_fn=answer_fn)
    assert asked == ["x1"]
    asked.clear()
    run.main(["--set", path, "--out", str(tmp_path / "o3"), "--corpus", "all"], answer_fn=answer_fn)
    assert sorted(asked) == sorted(["d1", "h1 other", "那个呢？", "x1"])
    metrics = json.loads((tmp_path / "o3" / "extractive.json").read_text(encoding="utf-8"))["metrics"]
    assert {k: v["items"] for k, v in metrics["by_corpus"].items()} == {"extra": 1, "sample": 3}
    capsys.readouterr()


def test_a_miss_shows_the_conversation_before_a_followup():
    item = {**_item("f", "followup", True, EIGHTEEN, ["甲证据"]), "split": "holdout",
            "history": [{"role": "user", "content": "前一个问题？"}]}  # fmt: skip
    result = run.score_item(item, _answer("不知道", [_passage(A, NOISE, 1)]), numbers_check=None)
    report = format_report({"b": run.summarize_groups([result])}, {"b": [result]}, "set")
    assert "### f · followup · holdout · f" in report and "- after: user: 前一个问题？" in report


def test_percentile():
    assert run.percentile([], 50) is None
    assert run.percentile([3.0], 95) == 3.0
    assert run.percentile([1.0, 2.0, 3.0, 4.0], 50) == pytest.approx(2.5)
