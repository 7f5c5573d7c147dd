"""Loading and cleaning: the sample corpus, every encoding and format, and every way a file can fail."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest

from rag.documents.cleaning import clean_text, is_caption
from rag.documents.loaders import SUPPORTED_SUFFIXES, iter_files, load_document
from rag.errors import DocumentError

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "data" / "sample"
SAMPLE_2023 = SAMPLE_DIR / "cppcc-2023-consensus-review.txt"
SAMPLE_2024 = SAMPLE_DIR / "cppcc-2024-consultation-review.txt"

CAPTIONS = {
    "2023年7月15日,北京市政协与自治区政协召开落实《“京蒙协作 政协助力”框架协议》工作机制座谈会。",
    "2023年6月30日,自治区政协举办“两优一先”表彰大会暨“扎实开展主题教育、着力激发履职活力”文艺演出。",
    "2024年9月27日,自治区政协召开“推进‘三北’工程建设加强荒漠化综合防治”三级政协民主监督协商会暨"
    "“防沙治沙和风电光伏一体化工程”专题协商会。",
    "2024年9月26日,自治区十三届政协常委会第九次会议在呼和浩特召开,围绕“推动高载能产业绿色低碳转型发展”"
    "开展专题议政性协商,与会委员与相关部门进行互动交流。",
}


def paragraphs(text: str) -> list[str]:
    return text.split("\n\n")


def raw_paragraphs(path: Path) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", path.read_text("utf-8")) if p.strip()]


def reason(path: Path, **kwargs) -> str:
    with pytest.raises(DocumentError) as caught:
        load_document(path, **kwargs)
    assert caught.value.name == path.name
    return caught.value.reason


# --- the sample corpus ---------------------------------------------------------------


@pytest.mark.parametrize("path", [SAMPLE_2023, SAMPLE_2024], ids=lambda p: p.stem)
def test_sample_loads_with_provenance(path):
    doc = load_document(path)
    assert doc.source == path.name
    assert doc.path == str(path)
    assert doc.encoding == "utf-8"
    assert doc.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert "\n\n\n" not in doc.text and doc.text == doc.text.strip()
    assert all(p == p.strip() and p and "\n" not in p for p in paragraphs(doc.text))


def test_sentence_broken_across_paragraphs_is_one_sentence():
    doc = load_document(SAMPLE_2024)
    assert "筑牢我国北方重要生态安全屏障的有力体现。" in doc.text
    assert "有力体现。" not in paragraphs(doc.text)
    # broken mid-word ("自治" / "区政协") and after a comma
    assert "举行1场专题宣讲活动,自治区政协领导同志深入各小组" in doc.text
    assert "敲定京蒙双向赋能协作的关键要素,聚焦两地党政工作部署" in doc.text


def test_sentence_interrupted_by_a_caption_is_rejoined_and_caption_kept():
    text = load_document(SAMPLE_2023).text
    assert "协助党委、政府破解民生难题、增进民生福祉" in text
    joined = "“高规格、高层次、高水平,有妙语、有干货、有情怀”,这是政协委员和机关干部们对此次培训的共同感受。"
    assert joined in text
    caption = "2023年7月15日,北京市政协与自治区政协召开落实《“京蒙协作 政协助力”框架协议》工作机制座谈会。"
    assert caption in paragraphs(text)


def test_repeated_paragraphs_appear_once():
    raw = SAMPLE_2023.read_text("utf-8")
    text = load_document(SAMPLE_2023).text
    for start in ("——以“北疆文化”凝聚共识。", "进入新阶段、踏上新征程,"):
        assert raw.count(start) == 2
        assert text.count(start) == 1
    # the first copy stays where it was: before the fourth section heading
    assert text.index("——以“北疆文化”凝聚共识。") < text.index("这一年,自治区政协讲担当")


@pytest.mark.parametrize(
    "heading",
    [
        "广聚共识增合力 团结奋进谱新篇",
        "——自治区政协2023年度凝聚共识工作回眸",
        "这一年,自治区政协强引领、树导向、明重点,推动凝聚共识工作入脑入心、落实落细",
        "这一年,自治区政协讲担当、重融合、求实效,推动凝聚共识工作走深走实、见行见效",
        "(张悦)",
    ],
)
def test_headings_are_not_glued_to_the_next_paragraph_2023(heading):
    assert heading in paragraphs(load_document(SAMPLE_2023).text)


@pytest.mark.parametrize(
    "heading",
    [
        "围绕中心 参与中心 融入中心 ——自治区十三届政协2024年协商议政工作回顾",
        "这一年,我们围绕中心谋履职,议题精准聚焦",
        "——围绕中心、服务大局,在助力两件大事、“六个工程”上献计出力",
        "这一年,我们重实效促提升,展现政协新气象",
    ],
)
def test_headings_are_not_glued_to_the_next_paragraph_2024(heading):
    assert heading in paragraphs(load_document(SAMPLE_2024).text)


def test_paragraph_counts_before_and_after_cleaning():
    assert (len(raw_paragraphs(SAMPLE_2023)), len(paragraphs(load_document(SAMPLE_2023).text))) == (38, 34)
    assert (len(raw_paragraphs(SAMPLE_2024)), len(paragraphs(load_document(SAMPLE_2024).text))) == (43, 39)


def test_is_caption_flags_exactly_the_photo_captions():
    raw = [p for path in (SAMPLE_2023, SAMPLE_2024) for p in raw_paragraphs(path)]
    cleaned = [p for path in (SAMPLE_2023, SAMPLE_2024) for p in paragraphs(load_document(path).text)]
    assert {p for p in raw if is_caption(p)} == CAPTIONS
    assert {p for p in cleaned if is_caption(p)} == CAPTIONS


def test_dated_body_paragraphs_are_not_captions():
    text = load_document(SAMPLE_2024).text
    two_sentences = next(p for p in paragraphs(text) if p.startswith("2024年9月26日,一场聚焦"))
    assert not is_caption(two_sentences)
    long_one = next(p for p in paragraphs(load_document(SAMPLE_2023).text) if p.startswith("2023年1月15日"))
    assert not is_caption(long_one)
    assert not is_caption("2024年是中华人民共和国成立75周年。")
    assert is_caption("2023年9月1日上午,自治区政协召开专题研讨会。")


# --- clean_text on small inputs ------------------------------------------------------


def test_chinese_punctuation_and_ascii_commas_are_kept():
    assert clean_text("你好，世界！真的？是；好：“引号”（括号）……") == "你好，世界！真的？是；好：“引号”（括号）……"
    assert clean_text("人心是最大的政治,共识是奋进的动力。") == "人心是最大的政治,共识是奋进的动力。"


def test_letters_digits_and_spaces_are_normalised():
    assert clean_text("\u3000\u3000ＡＢＣ１２３号文件。\u3000") == "ABC123号文件。"
    assert clean_text("⼀个⽂件。") == "一个文件。"  # Kangxi radicals that PDFs emit
    assert clean_text("第①条,面积10m²。") == "第①条,面积10m²。"
    assert clean_text("零\u200b宽\ufeff字符。") == "零宽字符。"


def test_newlines_and_whitespace():
    assert clean_text("第一段。\r\n\r\n\r\n第二段。\r最后。") == "第一段。\n\n第二段。\n\n最后。"
    assert clean_text("  行首   多个  空格。  ") == "行首 多个 空格。"
    assert clean_text("\n \n\t\n") == ""


def test_hard_wrapped_lines_are_joined_but_lists_are_not():
    wrapped = "这是一段被硬换行切开的很长的文字,它\n在下一行继续,直到句号为止。"
    assert clean_text(wrapped) == "这是一段被硬换行切开的很长的文字,它在下一行继续,直到句号为止。"
    english = "the first line of a wrapped\nsentence ends here."
    assert clean_text(english) == "the first line of a wrapped sentence ends here."
    md = "# 标题\n- 第一项\n- 第二项\n| 名称 | 数量 |"
    assert paragraphs(clean_text(md)) == ["# 标题", "- 第一项", "- 第二项", "| 名称 | 数量 |"]


def test_sentences_ending_in_a_full_stop_and_rules_stay_apart():
    text = "This line is a complete English sentence.\nSo is this one.\n\n---\n\n下一节。"
    expected = ["This line is a complete English sentence.", "So is this one.", "---", "下一节。"]
    assert paragraphs(clean_text(text)) == expected


def test_short_title_line_stays_apart_from_body():
    text = "第一章 总则\n本办法适用于全区各级政协组织开展的各类协商活动,以及相关的调研和考察工作。"
    assert paragraphs(clean_text(text))[0] == "第一章 总则"


def test_caption_between_broken_halves_moves_after_the_sentence():
    text = "今年的培训“有干货、有情怀”,\n\n2023年7月15日,北京市政协召开座谈会。\n\n这是大家的共同感受。"
    assert paragraphs(clean_text(text)) == [
        "今年的培训“有干货、有情怀”,这是大家的共同感受。",
        "2023年7月15日,北京市政协召开座谈会。",
    ]


def test_short_repeated_lines_are_kept():
    text = "小结\n\n第一部分的内容。\n\n小结\n\n第二部分的内容。"
    assert paragraphs(clean_text(text)).count("小结") == 2


# --- encodings -------------------------------------------------------------------------

CHINESE = "数字无声，最具说服力。18篇协商报告。"


def test_utf8(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(CHINESE.encode("utf-8"))
    doc = load_document(path)
    assert (doc.text, doc.encoding) == (CHINESE, "utf-8")


def test_utf8_cut_inside_the_last_character(tmp_path):
    path = tmp_path / "cut.txt"
    path.write_bytes((CHINESE + "完").encode("utf-8")[:-1])
    doc = load_document(path)
    assert (doc.text, doc.encoding) == (CHINESE, "utf-8")


def test_utf8_with_bom(tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbf" + CHINESE.encode("utf-8"))
    doc = load_document(path)
    assert (doc.text, doc.encoding) == (CHINESE, "utf-8-sig")


def test_utf16_with_bom(tmp_path):
    path = tmp_path / "u16.txt"
    path.write_bytes(CHINESE.encode("utf-16"))
    assert load_document(path).text == CHINESE


# charset-normalizer alone reads several of these as big5, cp949 or utf_16_be
@pytest.mark.parametrize("text", ["测试", "中文", "你好，世界", "旅游倍增、医疗倍增", CHINESE, "筑牢我国北方重要生态安全屏障的有力体现。"])
@pytest.mark.parametrize("encoding", ["gbk", "gb2312", "gb18030"])
def test_short_gbk_family_files_decode_as_chinese(tmp_path, text, encoding):
    path = tmp_path / "gb.txt"
    path.write_bytes(text.encode(encoding))
    doc = load_document(path)
    assert (doc.text, doc.encoding) == (text, "gb18030")


def test_gb18030_only_characters(tmp_path):
    text = "生僻字𠮷和镕字都要读对。"
    path = tmp_path / "gb18030.txt"
    path.write_bytes(text.encode("gb18030"))
    assert load_document(path).text == text


def test_western_legacy_text_is_not_forced_into_gb18030(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes("Grüße aus Köln, schöne Straße.".encode("cp1252"))
    doc = load_document(path)
    assert doc.text == "Grüße aus Köln, schöne Straße."
    assert doc.encoding != "gb18030"


def test_undecodable_bytes(tmp_path):
    path = tmp_path / "junk.txt"
    path.write_bytes(b"\x81\xff\xfe\x80" * 50)
    assert "编码" in reason(path)


def test_markdown_is_read_as_text(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text("# 说明\n\n正文内容。", encoding="utf-8")
    assert paragraphs(load_document(path).text) == ["# 说明", "正文内容。"]


# --- failures a user may hit -------------------------------------------------------------


def test_error_keeps_name_and_reason(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    with pytest.raises(DocumentError) as caught:
        load_document(path)
    assert (caught.value.name, caught.value.reason) == ("empty.txt", "文件为空")
    assert str(caught.value) == "empty.txt: 文件为空"


def test_whitespace_only_file_has_no_text(tmp_path):
    path = tmp_path / "blank.txt"
    path.write_text(" \n\u3000\n\t", encoding="utf-8")
    assert "没有可用的文字" in reason(path)


def test_binary_file(tmp_path):
    path = tmp_path / "image.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    assert "二进制" in reason(path)


def test_unsupported_suffix(tmp_path):
    path = tmp_path / "slides.pptx"
    path.write_bytes(b"data")
    assert "不支持" in reason(path)
    assert "不支持" in reason(tmp_path / "README")


def test_missing_file(tmp_path):
    assert "不存在" in reason(tmp_path / "nope.txt")


def test_dangling_symlink(tmp_path):
    link = tmp_path / "link.txt"
    link.symlink_to(tmp_path / "gone.txt")
    assert "不存在" in reason(link)


def test_directory_with_a_text_suffix(tmp_path):
    folder = tmp_path / "x.txt"
    folder.mkdir()
    assert "不是一个普通文件" in reason(folder)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can read a mode-000 file")
def test_file_without_read_permission(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text("内容。", encoding="utf-8")
    path.chmod(0)
    try:
        assert "权限" in reason(path)
    finally:
        path.chmod(0o644)


def test_permission_error_while_reading(tmp_path, monkeypatch):
    # Works as root too, where chmod 000 does not stop reads.
    path = tmp_path / "secret.txt"
    path.write_text("内容。", encoding="utf-8")

    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", refuse)
    assert "权限" in reason(path)


def test_too_large_file_is_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "big.txt"
    path.write_text("大" * 1000, encoding="utf-8")

    def must_not_read(self, *args, **kwargs):
        raise AssertionError("read a file that is over the limit")

    monkeypatch.setattr(Path, "open", must_not_read)
    monkeypatch.setattr(Path, "read_bytes", must_not_read)
    assert "文件太大" in reason(path, max_bytes=100)


def test_file_at_the_limit_is_accepted(tmp_path):
    path = tmp_path / "ok.txt"
    path.write_bytes("正好。".encode("utf-8"))
    assert load_document(path, max_bytes=path.stat().st_size).text == "正好。"


# --- PDF and DOCX ----------------------------------------------------------------------------


def make_pdf(path: Path, pages: list[list[str]], **canvas_options) -> Path:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    pdf = canvas.Canvas(str(path), **canvas_options)
    for lines in pages:
        pdf.setFont("STSong-Light", 12)
        for row, line in enumerate(lines):
            pdf.drawString(72, 760 - 18 * row, line)
        pdf.showPage()
    pdf.save()
    return path


def wrap(text: str, width: int = 30) -> list[str]:
    return [text[i : i + width] for i in range(0, len(text), width)]


def test_pdf_with_chinese_text(tmp_path):
    body = "自治区政协2024年的协商议题更加求真务实,更具前瞻性和针对性。这是贯彻习近平生态文明思想,筑牢我国北方重要生态安全屏障的有力体现。"
    path = make_pdf(tmp_path / "report.pdf", [["协商议政工作回顾", *wrap(body)], ["数字无声,最具说服力。18篇协商报告。"]])
    doc = load_document(path)
    assert doc.source == "report.pdf"
    assert doc.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert paragraphs(doc.text)[0] == "协商议政工作回顾"
    assert "筑牢我国北方重要生态安全屏障的有力体现。" in doc.text
    assert "18篇协商报告" in doc.text


def test_pdf_sentence_across_pages_skips_the_page_number(tmp_path):
    first = "这一年,自治区政协精心谋划年度协商工作,高质量起草制定2024年度政协协商计划、委员视察考察计划、委员界别活动计划等,全年协商"
    path = make_pdf(tmp_path / "pages.pdf", [[*wrap(first), "- 1 -"], ["第2页", "“路线表”和“施工图”清晰明了。"]])
    text = load_document(path).text
    assert "全年协商“路线表”和“施工图”清晰明了。" in text
    assert "- 1 -" not in text and "第2页" not in text


def test_pdf_without_a_text_layer(tmp_path):
    from reportlab.pdfgen import canvas

    path = tmp_path / "scan.pdf"
    pdf = canvas.Canvas(str(path))
    pdf.rect(100, 100, 200, 200, fill=1)
    pdf.showPage()
    pdf.save()
    assert "没有可提取的文字" in reason(path)


def test_corrupt_pdf(tmp_path):
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >>\ngarbage without a trailer")
    assert "不是有效的 PDF 文件" in reason(path)
    truncated = tmp_path / "truncated.pdf"
    whole = make_pdf(tmp_path / "whole.pdf", [["完整的文件。"]]).read_bytes()
    truncated.write_bytes(whole[: len(whole) // 3])
    assert "PDF" in reason(truncated)


def test_password_protected_pdf(tmp_path):
    from reportlab.lib.pdfencrypt import StandardEncryption

    locked = StandardEncryption("secret", ownerPassword="owner")
    path = make_pdf(tmp_path / "locked.pdf", [["机密。"]], encrypt=locked)
    assert "密码" in reason(path)


def test_docx_paragraphs_and_tables_in_order_with_their_structure(tmp_path):
    import docx

    document = docx.Document()
    document.add_heading("协商工作回顾", level=1)
    document.add_paragraph("数字无声,最具说服力。")
    document.add_paragraph("形成协商报告", style="List Bullet")
    table = document.add_table(rows=2, cols=2)
    for row, cells in enumerate([("项目", "数量"), ("协商报告", "18篇")]):
        for col, value in enumerate(cells):
            table.cell(row, col).text = value
    document.add_paragraph("这是表格之后的段落。")
    path = tmp_path / "review.docx"
    document.save(str(path))

    doc = load_document(path)
    assert paragraphs(doc.text) == [
        "# 协商工作回顾",  # a heading and a list item keep their role, as Markdown
        "数字无声,最具说服力。",
        "- 形成协商报告",
        "| 项目 | 数量 |",
        "| 协商报告 | 18篇 |",
        "这是表格之后的段落。",
    ]


def test_corrupt_docx(tmp_path):
    path = tmp_path / "broken.docx"
    path.write_bytes(b"PK\x03\x04 this is not really a zip archive")
    assert "不是有效的 Word" in reason(path)


# --- iter_files --------------------------------------------------------------------------------


def test_iter_files_expands_folders_sorted_and_skips_hidden(tmp_path):
    names = ["b.txt", "a.md", "c.pdf", "notes.pptx", ".hidden.txt", "sub/d.docx", "sub/e.TXT", ".git/x.txt", "f.csv"]
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x", encoding="utf-8")
    found = [p.relative_to(tmp_path).as_posix() for p in iter_files([tmp_path])]
    assert found == ["a.md", "b.txt", "c.pdf", "f.csv", "sub/d.docx", "sub/e.TXT"]


def test_iter_files_yields_explicit_files_even_if_unsupported(tmp_path):
    slides = tmp_path / "notes.pptx"
    txt = tmp_path / "a.txt"
    slides.write_text("x", encoding="utf-8")
    txt.write_text("x", encoding="utf-8")
    missing = tmp_path / "missing.txt"
    assert list(iter_files([slides, txt, missing, tmp_path])) == [slides, txt, missing]


def test_supported_suffixes():
    assert SUPPORTED_SUFFIXES == (".txt", ".md", ".pdf", ".docx", ".html", ".htm", ".xhtml", ".xlsx", ".csv", ".tsv")


def test_key_value_header_lines_stay_apart_from_the_text_after_them():
    from rag.documents.cleaning import clean_text

    raw = (
        "文号: 岚政办发〔2025〕7号\n发布机关: 岚江市人民政府办公室\n施行日期: 2025年3月1日\n"
        "归属于上市公司股东的净利润：1.37亿元，增长9.2%\n经营活动产生的现金流量净额：2.05亿元\n"
        "当磁盘空间不足时，系统无法写入日志，因此服务会自动停止以保护\n数据完整性。\n"
    )
    paragraphs = clean_text(raw).split("\n\n")
    assert paragraphs[:5] == [
        "文号: 岚政办发〔2025〕7号", "发布机关: 岚江市人民政府办公室", "施行日期: 2025年3月1日",
        "归属于上市公司股东的净利润：1.37亿元，增长9.2%", "经营活动产生的现金流量净额：2.05亿元",
    ]
    assert paragraphs[5] == "当磁盘空间不足时，系统无法写入日志，因此服务会自动停止以保护数据完整性。"
