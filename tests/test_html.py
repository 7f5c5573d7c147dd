"""Web pages (.html .htm .xhtml): their structure reaches the answer units as Markdown (headings, lists, tables,
code, definition entries), their navigation, scripts and images do not, their declared encoding is respected;
and a real manual page, ingested with the real model, answers from a table row, an option entry and a command."""

from __future__ import annotations

import pytest

from rag.documents.html import declared_encoding, html_to_markdown
from rag.documents.loaders import SUPPORTED_SUFFIXES, iter_files, load_document
from rag.documents.units import display, plain, split_units
from rag.errors import DocumentError

# A chapter of an intranet manual as an old documentation generator writes it: declared GB2312 (a GBK-only
# character, 堃, in the text), a navigation header and footer, a "上一页 | 下一页 | 目录" bar, a script.
MANUAL_PAGE = """<!DOCTYPE html PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">
<html lang="zh-CN">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<title>第 4 章 备份工具 bkup</title>
<link rel="stylesheet" href="manual.css">
<style>.warn { color: #c00; } /* 样式表里的文字 */</style>
<script type="text/javascript">
  var 统计代码 = "脚本里的文字不应被收录"; document.write("页面访问统计");
</script>
</head>
<body>
<div class="navheader">
<table width="100%"><tr><th colspan="3" align="center">第 4 章 备份工具 bkup</th></tr>
<tr><td width="20%"><a accesskey="p" href="ch03.html">上一页</a></td><th width="60%">&nbsp;</th>
<td width="20%" align="right"><a accesskey="n" href="ch05.html">下一页</a></td></tr></table>
<hr></div>
<p class="crumbs"><a href="index.html">目录</a> | <a href="ch03.html">上一页</a> | <a href="ch05.html">下一页</a></p>
<nav><ul><li><a href="/">信息中心首页</a></li><li><a href="/docs/">全部手册</a></li></ul></nav>

<h1>第 4 章 备份工具 bkup</h1>
<p>bkup 是信息中心为各部门提供的备份工具，可以把服务器上的指定目录
定期备份到<a href="http://backup.intranet.example/">备份服务器</a>。
<img src="images/bkup-arch.png" alt="bkup 架构示意图"></p>

<h2>4.1 硬件要求</h2>
<p>运行 bkup 的机器应满足下表的要求：</p>
<table border="1" class="informaltable">
<thead><tr><th>项目</th><th>最低配置</th><th>推荐配置</th></tr></thead>
<tbody>
<tr><td>内存</td><td>2 GB</td><td>8 GB</td></tr>
<tr><td>磁盘空间</td><td>40 GB</td><td>500 GB</td></tr>
<tr><td>网络带宽</td><td>10 Mbps</td><td>100 Mbps</td></tr>
</tbody></table>

<h2>4.2 安装</h2>
<ol>
<li>从软件仓库下载安装包。</li>
<li>把安装包解压到 <code>/opt/bkup</code> 目录。</li>
<li>以管理员身份运行安装脚本。</li>
</ol>
<p>安装完成后，在终端中执行以下命令完成首次备份：</p>
<pre class="screen">
$ sudo bkup --init /srv/data
$ bkup run --now
</pre>

<h2>4.3 命令行选项</h2>
<div class="variablelist"><dl>
<dt><span class="term"><code class="option">-q</code></span></dt>
<dt><span class="term"><code class="option">--quiet</code></span></dt>
<dd><p>只输出错误信息，不显示备份进度。</p></dd>
<dt><span class="term"><code class="option">-k</code>, <code class="option">--keep=N</code></span></dt>
<dd><p>保留最近 N 份备份，更早的备份会被自动删除。默认保留 7 份。</p></dd>
<dt><span class="term">配置文件</span></dt>
<dd><p>bkup 启动时读取 <code>/etc/bkup/bkup.conf</code>。</p></dd>
</dl></div>

<h2>4.4 联系人</h2>
<p>本工具的维护人是王堃，分机号 8123。</p>

<div class="navfooter"><hr>
<table width="100%"><tr><td width="40%"><a href="ch03.html">上一页</a></td>
<td width="20%"><a href="index.html">上一级</a></td>
<td width="40%" align="right"><a href="ch05.html">下一页</a></td></tr>
<tr><td>第 3 章 网络设置</td><td><a href="index.html">起始页</a></td><td>第 5 章 日志</td></tr></table></div>
<footer><p>版权所有 &copy; 2024 信息中心 | <a href="mailto:it@example.com">联系我们</a></p></footer>
</body>
</html>
"""


