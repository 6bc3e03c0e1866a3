"""The Django example after collectstatic with staticmw's storage, under real servers.

Gunicorn runs ``mysite.wsgi`` (the middleware in MIDDLEWARE); Uvicorn runs the documented
``mysite.asgi`` (staticmw's ASGI middleware in front of Django) and, to prove the
middleware's own async mode, Django's plain ASGI handler with the middleware inside.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ..servers import Gunicorn, Server

pytestmark = pytest.mark.server

PROJECT = Path(__file__).resolve().parents[2] / "examples" / "django"
BIG = bytes(range(256)) * 4096  # 1 MiB: streamed, or sent by the server
PLAIN_ASGI = """
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
from django.core.asgi import get_asgi_application
application = get_asgi_application()
"""


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    root = tmp_path_factory.mktemp("django-servers") / "collected"
    env = {"STATIC_ROOT": str(root), "DJANGO_DEBUG": "0", "PYTHONPATH": str(PROJECT)}
    import os

    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=PROJECT, check=True, timeout=120, env={**os.environ, **env},
    )  # fmt: skip
    (root / "big.bin").write_bytes(BIG)
    return root


def _server(kind: str, root: Path, tmp_path: Path, monkeypatch) -> Server:
    monkeypatch.setenv("STATIC_ROOT", str(root))
    monkeypatch.setenv("DJANGO_DEBUG", "0")
    if kind == "gunicorn":
        return Gunicorn(PROJECT, "mysite.wsgi:application")
    app = "mysite.asgi:application"
    if kind == "uvicorn-django-handler":
        (tmp_path / "plain_asgi.py").write_text(PLAIN_ASGI)
        monkeypatch.setenv("PYTHONPATH", f"{tmp_path}:{PROJECT}")
        app = "plain_asgi:application"
    command = [
        sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", "{port}",
        "--no-access-log", app,
    ]  # fmt: skip
    return Server(PROJECT, command, kind)


@pytest.mark.parametrize("kind", ["gunicorn", "uvicorn", "uvicorn-django-handler"])
def test_the_collected_project_under_a_real_server(collected, tmp_path, monkeypatch, kind):
    server = _server(kind, collected, tmp_path, monkeypatch)
    try:
        status, _, page = server.request("GET", "/")
        assert status == 200
        css = re.search(rb'"(/static/css/site\.[0-9a-f]{12}\.css)"', page).group(1).decode()
        tags = set()
        for coding in ("br", "gzip", "zstd", "identity"):
            status, headers, body = server.request("GET", css, {"Accept-Encoding": coding})
            assert status == 200
            assert headers.get("content-encoding", "identity") == coding
            assert headers["cache-control"] == "public, max-age=31536000, immutable"
            suffix = {"br": ".br", "gzip": ".gz", "zstd": ".zst", "identity": ""}[coding]
            assert body == (collected / (css.removeprefix("/static/") + suffix)).read_bytes()
            tags.add(headers["etag"])
            status, _, _ = server.request(
                "GET", css, {"Accept-Encoding": coding, "If-None-Match": headers["etag"]}
            )
            assert status == 304
        assert len(tags) == 4  # one ETag per coding
        status, headers, body = server.request("GET", "/static/big.bin")
        assert status == 200 and body == BIG
        status, headers, body = server.request("GET", "/static/big.bin", {"Range": "bytes=5-14"})
        assert status == 206 and body == BIG[5:15]
        assert headers["content-range"] == f"bytes 5-14/{len(BIG)}"
        for hostile in ("/static/%2e%2e/mysite/settings.py", "/static/../manage.py"):
            status, _, body = server.request("GET", hostile)
            assert status == 404 and b"SECRET_KEY" not in body
        status, _, _ = server.request("GET", "/static/staticfiles.json")
        assert status == 404
        status, _, _ = server.request("GET", "/static/.staticmw-compressed.json")
        assert status == 404
    finally:
        server.stop()
    log = server.log.read_text()
    assert "Traceback" not in log
    assert "synchronous iterators" not in log  # Django's warning under ASGI
    assert json.loads((collected / "staticfiles.json").read_text())["paths"]
