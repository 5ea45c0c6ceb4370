"""``python -m vsp_bench``: the benchmark (see :mod:`vsp_bench.cli`)."""

import sys

from .cli import main

sys.exit(main())
