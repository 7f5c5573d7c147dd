"""Embedded Milvus Lite after a writer was killed while it flushed: a search-index file left empty or cut short is
rebuilt from the stored vectors, and the user sees answers, not a traceback."""

from __future__ import annotations

import pytest

pytest.importorskip("pymilvus", reason='needs the milvus extra: pip install -e ".[milvus]"')
pytest.importorskip("milvus_lite", reason='needs the milvus extra: pip install -e ".[milvus]"')

from tests.test_milvus import _codes, _rag, lite_with_sample  # noqa: E402


@pytest.mark.parametrize("damage", ["empty", "cut"])
def test_a_half_written_index_file_is_rebuilt_from_the_vectors(damage, tmp_path):
    env, folder = lite_with_sample(tmp_path)
    assert _rag(env, "ingest", str(folder))[2].returncode == 0
    files = list((tmp_path / "vs").rglob("indexes/*.idx"))
    assert files  # Lite keeps each segment's search index in a file of its own
    for path in files:
        data = path.read_bytes()
        path.write_bytes(b"" if damage == "empty" else data[: len(data) // 3])
    out, err, done = _rag(env, "ask", "2024年自治区政协形成了多少份协商报告？", ";;", "index", "check")
    assert _codes(out) == [0, 0], done.stderr[-1500:]
    assert "18" in out[0] and "索引完好" in out[1]
    assert "Traceback" not in done.stderr, done.stderr[-1500:]
