"""The support check of model answers: calibrated on real small-model sentences, polarity-aware."""

from __future__ import annotations

from rag.answering import support
from rag.types import Chunk, Passage

PASSAGE = ("2024年围绕自治区两件大事、“六个工程”,组织开展系列调研协商议政活动,形成的18份协商报告全部得到党政领导批示,"
           "这是对自治区政协工作的充分肯定和有力鞭策。")


def _passages(*texts: str) -> list[Passage]:
    return [Passage(Chunk("a.txt", t, 0, len(t), i), 1.0, i + 1) for i, t in enumerate(texts)]


def test_the_threshold_is_the_calibrated_one_and_separates_the_data():
    from eval.support_calibration import best_threshold, rows

    data = [r for r in rows() if r.get("label") in ("supported", "unsupported")]
    assert len(data) >= 50 and any(r["origin"].startswith("qwen2.5-coder-0.5b") for r in data)
    threshold, (kept, dropped, wrongly_kept, rightly_dropped) = best_threshold(data)
    assert support.THRESHOLD == threshold
    assert dropped <= 1 and wrongly_kept == 0


def test_a_flipped_claim_is_not_supported_although_its_words_overlap():
    score, clash = support.sentence_support("根据资料，2024年的协商报告全部被党政领导否决[1]。", PASSAGE)
    assert score > support.THRESHOLD and clash and "批示" in clash
    result = support.check("2024年形成了18份协商报告[1]。这些报告全部被党政领导否决[1]。", _passages(PASSAGE))
    assert result.kept == ["2024年形成了18份协商报告[1]。"] and "否决" in result.dropped[0][0]


def test_each_sentence_answers_to_the_passage_it_cites():
    other = "2023年1月15日,自治区政协十三届一次会议胜利闭幕。"
    text = "形成的18份协商报告全部得到党政领导批示[2]。"
    assert not support.check(text, _passages(PASSAGE, other)).all_supported
    assert support.check(text.replace("[2]", "[1]"), _passages(PASSAGE, other)).all_supported


def test_the_question_said_back_is_no_answer():
    # a small model asked about something the passages never mention may just repeat the question with a marker:
    # most of its words are the passage's, but it claims nothing, so it is dropped
    result = support.check("[1] 2024年自治区政协形成了几份协商报告？形成的18份协商报告全部得到党政领导批示[1]。",
                           _passages(PASSAGE))
    assert result.kept == ["形成的18份协商报告全部得到党政领导批示[1]。"]
    assert result.dropped[0][1] == "是问句，不是回答"
