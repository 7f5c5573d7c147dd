"""``python -m eval``: run the eval set (see eval/run.py)."""

import sys

from eval.run import main

sys.exit(main())
