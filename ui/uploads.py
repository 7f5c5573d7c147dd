"""Which files the documents tab may take in: only those Gradio received through its own upload route.

The page's upload event is also an API endpoint, and a caller can name any path in it. Gradio
checks that such a path lies in its upload folder, but that folder is shared by every Gradio
app on the machine and holds more than this server's uploads; only paths its upload route
recorded (``Blocks.upload_file_set``) are files that someone actually sent to this page.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Collection, Sequence
from pathlib import Path

REFUSED = (
    "未添加：{names} 不是通过本页面上传的文件，已拒绝，什么都没有导入。"
    "请在「文档管理」页选择文件上传；服务器上已有的文件请用命令行导入：rag ingest 路径"
)


def foreign_files(files: Sequence[str], received: Collection[str]) -> list[str]:
    """The ``files`` that are not regular files this server received through its upload route."""
    known = {os.path.abspath(path) for path in list(received)}  # list(): one step, while uploads may add to it
    return [path for path in files if os.path.abspath(path) not in known or not _regular(path)]


def _regular(path: str) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)  # lstat: a link placed in the folder is not an upload
    except OSError:
        return False


def refusal(foreign: Sequence[str]) -> str:
    """The message for a batch that named files the page never received."""
    return REFUSED.format(names="、".join(Path(path).name or path for path in foreign))
