"""The layout the folder list promises: stages import only the stages below them, no cycles, small modules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

MAX_MODULE_LINES = 400


def test_import_contracts_hold():
    # the contracts live in pyproject.toml ([tool.importlinter]); import-linter reads them from there
    lint = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "BROKEN" not in out.stdout and "0 broken" in out.stdout


def test_no_module_is_over_400_lines():
    long = {str(p.relative_to(ROOT)): n for d in ("rag", "ui", "eval", "bench", "api") for p in (ROOT / d).rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert not long, long


def test_every_stage_package_says_what_comes_in_and_goes_out():
    for init in sorted((ROOT / "rag").glob("*/__init__.py")):
        doc = init.read_text(encoding="utf-8").split('"""')
        assert len(doc) >= 3 and "→" in doc[1], f"{init.relative_to(ROOT)} needs a docstring: what comes in → what goes out"
