"""The example deployment that `make serve` runs."""

from __future__ import annotations

import gzip
import importlib
import sys
from pathlib import Path

import pytest

from ..helpers import call

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def application():
    sys.path.insert(0, str(EXAMPLES))
    try:
        for name in ("wsgi", "app"):
            sys.modules.pop(name, None)
        yield importlib.import_module("wsgi").application
    finally:
        sys.path.remove(str(EXAMPLES))
        for name in ("wsgi", "app"):
            sys.modules.pop(name, None)


def test_home_page_and_assets(application):
    home = call(application, "/")
    assert home.status == 200 and b"staticmw example site" in home.body
    css = call(application, "/css/site.css", headers={"Accept-Encoding": "gzip"})
    assert css.headers["content-encoding"] == "gzip"
    assert gzip.decompress(css.body) == (EXAMPLES / "site" / "css" / "site.css").read_bytes()
    js = call(application, "/js/app.5d41402abc4b.js", headers={"Accept-Encoding": "br, gzip, zstd"})
    assert js.headers["content-encoding"] == "br"
    assert js.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert (
        call(application, "/img/logo.svg").headers["content-type"] == "image/svg+xml; charset=utf-8"
    )


def test_app_routes_and_directories(application):
    api = call(application, "/api/time")
    assert api.status == 200 and api.headers["content-type"] == "application/json"
    assert call(application, "/docs").headers["location"] == "docs/"
    assert b"Docs" in call(application, "/docs/").body
    assert call(application, "/nope").status == 404
