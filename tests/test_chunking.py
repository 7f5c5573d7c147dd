"""Chunking: exact spans, captions on their own, facts kept whole, stable ids."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from rag.documents.chunking import split_document
from rag.documents.cleaning import is_caption
from rag.documents.loaders import load_document
from rag.types import Document

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "data" / "sample"
SAMPLES = sorted(SAMPLE_DIR.glob("*.txt"))
SIZES = [60, 100, 200, 300, 500, 1000]
OVERLAPS = [0, 20, 60]
COMBINATIONS = [(size, overlap) for size, overlap in itertools.product(SIZES, OVERLAPS) if overlap < size]
CLAUSE_ENDS = "。！？；，,"


@pytest.fixture(scope="module")
def docs() -> dict[str, Document]:
    return {path.name: load_document(path) for path in SAMPLES}


def test_samples_are_present():
    names = [p.name for p in SAMPLES]
    assert names == ["cppcc-2023-consensus-review.txt", "cppcc-2024-consultation-review.txt"]


@pytest.mark.parametrize(("size", "overlap"), COMBINATIONS)
def test_every_chunk_is_an_exact_span(docs, size, overlap):
    for doc in docs.values():
        chunks = split_document(doc, chunk_size=size, chunk_overlap=overlap)
        assert chunks
        assert [c.order for c in chunks] == list(range(len(chunks)))
        starts = [c.start for c in chunks]
        assert starts == sorted(starts) and len(set(starts)) == len(starts)
        for chunk in chunks:
            assert chunk.text == doc.text[chunk.start : chunk.end]
            assert chunk.source == doc.source
            assert 0 < len(chunk.text) <= size
            assert chunk.text == chunk.text.strip()
            assert chunk.kind in ("body", "caption")


@pytest.mark.parametrize(("size", "overlap"), COMBINATIONS)
def test_no_text_is_lost(docs, size, overlap):
    for doc in docs.values():
        covered = set()
        for chunk in split_document(doc, chunk_size=size, chunk_overlap=overlap):
            covered.update(range(chunk.start, chunk.end))
        missing = [i for i, char in enumerate(doc.text) if not char.isspace() and i not in covered]
        assert missing == []


@pytest.mark.parametrize("size", [200, 300, 500])
def test_captions_are_chunks_of_their_own(docs, size):
    for doc in docs.values():
        captions = [p for p in doc.text.split("\n\n") if is_caption(p)]
        chunks = split_document(doc, chunk_size=size)
        assert [c.text for c in chunks if c.kind == "caption"] == captions
        for chunk in chunks:
            if chunk.kind == "body":
                assert not any(caption in chunk.text for caption in captions)
                assert not any(is_caption(p) for p in chunk.text.split("\n\n"))


def test_two_captions_per_sample(docs):
    for doc in docs.values():
        assert sum(c.kind == "caption" for c in split_document(doc)) == 2


@pytest.mark.parametrize("size", [200, 300, 500])
@pytest.mark.parametrize("overlap", [0, 60])
def test_facts_stay_whole(docs, size, overlap):
    doc = docs["cppcc-2024-consultation-review.txt"]
    chunks = split_document(doc, chunk_size=size, chunk_overlap=overlap)
    for fact in ("18篇协商报告", "1140余篇社情民意信息", "筑牢我国北方重要生态安全屏障的有力体现。"):
        assert any(fact in c.text for c in chunks)
    assert all("18篇协商报告" in c.text for c in chunks if "18篇" in c.text)


@pytest.mark.parametrize("size", [100, 200, 300, 500])
def test_chunks_end_with_their_punctuation(docs, size):
    # keep_separator="end": "。" stays with its sentence, so no chunk starts with one
    for doc in docs.values():
        for chunk in split_document(doc, chunk_size=size):
            assert chunk.text[0] not in CLAUSE_ENDS


def test_body_paragraphs_are_merged_up_to_the_size(docs):
    doc = docs["cppcc-2023-consensus-review.txt"]
    first = split_document(doc, chunk_size=300)[0]
    assert first.text.startswith("广聚共识增合力 团结奋进谱新篇\n\n——自治区政协2023年度凝聚共识工作回眸\n\n")


def test_deterministic_ids(docs):
    for doc in docs.values():
        first = split_document(doc)
        again = split_document(load_document(SAMPLE_DIR / doc.source))
        assert [c.id for c in first] == [c.id for c in again]
        assert len({c.id for c in first}) == len(first)


def test_defaults_are_300_and_60(docs):
    doc = docs["cppcc-2024-consultation-review.txt"]
    assert split_document(doc) == split_document(doc, chunk_size=300, chunk_overlap=60)


def test_caption_between_body_paragraphs_keeps_document_order():
    text = "第一段正文。\n\n2024年9月27日,自治区政协召开专题协商会。\n\n第二段正文。"
    doc = Document(source="t.txt", text=text, sha256="x")
    chunks = split_document(doc, chunk_size=300, chunk_overlap=0)
    assert [(c.kind, c.text) for c in chunks] == [
        ("body", "第一段正文。"),
        ("caption", "2024年9月27日,自治区政协召开专题协商会。"),
        ("body", "第二段正文。"),
    ]


def test_long_sentence_is_cut_at_clauses_with_overlap():
    text = ",".join(f"第{i}个分句的内容" for i in range(40)) + "。"
    doc = Document(source="t.txt", text=text, sha256="x")
    chunks = split_document(doc, chunk_size=50, chunk_overlap=20)
    assert len(chunks) > 1
    assert all(c.text == text[c.start : c.end] for c in chunks)
    assert all(c.text.endswith((",", "。")) for c in chunks)
    assert any(a.end > b.start for a, b in itertools.pairwise(chunks))  # the overlap is real


def test_repeated_text_gets_increasing_spans():
    sentence = "同一句话重复出现。"
    doc = Document(source="t.txt", text=sentence * 30, sha256="x")
    chunks = split_document(doc, chunk_size=40, chunk_overlap=10)
    assert all(c.text == doc.text[c.start : c.end] for c in chunks)
    assert [c.start for c in chunks] == sorted({c.start for c in chunks})
    assert chunks[-1].end == len(doc.text)


def test_empty_document_has_no_chunks():
    assert split_document(Document(source="e.txt", text="", sha256="x")) == []


def test_a_chunk_s_context_line_names_its_document_and_the_headings_above_it():
    from rag.documents.chunking import CONTEXT_MAX

    text = ("# 名称\n\ntool - 整理文件的小工具。\n\n# 选项\n\n## 输出\n\n**-q**, **--quiet**\n\n不输出任何信息，只返回退出状态。\n\n"
            "# 很长很长的第一级标题，" + "说明" * 30 + "\n\n## 退出状态\n\n0 表示成功。\n")
    chunks = split_document(Document(source="tool_guide.1.md", text=text, sha256="x"), 40, 0)
    assert next(c for c in chunks if "整理文件的小工具" in c.text).context == "tool guide.1 › 名称"
    quiet = next(c for c in chunks if "不输出任何信息" in c.text)
    assert quiet.context == "tool guide.1 › 选项 › 输出"
    assert quiet.indexed == f"{quiet.context}\n{quiet.text}" and quiet.text == text[quiet.start:quiet.end]
    status = next(c for c in chunks if "0 表示成功" in c.text)  # an outer heading too long gives way to the inner one
    assert status.context == "tool guide.1 › 退出状态" and len(status.context) <= CONTEXT_MAX
