"""examples/django/ as its README runs it: collectstatic, then pages through Django's client."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.test import Client, RequestFactory, override_settings

from . import django_project
from .servers import Server

EXAMPLE_STATIC = django_project.EXAMPLE / "mysite" / "static"


@pytest.fixture(scope="module")
def static_root(tmp_path_factory):
    """collectstatic of the example into a scratch STATIC_ROOT, as a deploy would."""
    root = tmp_path_factory.mktemp("django-static")
    with override_settings(STATIC_ROOT=str(root)):
        call_command("collectstatic", interactive=False, verbosity=0)
        yield root


def hashed_url(html: str, name: str) -> str:
    stem, _, extension = name.rpartition(".")
    match = re.search(rf'"(/static/{re.escape(stem)}\.[0-9a-f]{{12}}\.{extension})"', html)
    assert match, html
    return match.group(1)


def test_the_page_links_hashed_names_that_are_served_immutable(static_root):
    client = Client()
    page = client.get("/")
    assert page.status_code == 200
    html = page.content.decode()
    css_url = hashed_url(html, "css/site.css")
    manifest = json.loads((static_root / "staticfiles.json").read_text())
    assert css_url == "/static/" + manifest["paths"]["css/site.css"]
    css = client.get(css_url)
    assert css.status_code == 200
    assert css["Cache-Control"] == "public, max-age=31536000, immutable"
    assert css["Content-Type"] == "text/css; charset=utf-8"
    body = b"".join(css.streaming_content)
    # ManifestStaticFilesStorage rewrote the stylesheet's reference to the hashed logo.
    logo_url = hashed_url(html, "img/logo.svg")
    assert logo_url.rpartition("/")[2].encode() in body
    logo = client.get(logo_url)
    assert logo.status_code == 200 and logo["Content-Type"].startswith("image/svg+xml")
    assert b"".join(logo.streaming_content) == (EXAMPLE_STATIC / "img" / "logo.svg").read_bytes()


def test_unhashed_names_revalidate(static_root):
    client = Client()
    css = client.get("/static/css/site.css")
    assert css.status_code == 200 and css["Cache-Control"] == "public, max-age=60"
    again = client.get("/static/css/site.css", HTTP_IF_NONE_MATCH=css["ETag"])
    assert again.status_code == 304 and again["ETag"] == css["ETag"]


def test_misses_and_hostile_paths_never_reach_a_file(static_root):
    client = Client()
    assert client.get("/static/missing.css").status_code == 404
    assert client.get("/static/../mysite/settings.py").status_code == 404
    assert client.get("/static/%2e%2e/mysite/settings.py").status_code == 404
    assert client.get("/static/staticfiles.json").status_code == 404


def _start(command, tmp_path, monkeypatch, debug):
    monkeypatch.setenv("STATIC_ROOT", str(tmp_path / "not-collected-yet"))
    monkeypatch.setenv("DJANGO_DEBUG", "1" if debug else "0")
    return Server(django_project.EXAMPLE, command, "django")


@pytest.mark.server
def test_runserver_in_debug_answers_before_collectstatic(tmp_path, monkeypatch):
    server = _start(
        [sys.executable, "manage.py", "runserver", "127.0.0.1:{port}"], tmp_path, monkeypatch, True
    )
    try:
        status, _, body = server.request("GET", "/")
        assert status == 200 and b"<html" in body.lower()
        # Django's own development handler serves the sources meanwhile.
        status, _, _ = server.request("GET", "/static/css/site.css")
        assert status == 200
    finally:
        server.stop()
    log = server.log.read_text()
    assert "not-collected-yet does not exist yet" in log
    assert "collectstatic" in log
    assert log.count("does not exist yet") == 1  # once, not per request


@pytest.mark.server
def test_production_start_without_static_root_stops_the_process(tmp_path, monkeypatch):
    monkeypatch.setenv("STATIC_ROOT", str(tmp_path / "not-collected-yet"))
    monkeypatch.setenv("DJANGO_DEBUG", "0")
    done = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--bind", "127.0.0.1:0", "mysite.wsgi"],
        cwd=django_project.EXAMPLE, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert "does not exist or is not a directory" in done.stderr
    assert "collectstatic" in done.stderr


def test_debug_serves_static_root_once_it_appears(tmp_path, caplog):
    from django.http import HttpResponse

    from staticmw.django import StaticFilesMiddleware

    root = tmp_path / "static-root"
    with override_settings(DEBUG=True, STATIC_ROOT=str(root), STATIC_URL="/static/"):
        middleware = StaticFilesMiddleware(lambda request: HttpResponse(b"from django"))
        assert "does not exist yet" in caplog.text
        request = RequestFactory().get("/static/a.css")
        assert middleware(request).content == b"from django"
        (root).mkdir()
        (root / "a.css").write_bytes(b"a{}")
        middleware._next_look = 0.0  # the once-a-second look, now
        response = middleware(request)
        assert b"".join(response.streaming_content) == b"a{}"


def test_unknown_staticmw_settings_are_warned_of(caplog):
    from django.http import HttpResponse

    from staticmw.django import StaticFilesMiddleware

    with override_settings(STATICMW_MAXAGE=5, STATICMW_NOTHING_LIKE_IT=1):
        StaticFilesMiddleware(lambda request: HttpResponse())
    assert "unknown setting STATICMW_MAXAGE is ignored; did you mean STATICMW_MAX_AGE?" in (
        caplog.text
    )
    assert "unknown setting STATICMW_NOTHING_LIKE_IT is ignored" in caplog.text


def test_precompressed_variants_through_staticmw_root(static_root, tmp_path):
    """collectstatic, then `staticmw build` over STATIC_ROOT, served from STATICMW_ROOT."""
    from staticmw import cli

    built = tmp_path / "built"
    assert cli.main(["build", str(static_root), "--out", str(built), "--quiet"]) == 0
    with override_settings(STATICMW_ROOT=str(built)):
        client = Client()
        css_url = hashed_url(client.get("/").content.decode(), "css/site.css")
        response = client.get(css_url, HTTP_ACCEPT_ENCODING="br, gzip")
        assert response.status_code == 200
        assert response["Content-Encoding"] in ("br", "gzip")
        assert response["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response["Vary"] == "Accept-Encoding"
