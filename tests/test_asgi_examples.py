"""The ASGI examples under a real Uvicorn: Starlette, FastAPI, Litestar, Quart, Django."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from .servers import Server

pytestmark = pytest.mark.server

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


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


def test_django_asgi_application(tmp_path, monkeypatch):
    project = EXAMPLES / "django"
    monkeypatch.setenv("STATIC_ROOT", str(tmp_path / "collected"))
    monkeypatch.setenv("DJANGO_DEBUG", "0")
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=project, check=True, timeout=60,
    )  # fmt: skip
    server = uvicorn(project, "mysite.asgi:application")
    try:
        status, _, body = server.request("GET", "/")
        assert status == 200
        css = re.search(rb'"(/static/css/site\.[0-9a-f]{12}\.css)"', body).group(1).decode()
        status, headers, _ = server.request("GET", css, {"Accept-Encoding": "gzip"})
        assert status == 200
        assert headers["cache-control"] == "public, max-age=31536000, immutable"
        status, _, _ = server.request("GET", "/static/staticfiles.json")
        assert status == 404  # the manifest is build metadata, never served
    finally:
        server.stop()
