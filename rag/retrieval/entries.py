"""The entry of an option a question names, looked up by its term: "login 的 -p 选项是干什么的？" is answered by the
entry "**-p** 保留环境。" of login's page, which a search by meaning may rank below the synopsis lines that only
mention "[-p]".

Each option entry of the index (a unit of kind ``option``) is filed under the options its term line names
("-p", "--password"); a question naming an option gets the chunks of the entries filed under it, in the page
it names or else in the documents already retrieved, when they are not among its passages yet.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from rag.text.tokens import OPTION
from rag.types import Passage

MAX_ENTRIES = 2  # chunks added for the options one question names
_HEAD_CHARS = 80  # where an entry's term line names its options


def entry_passages(retriever, question: str, passages: list[Passage]) -> list[Passage]:
    """``passages`` with, after the first, the chunks holding the entries of the options ``question`` names."""
    asked = OPTION.findall(question)
    if not asked or not passages:
        return passages
    filed = retriever.option_entries()
    named = {w.lower() for w in re.findall(r"[A-Za-z][\w.+-]*", question)} & retriever.page_names()
    retrieved = {p.chunk.source for p in passages}
    have = {p.chunk.id for p in passages}
    extra: list = []
    for option in dict.fromkeys(asked):
        for chunk in filed.get(option, []):
            if (page_name(chunk.source) in named if named else chunk.source in retrieved) and chunk.id not in have:
                have.add(chunk.id)
                extra.append(chunk)
    if not extra:
        return passages
    top = passages[0]
    added = [Passage(chunk=c, score=top.score, rank=0) for c in extra[:MAX_ENTRIES]]
    return [replace(p, rank=k + 1) for k, p in enumerate([top, *added, *passages[1:]])]


def page_name(source: str) -> str:
    """The name a document goes by, lower-cased, without its suffixes: "userdel" of "userdel.8.md"."""
    return Path(source).name.split(".", 1)[0].lower()


def file_entries(table, chunks) -> dict[str, list]:
    """Option → the chunks whose option entries name it in their term line (``Retriever.option_entries``)."""
    found: dict[str, list] = {}
    for chunk in chunks:
        for row in table.within(chunk):
            if table.kind(row) != "option" or int(table.starts[row]) < chunk.start:
                continue  # an entry is filed under the chunk it begins in
            head = table.texts[row].split("\n", 1)[0].split("：", 1)[0][:_HEAD_CHARS]
            for option in dict.fromkeys(OPTION.findall(head)):
                filed = found.setdefault(option, [])
                if chunk not in filed:
                    filed.append(chunk)
    return found
