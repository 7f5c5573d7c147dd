"""Stage 1, documents: files → cleaned documents → chunks.

Loaders read .txt/.md/.pdf/.docx and web pages (encodings detected, zip formats bounded by ``archives``,
HTML turned into Markdown by ``html``), the layout repair joins broken lines and drops repeated
paragraphs, and ``chunking`` cuts each document into chunks that are exact spans of its cleaned text.
"""
