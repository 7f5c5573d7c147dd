"""The page's index writes run in a child process: the outcome, progress and errors come back; the model stays there."""

from __future__ import annotations

import re
import sys

import pytest

from rag.errors import RagError
from ui import worker

pytestmark = pytest.mark.slow


def test_an_ingest_in_the_child_reports_back_with_progress_that_never_goes_back(settings, tmp_path):
    torch_before = "torch" in sys.modules
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "甲.txt").write_text("甲公司2025年共有员工321人。\n" * 40, encoding="utf-8")
    (docs / "乙.txt").write_text("乙公司2025年共有员工45人。\n", encoding="utf-8")
    (docs / "坏.exe").write_bytes(b"MZ\x90")
    seen: list[tuple[float, str]] = []
    report = worker.ingest([docs / "甲.txt", docs / "乙.txt", docs / "坏.exe"], settings=settings,
                           progress=lambda fraction, message: seen.append((fraction, message)))
    assert sorted(report.added) == ["乙.txt", "甲.txt"] and report.skipped[0][0] == "坏.exe"
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions)
    totals = [int(m.group(1)) for _, text in seen if (m := re.search(r"\d+/(\d+) 块", text))]
    assert totals and len(set(totals)) == 1 and totals[0] == report.chunks  # named once known, never changed
    files = [int(m.group(1)) for _, text in seen if (m := re.search(r"读取文件 \d+/(\d+)", text))]
    assert set(files) == {3}
    if not torch_before:
        assert "torch" not in sys.modules  # the full embedding model was loaded in the child only
    from rag.index.ingestion import list_documents

    assert [d.source for d in list_documents(settings)] == ["乙.txt", "甲.txt"]


def test_an_error_in_the_child_arrives_as_the_same_chinese_error(settings, tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("x", encoding="utf-8")
    broken = settings.model_copy(update={"index_dir": blocked})
    with pytest.raises(RagError) as caught:
        worker.ensure_index(broken)
    assert re.search(r"[\u4e00-\u9fff]", str(caught.value)) and "Traceback" not in str(caught.value)
