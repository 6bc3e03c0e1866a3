"""The ASGI examples under a real Uvicorn: Starlette, FastAPI, Litestar, Quart, Django."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ..servers import Server

pytestmark = pytest.mark.server

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def uvicorn(directory: Path, app: str) -> Server:
    command = [
        sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", "{port}",
        "--no-access-log", app,
    ]  # fmt: skip
    return Server(directory, command, "uvicorn")


@pytest.mark.parametrize(
    ("example", "app"),
    [
        ("starlette", "app:app"),
        ("fastapi", "app:app"),
        ("litestar", "app:application"),
        ("quart", "app:app"),
    ],
)
def test_framework_examples(example, app):
    server = uvicorn(EXAMPLES / example, app)
    try:
        status, _, body = server.request("GET", "/")
        assert status == 200 and b"/static/site.css" in body
        status, headers, body = server.request("GET", "/static/site.css")
        assert status == 200
        assert body == (EXAMPLES / example / "static" / "site.css").read_bytes()
        assert headers["content-type"] == "text/css; charset=utf-8"
        assert headers["cache-control"] == "public, max-age=60"
        status, _, _ = server.request("GET", "/static/site.css", {"If-None-Match": headers["etag"]})
        assert status == 304
        status, headers, _ = server.request("GET", "/static/site.css", {"Range": "bytes=0-3"})
        assert status == 206 and headers["content-range"].startswith("bytes 0-3/")
        status, _, body = server.request("GET", "/static/%2e%2e/app.py")
        assert status == 404 and b"staticmw" not in body  # the framework's 404, not app.py
    finally:
        server.stop()
