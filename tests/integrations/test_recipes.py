"""examples/pyramid, examples/falcon and examples/bottle, through each framework's own test
client: WebTest for Pyramid and Bottle (with its WSGI lint on), falcon.testing for Falcon.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
import webtest

from staticmw import ConfigurationError, StaticMiddleware
from staticmw.integrations.paste import filter_factory

from ..conftest import OLD
from ..helpers import write

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def example_module(directory: str, name: str):
    """Import an example's module the way Gunicorn's --chdir would find it."""
    path = str(EXAMPLES / directory)
    sys.path.insert(0, path)
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(path)


def css_of(directory: str) -> bytes:
    return (EXAMPLES / directory / "static" / "css" / "site.css").read_bytes()


@pytest.fixture(scope="module")
def pyramid_app():
    from paste.deploy import loadapp

    example_module("pyramid", "pyramid_site")  # on sys.modules for call:pyramid_site:main
    application = loadapp("config:production.ini", relative_to=str(EXAMPLES / "pyramid"))
    assert isinstance(application, StaticMiddleware)
    return application


@pytest.fixture(params=["pyramid", "bottle"])
def webtest_client(request):
    """The Pyramid pipeline from production.ini, or the Bottle example, in WebTest."""
    if request.param == "pyramid":
        application = request.getfixturevalue("pyramid_app")
    else:
        application = example_module("bottle", "bottle_site").application
    return request.param, webtest.TestApp(application)


def test_webtest_page_and_static_files(webtest_client):
    name, client = webtest_client
    expected = css_of(name)
    page = client.get("/")
    assert f"Hello from {name.title()}" in page.text
    css = client.get("/static/css/site.css")
    assert css.body == expected
    assert css.headers["Cache-Control"] == "public, max-age=3600"
    assert css.headers["Content-Type"] == "text/css; charset=utf-8"
    etag = css.headers["ETag"]
    again = client.get("/static/css/site.css", headers={"If-None-Match": etag}, status=304)
    assert again.body == b"" and again.headers["ETag"] == etag
    part = client.get("/static/css/site.css", headers={"Range": "bytes=0-3"}, status=206)
    assert part.body == expected[:4]
    assert part.headers["Content-Range"] == f"bytes 0-3/{len(expected)}"
    head = client.head("/static/css/site.css")
    assert head.body == b"" and head.headers["Content-Length"] == str(len(expected))
    client.post("/static/css/site.css", status=405)
    client.get("/static/missing.css", status=404)
    client.get(f"/static/../{name}_site.py", status=404)
    client.get("/static/%2e%2e/production.ini", status=404)


def test_falcon_through_its_test_client():
    from falcon import testing

    module = example_module("falcon", "falcon_site")
    client = testing.TestClient(module.application)
    page = client.simulate_get("/")
    assert page.status_code == 200 and "Hello from Falcon" in page.text
    css = client.simulate_get("/static/css/site.css")
    assert css.status_code == 200 and css.content == css_of("falcon")
    assert css.headers["Cache-Control"] == "public, max-age=3600"
    again = client.simulate_get(
        "/static/css/site.css", headers={"If-None-Match": css.headers["ETag"]}
    )
    assert again.status_code == 304 and again.content == b""
    part = client.simulate_get("/static/css/site.css", headers={"Range": "bytes=-4"})
    assert part.status_code == 206 and part.content == css_of("falcon")[-4:]
    assert client.simulate_head("/static/css/site.css").content == b""
    assert client.simulate_post("/static/css/site.css").status_code == 405
    assert client.simulate_get("/static/missing.css").status_code == 404
    assert client.simulate_get("/static/../falcon_site.py").status_code == 404
    # Outside the prefix, requests reach Falcon's router.
    assert client.simulate_get("/nowhere").status_code == 404


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({}, "needs root"),
        ({"root": "x", "max_age": "soon"}, "whole number"),
        ({"root": "x", "autorefresh": "maybe"}, "true or false"),
        ({"root": "x", "recheck_interval": "fast"}, "a number"),
        ({"root": "x", "no_such": "1"}, "unknown staticmw setting"),
    ],
)
def test_paste_settings_are_checked(settings, message):
    with pytest.raises(ConfigurationError, match=message):
        filter_factory({}, **settings)


@pytest.mark.parametrize("index_file", ["true", "index.html"])
def test_paste_conversions(tmp_path, index_file):
    write(tmp_path / "app.css", b"body{}\n" * 100, OLD)
    write(tmp_path / "docs" / "index.html", b"<h1>docs</h1>", OLD)
    make = filter_factory(
        {},
        root=str(tmp_path),
        max_age="none",
        allow_all_origins="false",
        index_file=index_file,
        recheck_interval="0.5",
    )
    application = make(lambda environ, start_response: [])
    client = webtest.TestApp(application)
    response = client.get("/app.css")
    assert "Cache-Control" not in response.headers
    assert "Access-Control-Allow-Origin" not in response.headers
    assert client.get("/docs/").body == b"<h1>docs</h1>"