def write(tmp_path, name: str, html: str, encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(html.encode(encoding))
    return path


def reason(path) -> str:
    with pytest.raises(DocumentError) as caught:
        load_document(path)
    assert caught.value.name == path.name
    return caught.value.reason


@pytest.fixture(scope="module")
def manual(tmp_path_factory):
    path = write(tmp_path_factory.mktemp("page"), "bkup.html", MANUAL_PAGE, "gbk")
    doc = load_document(path)
    return doc, split_units(doc.text)


def shown(doc, units, kind: str) -> list[str]:
    return [display(doc.text, u) for u in units if u.kind == kind]


# --- what the page keeps --------------------------------------------------------------------------------------


def test_a_page_declared_gb2312_is_read_with_its_superset(manual):
    doc, _ = manual
    assert doc.encoding == "gb18030"
    assert "维护人是王堃" in doc.text  # 堃 is outside GB2312: the page is read with its superset


def test_headings_become_markdown_headings_and_give_context(manual):
    doc, units = manual
    assert doc.text.startswith("# 第 4 章 备份工具 bkup\n\n")
    assert "\n\n## 4.1 硬件要求\n\n" in doc.text
    row = next(u for u in units if u.kind == "row")
    assert row.context.startswith("第 4 章 备份工具 bkup › 4.1 硬件要求")


def test_a_table_becomes_a_pipe_table_whose_rows_carry_their_header(manual):
    doc, units = manual
    for line in ("| 项目 | 最低配置 | 推荐配置 |", "| --- | --- | --- |", "| 内存 | 2 GB | 8 GB |"):
        assert line in doc.text.split("\n\n")
    assert shown(doc, units, "row") == ["项目：内存；最低配置：2 GB；推荐配置：8 GB",
                                        "项目：磁盘空间；最低配置：40 GB；推荐配置：500 GB",
                                        "项目：网络带宽；最低配置：10 Mbps；推荐配置：100 Mbps"]


def test_an_ordered_list_becomes_numbered_items(manual):
    doc, units = manual
    assert shown(doc, units, "item") == ["1. 从软件仓库下载安装包。", "2. 把安装包解压到 /opt/bkup 目录。",
                                         "3. 以管理员身份运行安装脚本。"]


def test_pre_becomes_a_fenced_code_block(manual):
    doc, units = manual
    assert "```\n$ sudo bkup --init /srv/data\n$ bkup run --now\n```" in doc.text
    assert shown(doc, units, "code") == ["$ sudo bkup --init /srv/data\n$ bkup run --now"]


def test_a_definition_list_becomes_term_lines_each_joined_with_its_description(manual):
    doc, units = manual
    assert "-q, --quiet\n\n只输出错误信息，不显示备份进度。" in doc.text  # two <dt> of one entry: one term line
    options = shown(doc, units, "option")
    assert "-q, --quiet：只输出错误信息，不显示备份进度。" in options
    assert "-k, --keep=N：保留最近 N 份备份，更早的备份会被自动删除。" in options
    assert "配置文件：bkup 启动时读取 /etc/bkup/bkup.conf。" in options


def test_navigation_scripts_styles_and_footer_are_dropped(manual):
    doc, _ = manual
    assert "目录 |" not in doc.text  # ("目录" itself is in the text: "指定目录")
    for gone in ("上一页", "下一页", "起始页", "上一级", "信息中心首页", "全部手册", "第 3 章 网络设置",
                 "版权所有", "联系我们", "脚本里的文字", "页面访问统计", "统计代码", "color", "样式表"):
        assert gone not in doc.text, gone


def test_links_keep_their_text_and_images_leave_nothing(manual):
    doc, _ = manual
    assert "指定目录定期备份到备份服务器。" in doc.text  # the source's line break between Chinese characters is no space
    for gone in ("http", "](", "![", "<img", ".png", "架构示意图", "mailto"):
        assert gone not in doc.text, gone


# --- conversion details -----------------------------------------------------------------------------------------


def test_a_page_without_h1_is_headed_by_its_title():
    md = html_to_markdown("<title>运维手册</title><h2>日志</h2><p>日志保存 30 天。</p>", "a.html")
    assert md.split("\n\n")[:2] == ["# 运维手册", "## 日志"]
    same = html_to_markdown("<title>3.1. 日志</title><h2>3.1. 日志</h2><p>日志保存 30 天。</p>", "a.html")
    assert same.split("\n\n")[0] == "## 3.1. 日志"  # not said twice


def test_a_loose_link_bar_and_header_links_go_but_the_header_title_stays():
    md = html_to_markdown(
        '<body><header><a href="/"><img src="logo.png"></a> <a href="/a">栏目</a><h1>通知</h1></header>'
        '<a href="p.html">« 上一篇</a> · <span>下一篇</span> · <a href="l.html">返回目录</a><br>'
        '<p>会议改到周五。<a href="#fn1">[1]</a></p><p><a href="x.html">会议纪要</a>见附件。</p>'
        '<p><a href="#top">返回顶部</a></p></body>', "n.html")
    assert md == "# 通知\n\n会议改到周五。\n\n会议纪要见附件。"


def test_a_layout_table_becomes_blocks_and_its_data_table_stays_a_table():
    md = html_to_markdown(
        "<table><tr><td colspan=2><h1>端口清单</h1></td></tr><tr><td>说明：</td><td><p>以下端口对内网开放。</p>"
        "<table><tr><td><b>服务</b></td><td><b>端口</b></td></tr><tr><td rowspan=2>web</td><td>80</td></tr>"
        "<tr><td>443</td></tr></table></td></tr></table>", "p.html")
    assert md.startswith("# 端口清单\n\n")
    assert "以下端口对内网开放。" in md.split("\n\n")
    # bold first row: the header; a cell spanning two rows: in each of them
    assert "| 服务 | 端口 |\n| --- | --- |\n| web | 80 |\n| web | 443 |" in md


def test_stacked_header_rows_become_one_and_a_pipe_stays_inside_its_cell(tmp_path):
    path = write(tmp_path, "spec.htm",
                 "<table><thead><tr><th rowspan=2>型号</th><th colspan=2>内存</th></tr><tr><th>最小</th><th>最大</th>"
                 "</tr></thead><tr><td>A1</td><td>4 GB</td><td>16 GB</td></tr><tr><td>B2 | 加强版</td><td>8 GB</td>"
                 "<td>64 GB</td></tr></table>")
    doc = load_document(path)
    rows = [display(doc.text, u) for u in split_units(doc.text) if u.kind == "row"]
    assert rows == ["型号：A1；内存 最小：4 GB；内存 最大：16 GB", "型号：B2 | 加强版；内存 最小：8 GB；内存 最大：64 GB"]


def test_hidden_parts_forms_controls_and_comments_are_not_text():
    md = html_to_markdown(
        '<body style="display:none"><!-- 注释 --><p hidden>隐藏一</p><div style="display: none">隐藏二</div>'
        '<form><label>关键词</label><input value="输入框"><button>搜索按钮</button><select><option>选项甲</option>'
        '</select></form><p>正文。</p></body>', "f.html")
    assert md == "关键词\n\n正文。"


def test_superscripts_stay_apart_from_the_number_before_them():
    md = html_to_markdown("<p>机房面积 30 m<sup>2</sup>，共 18<sup><a href='#n1'>1</a></sup> 台服务器。</p>", "s.html")
    assert md == "机房面积 30 m²，共 18 台服务器。"


def test_a_nested_list_and_code_in_an_item_stay_at_the_start_of_their_lines():
    md = html_to_markdown("<ul><li>准备<ul><li>备份数据<pre>$ bkup run</pre></li></ul></li><li>升级</li></ul>", "l.html")
    assert md == "- 准备\n- 备份数据\n\n```\n$ bkup run\n```\n- 升级"


def test_tags_nested_thousands_deep_still_load(tmp_path):
    path = write(tmp_path, "deep.html", "<p>" + "<font color=red>字" * 3000 + "</p><p>结尾。</p>")
    text = load_document(path).text
    assert text.startswith("字" * 3000) and text.endswith("结尾。")


# --- encodings ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("head, expected", [
    (b'<meta charset="GB2312">', "gb18030"), (b'<meta charset="gbk">', "gb18030"),
    (b"<meta http-equiv='Content-Type' content='text/html; charset=GB18030'>", "gb18030"),
    (b'<?xml version="1.0" encoding="gb2312"?>', "gb18030"), (b'<meta charset="big5">', "big5hkscs"),
    (b'<meta charset="iso-8859-1">', "cp1252"), (b'<meta charset="utf-16">', "utf-8"),
    (b'<meta charset="utf-8">', "utf-8"), (b'<meta charset="no-such-code">', None), (b"<p>x</p>", None),
])
def test_the_declared_encoding_is_read_as_browsers_read_it(head, expected):
    assert declared_encoding(head + b"<html><head><title>x</title></head>") == expected


