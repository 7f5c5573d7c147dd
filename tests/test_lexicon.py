"""The English → Chinese lexicon, on the real CC-CEDICT data, and English questions on the real sample index."""

from __future__ import annotations

import gzip

import pytest

from rag.text import lexicon
from tests.conftest import SAMPLE


@pytest.fixture(scope="module")
def sample_vocabulary():
    """Word membership over the sample documents, as retrieval builds it from the index's chunks."""
    return lexicon.corpus_vocabulary(p.read_text(encoding="utf-8") for p in sorted(SAMPLE.iterdir()))


def _terms(question: str) -> dict[str, list[str]]:
    return dict(lexicon.english_terms(question))


def test_consultation_reports_become_chinese_keywords(sample_vocabulary):
    question = "How many consultation reports were formed in 2024?"
    assert "协商" in _terms(question)["consultation"]
    keywords = lexicon.chinese_keywords(question, sample_vocabulary)
    assert "协商报告" in keywords or {"协商", "报告"} <= set(keywords)
    assert "2024" in keywords


def test_vocabulary_drops_words_the_documents_never_use():
    keywords = lexicon.chinese_keywords("How many consultation reports were formed?", lambda w: w == "报告")
    assert keywords == ["报告"]
    occurs = lexicon.corpus_vocabulary(["形成协商报告18份", "另一段"])
    assert occurs("协商") and occurs("协商报告") and occurs("18") and not occurs("商协") and not occurs("报道")


def test_phrase_entries_come_first_as_one_term():
    terms = lexicon.english_terms("Where did the Standing Committee of Inner Mongolia meet?")
    assert terms[0] == ("standing committee", terms[0][1]) and "常委会" in terms[0][1]
    assert "内蒙古" in _terms("Where did the Standing Committee of Inner Mongolia meet?")["inner mongolia"]
    assert "参加" in _terms("Who took part?")["took part"]


def test_inflections_find_the_base_word():
    assert _terms("reports")["reports"][:5] == _terms("report")["report"][:5]
    assert "举行" in _terms("Where was it held?")["held"][:3]
    assert "组织" in _terms("events organised by members")["organised"][:3]  # British spelling
    assert "调解" in _terms("mediators")["mediators"][:3]  # via "to mediate"


def test_numbers_months_and_ordinals_are_kept():
    terms = _terms("the 13th meeting in May 2023, the ninth session")
    assert terms["2023"] == ["2023"]
    assert terms["13th"][0] == "第十三"
    assert terms["5月"] == ["5月"]
    assert terms["ninth"] == ["第九"]
    assert "may" not in _terms("May I ask who came?")  # the modal verb, not the month


def test_stop_words_dropped_and_unknown_words_kept_empty():
    terms = _terms("What is the zorblaxity of the plan?")
    assert set(terms) == {"zorblaxity", "plan"}
    assert terms["zorblaxity"] == []
    assert lexicon.chinese_keywords("What is the zorblaxity?") == []


def test_index_is_built_once_into_the_cache_and_rebuilt_when_damaged(tmp_path):
    data = tmp_path / "mini-cedict.txt.gz"
    with gzip.open(data, "wt", encoding="utf-8") as f:
        f.write("# a comment\n報告 报告 [bao4 gao4] /to report/report/CL:篇[pian1]/\n")
        f.write("協商 协商 [xie2 shang1] /to consult with/\n")
    index = lexicon.load_index(tmp_path / "cache", data)
    assert [h for h, _ in lexicon._unpack(index["=report"])] == ["报告"]
    cached = list((tmp_path / "cache" / "lexicon").glob("*.pickle"))
    assert len(cached) == 1 and not list((tmp_path / "cache" / "lexicon").glob("*.tmp"))
    cached[0].write_bytes(b"not a pickle")
    assert lexicon.load_index(tmp_path / "cache", data) == index


@pytest.mark.slow
def test_english_question_finds_its_passage_in_the_sample_index(sample_index):
    from rag.retrieval.hybrid import get_retriever

    retriever = get_retriever(sample_index)
    passages = retriever.search("How many specially invited mediators were there?", 5)
    assert any("特邀调解员1064人" in "".join(p.text.split()) for p in passages)
    chinese = "2024年形成了多少份协商报告？"
    assert retriever.search_text(chinese) == chinese  # a Chinese question is searched as it is
