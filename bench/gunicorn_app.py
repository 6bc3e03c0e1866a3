"""``gunicorn bench.gunicorn_app:application`` with BENCH_PEER and BENCH_ROOT set."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from peers import build

application = build(os.environ["BENCH_PEER"], os.environ["BENCH_ROOT"])
