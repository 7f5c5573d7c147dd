"""Spreadsheets (.xlsx) and delimited text (.csv, .tsv): each row is answered with its header, whatever the
encoding, and a broken workbook is refused with a reason."""

from __future__ import annotations

import datetime

import pytest

from rag import answer
from rag.documents.loaders import load_document
from rag.errors import DocumentError
from rag.index.ingestion import ingest


def _workbook(path):
    import openpyxl

    book = openpyxl.Workbook()
    staff = book.active
    staff.title = "人员"
    staff.append(["姓名", "部门", "入职日期", "工号"])
    staff.append(["张三", "办公室", datetime.datetime(2021, 3, 5), 1001.0])
    staff.append([None, None, None, None])
    staff.append(["李四", "技术|研发部", datetime.datetime(2022, 7, 1), 1002])
    budget = book.create_sheet("预算")
    budget.append(["项目", "金额（万元）"])
    budget.append(["设备购置", 12.5])
    book.save(path)
    return path


def test_a_workbook_is_a_table_per_sheet_under_its_name(tmp_path):
    doc = load_document(_workbook(tmp_path / "名册.xlsx"))
    text = doc.text
    assert "## 人员" in text and "## 预算" in text
    assert "| 张三 | 办公室 | 2021-03-05 | 1001 |" in text  # a whole number and a date as a person writes them
    assert "技术\\|研发部" in text  # a pipe inside a cell stays inside it
    assert "| | | | |" not in text  # the empty row is dropped


def test_a_gb18030_csv_is_read_as_a_table(tmp_path):
    path = tmp_path / "人口.csv"
    path.write_bytes("城市,人口（万）\n北京,2185\n上海,2487\n".encode("gb18030"))
    doc = load_document(path)
    assert doc.encoding == "gb18030" and "| 上海 | 2487 |" in doc.text


def test_a_broken_workbook_is_refused_with_a_reason(tmp_path):
    path = tmp_path / "坏表.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(DocumentError, match="Excel"):
        load_document(path)


def test_a_question_about_a_row_is_answered_with_its_header(tmp_path):
    from rag.settings import Settings

    (tmp_path / "docs").mkdir()
    _workbook(tmp_path / "docs" / "名册.xlsx")
    (tmp_path / "docs" / "人口.tsv").write_text("城市\t人口（万）\n北京\t2185\n上海\t2487\n", encoding="utf-8")
    settings = Settings(index_dir=tmp_path / "vs", uploads_dir=tmp_path / "up", backend="extractive")
    ingest([tmp_path / "docs"], settings=settings)
    a = answer("李四的工号是多少？", settings=settings, backend="extractive")
    assert not a.abstained and "1002" in a.text and "1001" not in a.text, a.text
    assert a.citations and a.citations[0].source == "名册.xlsx"
    b = answer("上海的人口是多少万？", settings=settings, backend="extractive")
    assert not b.abstained and "2487" in b.text, b.text
