"""REDbot, the HTTP conformance linter, run offline against a real Gunicorn on 127.0.0.1."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import OLD
from ..helpers import gz, write
from ..servers import Gunicorn

pytestmark = pytest.mark.server

CSS = b"body { color: #123456; margin: 0 auto; }\n" * 400
APP = """
from staticmw import StaticMiddleware

def app(environ, start_response):
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"app"]

application = StaticMiddleware(app, root="static", prefix="/static/")
"""

# Notes REDbot raises when a server gets validators, negotiation or ranges wrong.
BAD_NOTES = [
    "The ETag doesn't change between negotiated representations",
    "returned partial content, but it was incorrect",
    "returned the full rather than partial content",
    "doesn't have the correct Vary header",
    "The Content-Length header is incorrect",
    "isn't supported",
    "Last-Modified is in the future",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("redbot")
    write(base / "static" / "app.css", CSS, OLD)
    write(base / "static" / "app.css.gz", gz(CSS), OLD)
    write(base / "static" / "app.3f2a9c1b9d0e.js", b"console.log(1);\n" * 200, OLD)
    write(base / "wsgi_app.py", APP)
    gunicorn = Gunicorn(base, "wsgi_app:application")
    yield gunicorn
    gunicorn.stop()


def redbot(url: str) -> str:
    executable = shutil.which("redbot") or str(Path(sys.executable).with_name("redbot"))
    done = subprocess.run(
        [executable, "-o", "text", url], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_negotiated_file(server):
    report = redbot(f"http://127.0.0.1:{server.port}/static/app.css")
    for good in (
        "Content negotiation for gzip compression is supported",
        "If-None-Match conditional requests are supported",
        "If-Modified-Since conditional requests are supported",
        "A ranged request returned the correct partial content",
        "The Content-Length header is correct",
        "This response instructs browsers not to 'sniff' its media type",
    ):
        assert good in report, report
    for bad in BAD_NOTES:
        assert bad not in report, report


def test_immutable_file(server):
    report = redbot(f"http://127.0.0.1:{server.port}/static/app.3f2a9c1b9d0e.js")
    assert "Cache-Control: public, max-age=31536000, immutable" in report, report
    assert "fresh for 12 months" in report, report
    for bad in BAD_NOTES:
        assert bad not in report, report
