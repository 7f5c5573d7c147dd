"""What an index says about itself: the embedder that built it, the chunking, and every document it holds."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from rag.errors import IndexMismatchError
from rag.types import content_hash

# 2: chunks carry their document's id; every generation has a sealed table of its files and its
# keyword (BM25) index. 1 is still read (BM25 is then built in memory).
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)

# The text pipeline that turned files into chunks and answer units. Bump it whenever cleaning, chunking or
# answer-unit splitting (rag.documents) changes what they make: documents made by an older pipeline are then
# made again by the next ``rag ingest`` of their files, and until then the index is named as made by an older
# version. 1: everything written before it was recorded. 2: tables of contents dropped by cleaning, a table's
# lead-in sentence kept as its units' context. 3: a bold command or option line with its argument in italics
# ("**-M ***路径*", a man page's examples) is an entry with its description, not a heading; an entry's id line
# ("-- 5a1b…") has the entry's title as its context; the keyword index also holds key combinations and options
# whole ("ctrl+b", "--no-purge"). 4: each chunk is embedded and keyword-indexed under a context line, its document's
# name and the headings above it (``Chunk.context``). 5: the keyword index holds a key combination however it
# is written ("**Ctrl** + **Alt** + O" as "ctrl+alt+o"); a bold entry line that ends a document is an entry.
# 6: a short quoted line ("> 1 n l 8 3 0 2") is content, not a heading over what follows it. 7: a bare term
# followed by a line that reads like a field is one entry with it ("**Shift** + **Ctrl** + E" then "Export As...: save
# image…"); the keyword index holds a key combination's modifiers in one order ("Shift + Ctrl + E" as "ctrl+shift+e").
# 8: a run of "Key: value" fields is one entry, titled by its Subject, Title, Name, Summary or Description field
# (the fields above the title too: "Default: …" of the question "Description: 邮件系统设置的常见类型"); a field with a
# key like "Choices" or "Defined-By" is a field however long its value. 9: a term alone on its line in code ("`deb`") is
# not glued to the line before or after it: with the line that describes it, it is an entry ("deb：二进制软件包的软件包源");
# so is a file or name alone on its line over a quoted description ("$HOME/.hushlogin" then "> 阻止显示系统信息。").
# 10: a plain-text table drawn with aligned columns is read as a table; the paragraphs indented under a plain-text
# man page's option line are its description. 11: the keyword index holds an editor's keys as Emacs writes them
# ("C-M-v" as "c-m-v" and "ctrl+meta+v"), keys joined by a hyphen ("CTRL-O" as "ctrl+o") and Vim's command lines
# whole (":r !dir", ":wq"). 12: a key combination whose key is C or M keeps it (11 wrote "Ctrl+C" as "ctrl+ctrl").
# 13: a Latin ";", "!" or "?" inside a formula or expression ("DATE(1954;7;20)", "a!=b") ends no sentence; a command's
# help laid out with spaces ("  -a, --all   不要隐藏……"), in plain text or fenced to keep its columns, is one entry per
# option. 14: a table cell that only says it is empty ("-", "N/A") is not shown ("备注：-" came out as "备注").
# 15: the sentences after the first of a paragraph that opens with a label ("**自动保存时创建备份：** ……") stand
# under that label, and a list's items under the sentence that leads into the list ("……应当将其解聘：").
# 16: the figures saved for each clause read "放大约20倍" as about 20 (the 大 is 放大's), not "大约20", and
# "不超过300元" as 300, not "超过300".
PIPELINE_VERSION = 16


@dataclass
class DocumentEntry:
    """What the manifest remembers about one ingested document."""

    source: str
    path: str
    sha256: str
    chars: int
    chunks: int
    encoding: str = "utf-8"
    ingested_at: float = 0.0
    doc_id: str = ""  # stable id of the document (from its resolved path); chunks carry it
    pipeline: int = 1  # the text pipeline that made its chunks (1: written before it was recorded)


def document_id(key: str) -> str:
    """The stable id of the document whose resolved path is ``key``."""
    return content_hash("document", key)


@dataclass
class Manifest:
    """Describes the index: which embedder built it, how it was chunked, which documents it holds."""

    model_id: str
    dim: int
    chunk_size: int
    chunk_overlap: int
    index_type: str
    origin: str = ""
    # the arithmetic that made the vectors ("fp32" or "int8"; "" before it was recorded: fp32) and the engine
    # that ran it ("onnxruntime", "sentence-transformers"); questions are embedded at the same precision
    precision: str = ""
    engine: str = ""
    # how the answer units' vectors were made ("embedded" or "pooled"; "" before it was recorded: embedded)
    unit_vectors: str = ""
    documents: dict[str, DocumentEntry] = field(default_factory=dict)  # key: document path
    format_version: int = FORMAT_VERSION
    # the oldest text pipeline among the documents, recorded at every commit (1: written before it was recorded)
    pipeline_version: int = 1
    updated_at: float = 0.0

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2)

    @classmethod
    def from_json(cls, text: str) -> "Manifest":
        data = json.loads(text)
        docs = {k: DocumentEntry(**v) for k, v in data.pop("documents", {}).items()}
        for key, entry in docs.items():  # written before documents had ids
            entry.doc_id = entry.doc_id or document_id(key)
        return cls(documents=docs, **data)

    def stamp_pipeline(self) -> None:
        """Record the oldest text pipeline among the documents (the current one for an empty index)."""
        self.pipeline_version = min((e.pipeline for e in self.documents.values()), default=PIPELINE_VERSION)


def stale_documents(manifest: Manifest) -> list[DocumentEntry]:
    """The documents whose chunks an older text pipeline made (the next ingest of their files makes them again)."""
    return [e for e in manifest.documents.values() if e.pipeline < PIPELINE_VERSION]


def index_precision(manifest: Manifest) -> str:
    """The precision the index's vectors were made at (indexes from before it was recorded: fp32)."""
    return manifest.precision or "fp32"


def check_precision(manifest: Manifest, precision: str) -> None:
    """Refuse to add vectors of another precision to an index (int8 and fp32 vectors differ a little)."""
    built = index_precision(manifest)
    if built != precision:
        raise IndexMismatchError(
            f"索引的向量是 {built} 精度，而当前设置 RAG_EMBED_PRECISION={precision}；两种向量不能混在一个索引里。"
            f"请运行 `rag ingest --rebuild` 按 {precision} 重建索引，或把 RAG_EMBED_PRECISION 改回 {built}。"
        )


def check_unit_vectors(manifest: Manifest, kind: str) -> None:
    """Refuse to add answer-unit vectors of another kind to an index (pooled and embedded ones differ)."""
    built = manifest.unit_vectors or "embedded"
    if built != kind:
        raise IndexMismatchError(
            f"索引里回答单元的向量是 {built} 方式得到的，而当前设置 RAG_UNIT_VECTORS={kind}；两种向量不能混在一个索引里。"
            f"请运行 `rag ingest --rebuild` 按 {kind} 重建索引，或把 RAG_UNIT_VECTORS 改回 {built}。"
        )


def check_compatible(manifest: Manifest, model_id: str, dim: int | None = None) -> None:
    """Refuse an index built with another embedding model (or dimension)."""
    if manifest.model_id != model_id or (dim is not None and manifest.dim != dim):
        raise IndexMismatchError(
            f"索引由嵌入模型 {manifest.model_id}（{manifest.dim} 维）构建，"
            f"而当前设置的模型是 {model_id}{f'（{dim} 维）' if dim else ''}。"
            "请运行 `rag ingest --rebuild` 用当前模型重建索引，或把 RAG_EMBEDDING_MODEL 改回原模型。"
        )
