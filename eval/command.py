"""``rag eval``: the eval runner as a command of ``rag`` (a ``rag.commands`` entry point); arguments as ``python -m eval``."""

from __future__ import annotations

HELP = "在评测集上衡量回答质量（参数同 python -m eval）"
RAW = True  # its arguments go to the runner untouched


def run(argv: list[str]) -> int:
    from eval.run import main

    return main(argv)