def test_a_declared_encoding_is_used(tmp_path):
    path = write(tmp_path, "tw.html", '<meta charset="big5"><p>備份伺服器的維護人員。</p>', "big5")
    doc = load_document(path)
    assert (doc.text, doc.encoding) == ("備份伺服器的維護人員。", "big5hkscs")


def test_a_wrong_declaration_falls_back_to_reading_the_bytes(tmp_path):
    path = write(tmp_path, "copied.html", '<meta charset="utf-8"><p>模板里写着 UTF-8，文件却是 GBK。</p>', "gbk")
    doc = load_document(path)
    assert (doc.text, doc.encoding) == ("模板里写着 UTF-8，文件却是 GBK。", "gb18030")


def test_a_bom_wins_over_the_declaration(tmp_path):
    path = tmp_path / "bom.html"
    path.write_bytes(b"\xef\xbb\xbf" + '<meta charset="gb2312"><p>带 BOM 的 UTF-8 网页。</p>'.encode("utf-8"))
    doc = load_document(path)
    assert (doc.text, doc.encoding) == ("带 BOM 的 UTF-8 网页。", "utf-8-sig")


def test_an_undeclared_gbk_page_is_detected(tmp_path):
    path = write(tmp_path, "old.htm", "<html><body><p>没有声明编码的旧网页。</p></body></html>", "gbk")
    assert load_document(path).text == "没有声明编码的旧网页。"


