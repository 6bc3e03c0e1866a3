"""Flask glue, through Flask's test client and CLI runner, on the example app."""

from __future__ import annotations

import importlib
import json
import re
import shutil
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "flask"
IMMUTABLE = "public, max-age=31536000, immutable"


@pytest.fixture
def create_app(tmp_path):
    sys.path.insert(0, str(EXAMPLE))
    sys.modules.pop("app", None)
    module = importlib.import_module("app")
    yield lambda **config: module.create_app(STATICMW_ROOT=str(tmp_path / "built"), **config)
    sys.path.remove(str(EXAMPLE))
    sys.modules.pop("app", None)


def assets(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html)


def test_serves_static_folders_before_a_build(create_app):
    client = create_app().test_client()
    html = client.get("/").get_data(as_text=True)
    assert assets(html) == ["/static/css/site.css", "/admin/static/admin.css"]
    for url in assets(html):
        response = client.get(url)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "public, max-age=60"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/static/missing.css").status_code == 404  # Flask's own 404
    assert client.get("/admin/").status_code == 200


def test_build_then_hashed_urls_everywhere(create_app, tmp_path):
    app = create_app()
    result = app.test_cli_runner().invoke(args=["staticmw", "build", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] and report["files"] == 3
    client = create_app().test_client()  # a fresh app, as after a deploy
    html = client.get("/").get_data(as_text=True)
    site, admin = assets(html)
    assert re.fullmatch(r"/static/css/site\.[0-9a-f]{12}\.css", site)
    assert re.fullmatch(r"/admin/static/admin\.[0-9a-f]{12}\.css", admin)
    for url in (site, admin):
        response = client.get(url, headers={"Accept-Encoding": "br, gzip"})
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == IMMUTABLE
        assert response.headers["Content-Encoding"] in ("br", "gzip")
    # the hashed stylesheet points at the hashed image
    body = client.get(site).get_data()
    assert re.search(rb"url\(\.\./img/dot\.[0-9a-f]{12}\.svg\)", body)
    with client.application.test_request_context():
        from flask import url_for

        assert url_for("static", filename="css/site.css") == site
        assert url_for("static", filename="not/built.css") == "/static/not/built.css"


def test_cdn_host_for_external_urls(create_app):
    app = create_app(STATICMW_STATIC_HOST="https://cdn.example.com")
    app.test_cli_runner().invoke(args=["staticmw", "build"])
    app = create_app(STATICMW_STATIC_HOST="https://cdn.example.com")
    with app.test_request_context():
        from flask import url_for

        external = url_for("static", filename="css/site.css", _external=True)
        assert re.fullmatch(
            r"https://cdn\.example\.com/static/css/site\.[0-9a-f]{12}\.css", external
        )
        assert url_for("static", filename="css/site.css").startswith("/static/css/site.")
        assert url_for("home", _external=True) == "http://localhost/"


def test_strict_manifest(create_app):
    app = create_app()
    app.test_cli_runner().invoke(args=["staticmw", "build"])
    strict = create_app(STATICMW_MANIFEST_STRICT=True)
    with strict.test_request_context():
        from flask import url_for

        from staticmw import NotInManifest

        with pytest.raises(NotInManifest):
            url_for("static", filename="never/built.css")


def test_options_and_errors(create_app):
    client = create_app(STATICMW_MAX_AGE=900).test_client()
    assert client.get("/static/css/site.css").headers["Cache-Control"] == "public, max-age=900"
    from staticmw.flask import StaticMW

    with pytest.raises(TypeError, match="unknown options"):
        StaticMW(max_aeg=5)
    from staticmw import ConfigurationError

    # a bad value stops the app at startup, naming the setting
    with pytest.raises(ConfigurationError, match=r"STATICMW_MAX_AGE.*max_age must be"):
        create_app(STATICMW_MAX_AGE="x")
    with pytest.raises(ConfigurationError, match=r"STATICMW_STATIC_HOST"):
        create_app(STATICMW_STATIC_HOST="not a url")
    with pytest.raises(ConfigurationError, match=r"StaticMW\(max_age=...\)"):
        from flask import Flask

        StaticMW(max_age=-1).init_app(Flask("bare"))


def test_unknown_settings_are_warned_of(create_app, caplog):
    create_app(STATICMW_MAXAGE=5, STATICMW_ROOTS="x")
    assert "unknown setting STATICMW_MAXAGE is ignored; did you mean STATICMW_MAX_AGE?" in (
        caplog.text
    )
    assert "unknown setting STATICMW_ROOTS is ignored; did you mean STATICMW_ROOT?" in caplog.text
    caplog.clear()
    create_app(STATICMW_MAX_AGE=5, STATICMW_DEVELOPMENT=False)
    assert "unknown setting" not in caplog.text


def test_development_serves_the_sources_after_a_build(tmp_path, monkeypatch):
    copy = tmp_path / "example"
    shutil.copytree(EXAMPLE, copy)
    monkeypatch.syspath_prepend(str(copy))
    monkeypatch.delitem(sys.modules, "app", raising=False)
    module = importlib.import_module("app")

    def create_app(**config):
        return module.create_app(STATICMW_ROOT=str(tmp_path / "built"), **config)

    app = create_app()
    assert app.test_cli_runner().invoke(args=["staticmw", "build"]).exit_code == 0
    source = copy / "static" / "css" / "site.css"
    original = source.read_bytes()
    for number, config in enumerate(({"DEBUG": True}, {"STATICMW_DEVELOPMENT": True})):
        client = create_app(**config).test_client()
        html = client.get("/").get_data(as_text=True)
        assert assets(html)[0] == "/static/css/site.css"  # plain names, not the build's
        edit = original + b"/* edit %d */\n" % number
        source.write_bytes(edit)
        assert client.get("/static/css/site.css").get_data() == edit
    # without it, the build is what goes out
    html = create_app().test_client().get("/").get_data(as_text=True)
    assert re.fullmatch(r"/static/css/site\.[0-9a-f]{12}\.css", assets(html)[0])
    sys.modules.pop("app", None)
