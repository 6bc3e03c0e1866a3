"""One page, the same files, through every adapter: WSGI, ASGI, FastAPI through
``staticmw.starlette``, Django under WSGI and under ``get_asgi_application()``, and Flask,
with the files at ``/static/`` and at the site root.
Each gives the same links on the page's answer and the same 103 on the next navigation:
the adapters feed one hint session and decide nothing of their own.

The URLs differ only where the files do (Django hashes with its own digest), so links are
compared parsed, with the hash left out: the file, ``rel``, ``as``, ``crossorigin`` and
whether it carries an integrity. Django's response holds one ``Link`` field, the others one
field per value; parsed, they are the same list.
"""

from __future__ import annotations

import asyncio
import re
import shutil

import pytest
from django.http import HttpResponse
from django.template import Context, Template
from django.test import override_settings
from django.urls import path
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

import staticmw.starlette
from staticmw import StaticMiddleware
from staticmw.build.pipeline import BuildConfig, build
from staticmw.integrations.asgi import ASGIStaticMiddleware

from ..helpers import call
from ..integrations.test_asgi import Client as Receiver
from ..integrations.test_asgi import scope_for
from ..integrations.test_django_storage import EXAMPLE_STATIC, collect

NAVIGATE = {"Accept": "text/html", "Sec-Fetch-Mode": "navigate"}
PREFIXES = ["/static/", "/"]

PAGE = Template(
    '{% load static staticmw %}<link rel="stylesheet" href="{% static "css/site.css" %}">'
    '{% importmap "js/app.js" %}'
)
# The same page with its stylesheet and a classic script rendered by the helpers, with
# integrity and crossorigin.
STYLED = Template(
    '{% load staticmw %}{% stylesheet "css/site.css" %}{% script "js/util.js" %}'
    '{% importmap "js/app.js" %}'
)


def django_page(request):
    return HttpResponse(PAGE.render(Context()))


def django_styled(request):
    return HttpResponse(STYLED.render(Context()))


urlpatterns = [path("page", django_page), path("styled", django_styled)]


def parsed(values) -> list[tuple]:
    """Link values as (file without its hash, rel, as, crossorigin, has integrity)."""
    found = []
    for field in values:
        for value in re.split(r",\s*(?=<)", field):
            url, _, params = value.partition(">; ")
            attributes = dict([*part.split("=", 1), ""][:2] for part in params.split("; ") if part)
            name = re.sub(r"\.[0-9a-f]{12}\.", ".", url.lstrip("<"))
            found.append(
                (
                    name,
                    attributes.get("rel"),
                    attributes.get("as", ""),
                    "crossorigin" in attributes,
                    "integrity" in attributes,
                )
            )
    return found


def built(tmp_path):
    out = tmp_path / "built"
    report = build(BuildConfig(sources=[str(EXAMPLE_STATIC)], out=str(out), codecs=[], jobs=1))
    assert report.ok, report.errors
    return out


def _html(static, styled):
    """The page through a middleware's helpers; the styled one names its stylesheet twice,
    as a page may, and gets one preload of it."""
    css = static.static_url("css/site.css")
    if styled:
        css += static.stylesheet_tag("css/site.css") + static.script_tag("js/util.js")
    return css + static.importmap_tag("js/app.js")


def wsgi_visits(tmp_path, prefix, styled=False):
    holder: dict = {}

    def app(environ, start_response):
        static = holder["static"]
        html = _html(static, styled)
        start_response("200 OK", [("Content-Type", "text/html")])
        return [html.encode()]

    holder["static"] = StaticMiddleware(app, built(tmp_path), prefix, early_hints=True)
    return _wsgi_visits(holder["static"], "/page")


def _wsgi_visits(application, page, **extra):
    sent: list = []
    environ = {"wsgi.early_hints": sent.append, "SERVER_PROTOCOL": "HTTP/1.1", **extra}
    first = call(application, page, headers=NAVIGATE, environ_extra=environ)
    second = call(application, page, headers=NAVIGATE, environ_extra=environ)
    links = [v for k, v in first.header_list if k.lower() == "link"]
    again = [v for k, v in second.header_list if k.lower() == "link"]
    return links, [value for batch in sent for _, value in batch], again


def _asgi_visits(application, page, headers=NAVIGATE):
    def visit():
        messages: list = []

        async def send(message):
            messages.append(message)

        scope = scope_for(page, headers=headers)
        scope["extensions"] = {"http.response.early_hint": {}}
        asyncio.run(application(scope, Receiver().receive, send))
        return messages

    first, second = visit(), visit()
    start = next(m for m in first if m["type"] == "http.response.start")
    again = next(m for m in second if m["type"] == "http.response.start")
    early = [m for m in second if m["type"] == "http.response.early_hint"]
    links = [v.decode() for k, v in start["headers"] if k == b"link"]
    return (
        links,
        [v.decode() for m in early for v in m["links"]],
        [v.decode() for k, v in again["headers"] if k == b"link"],
    )


