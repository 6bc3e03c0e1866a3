"""examples/django/ as its README runs it: collectstatic, then pages through Django's client."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.test import Client, RequestFactory, override_settings

from .. import django_project
from ..helpers import body_of
from ..servers import Server

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
    body = body_of(css)
    # ManifestStaticFilesStorage rewrote the stylesheet's reference to the hashed logo.
    logo_url = hashed_url(html, "img/logo.svg")
    assert logo_url.rpartition("/")[2].encode() in body
    logo = client.get(logo_url)
    assert logo.status_code == 200 and logo["Content-Type"].startswith("image/svg+xml")
    assert body_of(logo) == (EXAMPLE_STATIC / "img" / "logo.svg").read_bytes()


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
def test_runserver_in_debug_serves_the_sources_through_staticmw(tmp_path, monkeypatch):
    server = _start(
        [sys.executable, "manage.py", "runserver", "127.0.0.1:{port}"], tmp_path, monkeypatch, True
    )
    try:
        status, _, body = server.request("GET", "/")
        assert status == 200 and b"<html" in body.lower()
        # No collectstatic: staticmw serves the app's static/ folder (Django's own
        # development handler, which sends no ETag, is switched off by staticmw.django).
        status, headers, body = server.request("GET", "/static/css/site.css")
        assert status == 200 and body == (EXAMPLE_STATIC / "css" / "site.css").read_bytes()
        assert headers["etag"] and headers["cache-control"] == "public, max-age=0"
    finally:
        server.stop()
    assert "does not exist yet" not in server.log.read_text()


def test_runserver_is_the_one_that_leaves_static_files_to_the_middleware():
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.management import get_commands, load_command_class

    assert get_commands()["runserver"] == "staticmw.integrations.django"
    command = load_command_class("staticmw.integrations.django", "runserver")
    with override_settings(DEBUG=True):
        handler = command.get_handler(use_static_handler=True, insecure_serving=True)
    assert not isinstance(handler, StaticFilesHandler)


def test_debug_serves_from_the_finders_and_sees_edits(tmp_path, monkeypatch):
    from django.http import HttpResponse

    from staticmw.integrations.django import StaticFilesMiddleware

    extra = tmp_path / "extra"
    (extra / "vendor").mkdir(parents=True)
    (extra / "vendor" / "lib.js").write_bytes(b"one")
    with override_settings(
        DEBUG=True,
        STATIC_ROOT=str(tmp_path / "never-collected"),
        STATICFILES_DIRS=[("vendor", str(extra / "vendor"))],
    ):
        middleware = StaticFilesMiddleware(lambda request: HttpResponse(b"from django"))
        factory = RequestFactory()
        response = middleware(factory.get("/static/css/site.css"))
        assert response.status_code == 200
        assert body_of(response) == (EXAMPLE_STATIC / "css" / "site.css").read_bytes()
        assert response["Cache-Control"] == "public, max-age=0"
        # STATICFILES_DIRS with a prefix, as the FileSystemFinder maps it.
        assert body_of(middleware(factory.get("/static/vendor/lib.js"))) == b"one"
        (extra / "vendor" / "lib.js").write_bytes(b"two, edited")
        assert body_of(middleware(factory.get("/static/vendor/lib.js"))) == b"two, edited"
        (extra / "vendor" / "new.js").write_bytes(b"new")
        assert body_of(middleware(factory.get("/static/vendor/new.js"))) == b"new"
        assert middleware(factory.get("/static/missing.js")).content == b"from django"


@pytest.mark.server
def test_production_start_without_static_root_stops_the_process(tmp_path, monkeypatch):
    monkeypatch.setenv("STATIC_ROOT", str(tmp_path / "not-collected-yet"))
    monkeypatch.setenv("DJANGO_DEBUG", "0")
    done = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--bind", "127.0.0.1:0", "mysite.wsgi"],
        cwd=django_project.EXAMPLE, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert "not-collected-yet' does not exist (resolved to" in done.stderr
    assert "collectstatic" in done.stderr


def test_debug_serves_static_root_once_it_appears(tmp_path, caplog):
    from django.http import HttpResponse

    from staticmw.integrations.django import StaticFilesMiddleware

    root = tmp_path / "static-root"
    with override_settings(
        DEBUG=True, STATIC_ROOT=str(root), STATIC_URL="/static/", STATICMW_USE_FINDERS=False
    ):
        middleware = StaticFilesMiddleware(lambda request: HttpResponse(b"from django"))
        assert "does not exist yet" in caplog.text
        request = RequestFactory().get("/static/a.css")
        assert middleware(request).content == b"from django"
        (root).mkdir()
        (root / "a.css").write_bytes(b"a{}")
        middleware._next_look = 0.0  # the once-a-second look, now
        response = middleware(request)
        assert body_of(response) == b"a{}"


def test_unknown_staticmw_settings_are_warned_of(caplog):
    from django.http import HttpResponse

    from staticmw.integrations.django import StaticFilesMiddleware, migration

    migration._warned.clear()  # each is told once per process
    with override_settings(STATICMW_MAXAGE=5, STATICMW_NOTHING_LIKE_IT=1):
        StaticFilesMiddleware(lambda request: HttpResponse())
    assert "unknown setting STATICMW_MAXAGE is ignored; did you mean STATICMW_MAX_AGE?" in (
        caplog.text
    )
    assert "unknown setting STATICMW_NOTHING_LIKE_IT is ignored" in caplog.text


def test_precompressed_variants_through_staticmw_root(static_root, tmp_path):
    """collectstatic, then `staticmw build` over STATIC_ROOT, served from STATICMW_ROOT."""
    from staticmw.cli import commands as cli

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