# --- failures and file kinds ------------------------------------------------------------------------------------


def test_an_empty_page_and_a_page_without_text_get_the_usual_errors(tmp_path):
    assert reason(write(tmp_path, "empty.html", "")) == "文件为空"
    nothing = "<html><head><title>标题</title><script>alert('文字')</script></head><body><nav><a href=/>首页</a>" \
              "</nav><img src=a.png alt=图片></body></html>"
    assert "没有可用的文字" in reason(write(tmp_path, "blank.html", nothing))


def test_undecodable_binary_and_too_large_pages_are_refused(tmp_path):
    junk = tmp_path / "junk.html"
    junk.write_bytes(b"<p>" + b"\x81\xff\xfe\x80" * 50 + b"</p>")
    assert "编码" in reason(junk)
    binary = tmp_path / "image.htm"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    assert "二进制" in reason(binary)
    big = write(tmp_path, "big.xhtml", "<p>" + "大" * 1000 + "</p>")
    with pytest.raises(DocumentError, match="文件太大"):
        load_document(big, max_bytes=100)


def test_html_files_are_supported_wherever_markdown_is(tmp_path):
    assert {".html", ".htm", ".xhtml"} <= set(SUPPORTED_SUFFIXES)
    for name in ("a.html", "b.HTM", "sub/c.xhtml", "notes.md", "page.php"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("<p>内容。</p>", encoding="utf-8")
    found = [p.relative_to(tmp_path).as_posix() for p in iter_files([tmp_path])]
    assert found == ["a.html", "b.HTM", "notes.md", "sub/c.xhtml"]
    assert load_document(tmp_path / "sub" / "c.xhtml").text == "内容。"


def test_an_xhtml_page_with_an_xml_declaration(tmp_path):
    page = ('<?xml version="1.0" encoding="gb2312"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
            '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n<html xmlns="http://www.w3.org/1999/xhtml">'
            '<head><title>说明</title></head><body><h1>说明</h1><p>第一段。<br/>第二行。</p></body></html>')
    doc = load_document(write(tmp_path, "page.xhtml", page, "gb2312"))
    assert doc.encoding == "gb18030" and "xml" not in doc.text and "DOCTYPE" not in doc.text
    assert [plain(doc.text[u.start:u.end]) for u in split_units(doc.text)] == ["第一段。", "第二行。"]


# --- end to end: the real model, a real index, the answer a user reads -----------------------------------------


@pytest.fixture(scope="module")
def manual_index(tmp_path_factory):
    from rag.index.ingestion import ingest
    from rag.settings import Settings

    base = tmp_path_factory.mktemp("html-index")
    (base / "docs").mkdir()
    write(base / "docs", "bkup-manual.html", MANUAL_PAGE, "gbk")
    settings = Settings(index_dir=base / "vs", uploads_dir=base / "up", backend="extractive")
    report = ingest([base / "docs"], settings=settings)
    assert report.added == ["bkup-manual.html"] and not report.skipped
    return settings


def ask(settings, question):
    from rag import answer

    got = answer(question, settings=settings, backend="extractive")
    assert all(c.source == "bkup-manual.html" for c in got.citations)
    assert not any(gone in got.text for gone in ("上一页", "下一页", "](", "http", "脚本")), got.text
    return got


def test_a_table_row_answers_from_the_html_page(manual_index):
    got = ask(manual_index, "运行 bkup 推荐配置多大的内存？")
    assert not got.abstained and got.text.startswith("项目：内存；最低配置：2 GB；推荐配置：8 GB"), got.text
    assert got.citations[0].quote == "| 内存 | 2 GB | 8 GB |"


def test_an_option_entry_answers_from_the_html_page(manual_index):
    got = ask(manual_index, "bkup 的 -k 选项有什么作用？")
    assert not got.abstained and got.text.startswith("-k, --keep=N：保留最近 N 份备份"), got.text


def test_the_command_answers_from_the_html_page(manual_index):
    got = ask(manual_index, "首次备份要在终端里执行什么命令？")
    assert not got.abstained and "$ sudo bkup --init /srv/data\n$ bkup run --now" in got.text, got.text
