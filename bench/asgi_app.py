"""``uvicorn asgi_app:application`` (or Granian) with BENCH_PEER and BENCH_ROOT set."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from peers import build_asgi

application = build_asgi(os.environ["BENCH_PEER"], os.environ["BENCH_ROOT"])
