"""``python bench/bench.py [options]``: the benchmark run as a script, the same as ``python -m bench [options]``."""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":
    # Run as a script, this file's folder is on sys.path, where `bench` would be this file, not the package:
    # put the checkout there instead.
    HERE = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
    sys.path.insert(0, str(HERE.parent))

    from bench.__main__ import main

    sys.exit(main())
