"""Worker process of :func:`neurosim_benchmark.run_isolated`: ``python -m neurosim_benchmark SPEC RESULT``."""

import sys

from .runner import worker_main

sys.exit(worker_main(sys.argv[1:]))
