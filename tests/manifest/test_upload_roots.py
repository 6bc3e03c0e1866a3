"""A root that others can write into (uploads) steers no URL helper and no hint: what appears
there after start-up is served as itself under its own prefix, and nothing else."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from staticmw import ConfigurationError, StaticMiddleware
from staticmw.integrations.asgi import ASGIStaticMiddleware
from staticmw.manifest.formats import dump_ours

from ..conftest import OLD
from ..helpers import call, fallback_app, write
from ..integrations.test_asgi import Client, scope_for

NAVIGATE = {"Accept": "text/html", "Sec-Fetch-Mode": "navigate"}
IMMUTABLE = "public, max-age=31536000, immutable"
APP_CSS = "css/app.0123456789ab.css"


def built_root(tmp_path):
    """A site's build: one stylesheet under its hashed name, and the manifest naming it."""
    root = tmp_path / "static"
    write(root / APP_CSS, b"body { color: green }", OLD)
    files = {"css/app.css": {"hashed": APP_CSS, "hash": "ab" * 32, "size": 21}}
    write(root / "staticmw.json", dump_ours(files), OLD)
    return root


def plant(uploads):
    """What an uploader writes: a stylesheet, and a manifest that names it for the site's."""
    write(uploads / "evil.css", b"body { background: url(//attacker.example/x) }")
    write(uploads / "app.css", b"evil")
    write(uploads / "new.css", b"evil")
    files = {"css/app.css": {"hashed": "evil.css"}, "app.css": {"hashed": "evil.css"}}
    write(uploads / "staticmw.json", dump_ours(files))
    time.sleep(0.01)  # past the recheck interval below


def asgi_get(app, target, headers=None, extra=None):
    messages: list = []

    async def send(message):
        messages.append(message)

    asyncio.run(
        app({**scope_for(target, headers=headers), **(extra or {})}, Client().receive, send)
    )
    return messages


def asgi_page(holder):
    async def app(scope, receive, send):
        static = holder["static"]
        html = static.static_url("css/app.css") + static.importmap_tag("css/app.css")
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/html")],
            }
        )
        await send({"type": "http.response.body", "body": html.encode()})

    return app


def page(holder):
    def app(environ, start_response):
        static = holder["static"]
        html = static.static_url("css/app.css") + static.importmap_tag("css/app.css")
        start_response("200 OK", [("Content-Type", "text/html")])
        return [html.encode()]

    return app


@pytest.mark.parametrize("adapter", ["wsgi", "asgi"])
def test_an_upload_root_never_steers_the_sites_urls_or_hints(tmp_path, adapter):
    uploads = tmp_path / "media"
    uploads.mkdir()
    holder: dict = {}
    options = {"early_hints": True, "recheck_interval": 0.001}
    if adapter == "wsgi":
        static = StaticMiddleware(page(holder), built_root(tmp_path), "/static/", **options)
    else:
        static = ASGIStaticMiddleware(
            asgi_page(holder), built_root(tmp_path), "/static/", **options
        )
    static.add_files(uploads, "/media/uploads/", allow_hard_links=False)
    holder["static"] = static
    before = static.static_url("css/app.css")
    assert before == "/static/" + APP_CSS
    plant(uploads)
    assert static.static_url("css/app.css") == before
    assert "/media/" not in static.importmap_tag("css/app.css")
    # A site without a build: a name the main root holds stays there, and a name no root
    # but the uploads holds is still not theirs.
    assert static.static_url("app.css").startswith("/static/")
    assert static.static_url("new.css") == "/static/new.css"
    # Uploads are served as themselves, under their own prefix, never as immutable.
    if adapter == "wsgi":
        served = call(static, "/media/uploads/evil.css")
        assert served.status == 200 and served.headers["cache-control"] != IMMUTABLE
        assert call(static, "/media/uploads/staticmw.json").status == 200
        first = call(static, "/page", headers=NAVIGATE)
        sent: list = []
        second = call(
            static, "/page", headers=NAVIGATE, environ_extra={"wsgi.early_hints": sent.append}
        )
        hinted = [v for k, v in first.header_list + second.header_list if k == "Link"] + [
            value for batch in sent for _, value in batch
        ]
        assert hinted and all("/media/" not in value for value in hinted)
    else:
        served = asgi_get(static, "/media/uploads/evil.css")
        headers = dict(served[0]["headers"])
        assert served[0]["status"] == 200 and headers[b"cache-control"] != IMMUTABLE.encode()
        scope = {"extensions": {"http.response.early_hint": {}}}
        sent = asgi_get(static, "/page", NAVIGATE, scope) + asgi_get(
            static, "/page", NAVIGATE, scope
        )
        hinted = [v for m in sent for k, v in m.get("headers", ()) if k == b"link"]
        hinted += [v for m in sent for v in m.get("links", ())]
        assert hinted and all(b"/media/" not in value for value in hinted)


def test_a_manifest_is_looked_for_once_unless_declared(tmp_path, caplog):
    """``manifest=None`` takes what is in the root when it is mounted; a manifest that
    appears later is a file like any other. A declared one may come later (a server started
    before its first build)."""
    root = tmp_path / "static"
    write(root / APP_CSS, b"body {}", OLD)
    found = StaticMiddleware(fallback_app, root, "/static/", recheck_interval=0.001)
    declared = StaticMiddleware(
        fallback_app, root, "/static/", recheck_interval=0.001, manifest="staticmw.json"
    )
    write(root / "staticmw.json", dump_ours({"css/app.css": {"hashed": APP_CSS}}))
    time.sleep(0.01)
    assert found.static_url("css/app.css") == "/static/css/app.css"
    assert declared.static_url("css/app.css") == "/static/" + APP_CSS
    assert call(declared, "/static/" + APP_CSS).headers["cache-control"] == IMMUTABLE
    # A manifest taken is build metadata, never served; one that is not is just a file.
    assert call(declared, "/static/staticmw.json").passed_through
    assert call(found, "/static/staticmw.json").status == 200


def test_a_root_for_uploads_reads_no_manifest(tmp_path):
    root = built_root(tmp_path)
    upload = StaticMiddleware(fallback_app, root, "/media/", allow_hard_links=False)
    assert upload.static_url("/media/css/app.css") == "/media/css/app.css"
    assert call(upload, "/media/staticmw.json").status == 200  # a file like any other
    with pytest.raises(ConfigurationError, match=r"allow_hard_links=False.*never reads a manifest"):
        StaticMiddleware(
            fallback_app, root, "/media/", allow_hard_links=False, manifest="staticmw.json"
        )


def test_logical_names_resolve_in_the_order_roots_were_added(tmp_path, caplog):
    """The first root that lists or holds a name wins, whatever the prefixes' lengths; a
    manifest's entry wins over a plain file anywhere."""
    first = built_root(tmp_path)
    write(first / "shared.css", b"first", OLD)
    second = tmp_path / "vendor"
    write(second / "shared.css", b"second", OLD)
    write(second / "only.css", b"second", OLD)
    static = StaticMiddleware(fallback_app, first, "/s/")
    static.add_files(second, "/s/vendor/longer/")
    assert static.static_url("shared.css") == "/s/shared.css"
    assert static.static_url("only.css") == "/s/vendor/longer/only.css"
    assert static.static_url("css/app.css") == "/s/" + APP_CSS
    with caplog.at_level(logging.WARNING, logger="staticmw"):
        assert static.static_url("nowhere.css") == "/s/nowhere.css"
