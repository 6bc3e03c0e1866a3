"""examples/heroku: the Procfile's command, run as Heroku would (PORT, WEB_CONCURRENCY)."""

from __future__ import annotations

import os
import shlex
import sys
import time
from pathlib import Path

import pytest

from ..servers import Server, free_port

pytestmark = pytest.mark.server

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "heroku"


def test_procfile_runs_with_port_and_web_concurrency(monkeypatch):
    procfile = (EXAMPLE / "Procfile").read_text().strip()
    assert procfile == "web: gunicorn wsgi:application"
    command = shlex.split(procfile.split(":", 1)[1])
    assert command[0] == "gunicorn"
    port = free_port()
    # Heroku sets these; the bind stays on 127.0.0.1 here through GUNICORN_CMD_ARGS.
    monkeypatch.setenv("PORT", str(port))
    monkeypatch.setenv("WEB_CONCURRENCY", "2")
    monkeypatch.setenv("GUNICORN_CMD_ARGS", f"--bind 127.0.0.1:{port}")
    server = Server(EXAMPLE, [sys.executable, "-m", *command], "heroku", port=port)
    try:
        status, headers, body = server.request("GET", "/static/css/site.css")
        assert status == 200 and body == (EXAMPLE / "static" / "css" / "site.css").read_bytes()
        assert headers["cache-control"] == "public, max-age=60"
        assert server.request("GET", "/")[2] == b"hello from the app\n"
        # Workers start one after another once the port is bound: wait for them.
        wanted = int(os.environ["WEB_CONCURRENCY"])
        deadline = time.monotonic() + 20
        while len(server.worker_pids()) < wanted and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(server.worker_pids()) == wanted
    finally:
        server.stop()