def asgi_visits(tmp_path, prefix, styled=False):
    holder: dict = {}

    async def app(scope, receive, send):
        static = holder["static"]
        html = _html(static, styled)
        headers = [(b"content-type", b"text/html")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": html.encode()})

    holder["static"] = ASGIStaticMiddleware(app, built(tmp_path), prefix, early_hints=True)
    return _asgi_visits(holder["static"], "/page")


def flask_visits(tmp_path, prefix, styled=False):
    from flask import Flask, render_template_string

    from staticmw.integrations.flask import StaticMW

    static = tmp_path / "flask-static"
    shutil.copytree(EXAMPLE_STATIC, static)

    def create():
        app = Flask("parity", static_folder=str(static), static_url_path=prefix.rstrip("/") or "")
        app.config.update(STATICMW_ROOT=str(tmp_path / "flask-built"), STATICMW_EARLY_HINTS=True)

        @app.route("/page")
        def page():
            css = "<link href=\"{{ url_for('static', filename='css/site.css') }}\">"
            if styled:
                css += "{{ stylesheet_tag('css/site.css') }}{{ script_tag('js/util.js') }}"
            return render_template_string(css + "{{ importmap_tag('js/app.js') }}")

        StaticMW(app)
        return app

    assert create().test_cli_runner().invoke(args=["staticmw", "build"]).exit_code == 0
    return _wsgi_visits(create(), "/page")


def starlette_visits(tmp_path, prefix, styled=False):
    """FastAPI as its users write it: Jinja2Templates and ``url_for('static', path=...)``."""
    page = "<link href=\"{{ url_for('static', path='css/site.css') }}\">"
    if styled:
        page += "{{ stylesheet_tag('css/site.css') }}{{ script_tag('js/util.js') }}"
    (tmp_path / "templates").mkdir(parents=True)
    (tmp_path / "templates" / "page.html").write_text(page + "{{ importmap_tag('js/app.js') }}")
    app = FastAPI()
    templates = Jinja2Templates(directory=str(tmp_path / "templates"))
    staticmw.starlette.install(app, built(tmp_path), prefix, early_hints=True, templates=templates)

    @app.get("/page", response_class=HTMLResponse)
    async def render(request: Request):
        return templates.TemplateResponse(request, "page.html")

    return _asgi_visits(app, "/page", {**NAVIGATE, "Host": "127.0.0.1"})


def django_settings(tmp_path, prefix):
    collect(tmp_path / "collected", STATIC_URL=prefix, MEDIA_URL="/media/")
    storages = {"staticfiles": {"BACKEND": "staticmw.django.storage.ManifestStaticFilesStorage"}}
    return override_settings(
        ROOT_URLCONF=__name__,
        MIDDLEWARE=["staticmw.django.StaticFilesMiddleware"],
        STATIC_ROOT=str(tmp_path / "collected"),
        STATIC_URL=prefix,
        MEDIA_URL="/media/",
        STORAGES=storages,
        STATICMW_EARLY_HINTS=True,
        DEBUG=False,
    )


def django_wsgi_visits(tmp_path, prefix, styled=False):
    from django.core.handlers.wsgi import WSGIHandler

    with django_settings(tmp_path, prefix):
        page = "/styled" if styled else "/page"
        return _wsgi_visits(WSGIHandler(), page, HTTP_HOST="testserver")


def django_asgi_visits(tmp_path, prefix, styled=False):
    from staticmw.integrations.django import get_asgi_application

    with django_settings(tmp_path, prefix):
        return _asgi_visits(get_asgi_application(), "/styled" if styled else "/page")


ADAPTERS = {
    "wsgi": wsgi_visits,
    "asgi": asgi_visits,
    "starlette": starlette_visits,
    "flask": flask_visits,
    "django-wsgi": django_wsgi_visits,
    "django-asgi": django_asgi_visits,
}


@pytest.mark.parametrize("styled", [False, True], ids=["named", "stylesheet-helper"])
@pytest.mark.parametrize("prefix", PREFIXES)
def test_every_adapter_gives_the_same_links_and_103(tmp_path, prefix, styled):
    """The stylesheet and script helpers (``stylesheet_tag``, ``{% stylesheet %}``,
    ``script_tag``, ``{% script %}``) render integrity and crossorigin: each one preload
    carries both, whatever else named the file."""
    seen = {}
    for name, visits in ADAPTERS.items():
        links, early, again = visits(tmp_path / name, prefix, styled)
        assert parsed(early) == parsed(again) == parsed(links), name
        seen[name] = parsed(links)
    expected = [
        (f"{prefix}css/site.css", "preload", "style", styled, styled),
        (f"{prefix}fonts/probe.woff2", "preload", "font", True, False),
        *([(f"{prefix}js/util.js", "preload", "script", True, True)] if styled else []),
        *[
            (f"{prefix}js/{m}.js", "modulepreload", "", False, True)
            for m in ("app", "util", "words", "mark")
        ],
    ]
    for name, found in seen.items():
        assert found == expected, name
