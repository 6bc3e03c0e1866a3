"""FastAPI and Starlette written their own way: ``Jinja2Templates`` and ``url_for('static',
path=...)``, with ``staticmw.starlette.install``."""

from __future__ import annotations

import asyncio
import re

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

import staticmw.starlette
from staticmw import ConfigurationError
from staticmw.build.pipeline import BuildConfig, build
from staticmw.cli import check

from ..helpers import write
from .test_asgi import Client, scope_for

NAVIGATE = {"Accept": "text/html", "Sec-Fetch-Mode": "navigate", "Host": "shop.example"}
EARLY_HINT = "http.response.early_hint"
PAGE = """<!doctype html>
<link rel="stylesheet" href="{{ url_for('static', path='css/site.css') }}">
{{ importmap_tag('js/app.js') }}
<h1>shop</h1>
"""


@pytest.fixture
def built(tmp_path):
    """A built site: a stylesheet, and a module that imports another."""
    source = tmp_path / "src"
    write(source / "css" / "site.css", b"body { margin: 0 auto; color: #333; }\n" * 40)
    write(source / "js" / "app.js", b'import { n } from "./util.js";\nconsole.log(n);\n')
    write(source / "js" / "util.js", b"export const n = 1;\n")
    out = tmp_path / "out"
    assert build(BuildConfig(sources=[str(source)], out=str(out), jobs=1)).ok
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "page.html").write_text(PAGE)
    return tmp_path


def make_app(base, **options) -> tuple[FastAPI, object]:
    """A FastAPI app as its users write one, with staticmw installed in one call."""
    app = FastAPI()
    templates = Jinja2Templates(directory=str(base / "templates"))
    static = staticmw.starlette.install(
        app, base / "out", "/static/", templates=templates, **options
    )

    @app.get("/", response_class=HTMLResponse)
    async def page(request: Request):
        return templates.TemplateResponse(request, "page.html")

    return app, static


def call(app, target, headers=None, extensions=None):
    """``(messages sent, status, headers, body)`` of one request, in-process."""
    scope = scope_for(target, "GET", headers)
    if extensions:
        scope["extensions"] = extensions
    messages: list[dict] = []

    async def send(message):
        messages.append(message)

    asyncio.run(app(scope, Client().receive, send))
    start = next(m for m in messages if m["type"] == "http.response.start")
    fields = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start["headers"]]
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return messages, start["status"], fields, body


def hashed(base, name: str) -> str:
    import json

    return json.loads((base / "out" / "staticmw.json").read_text())["files"][name]["hashed"]


def test_url_for_gives_the_hashed_url_and_the_page_its_hints(built):
    app, _ = make_app(built, early_hints=True)
    css = "/static/" + hashed(built, "css/site.css")
    _, status, fields, body = call(app, "/", NAVIGATE)
    html = body.decode()
    assert status == 200 and f'href="http://shop.example{css}"' in html
    assert f'src="/static/{hashed(built, "js/app.js")}"' in html  # the global, not escaped
    links = [value for name, value in fields if name == "link"]
    assert any(value.startswith(f"<{css}>; rel=preload; as=style") for value in links), links
    # The next navigation to the route gets them as a 103 first, where the server offers it.
    messages, status, _, _ = call(app, "/", NAVIGATE, {EARLY_HINT: {}})
    assert status == 200 and messages[0]["type"] == EARLY_HINT
    assert any(link.startswith(f"<{css}>".encode()) for link in messages[0]["links"])
    # The file itself, cached for a year; a miss below the prefix is FastAPI's own 404.
    _, status, fields, body = call(app, css)
    assert status == 200 and dict(fields)["cache-control"].endswith("immutable")
    assert body == (built / "out" / hashed(built, "css/site.css")).read_bytes()
    _, status, _, body = call(app, "/static/css/nope.css")
    assert status == 404 and body == b'{"detail":"Not Found"}'


def test_url_for_on_a_cdn_host_keeps_its_scheme(built):
    app, _ = make_app(built, static_host="https://cdn.example.com")
    _, _, _, body = call(app, "/", {"Host": "shop.example"})
    css = hashed(built, "css/site.css")
    assert f'href="https://cdn.example.com/static/{css}"' in body.decode()


def test_staticmw_check_finds_the_installed_middleware(built):
    app, static = make_app(built)
    assert check.find_middleware(app) is static
    lines, warnings = check.report(app, static)
    assert any("/static/" in line for line in lines) and warnings == []


def test_install_before_the_app_starts_only(built):
    app, _ = make_app(built)
    call(app, "/")  # the middleware stack is built now
    with pytest.raises(ConfigurationError, match="before the application starts"):
        staticmw.starlette.install(app, built / "out", "/more/")


def test_the_static_route_takes_no_request_from_routes_after_it(built):
    """The route only names the files for url_for: a route added after it under the same
    prefix still answers what is no file."""
    app, _ = make_app(built)

    @app.get("/static/version")
    async def version():
        return {"version": 3}

    _, status, _, body = call(app, "/static/version")
    assert status == 200 and body == b'{"version":3}'
    assert re.fullmatch(
        r"/static/css/site\.[0-9a-f]{12}\.css", app.url_path_for("static", path="css/site.css")
    )
