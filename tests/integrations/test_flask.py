"""Flask glue, through Flask's test client and CLI runner, on the example app."""

from __future__ import annotations

import importlib
import json
import re
import shutil
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "flask"
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


def test_cdn_host_for_every_static_url(create_app):
    """With a CDN host, every static url_for is on it, external or not, as static_url()
    is; other endpoints keep the request's host."""
    app = create_app(STATICMW_STATIC_HOST="https://cdn.example.com")
    app.test_cli_runner().invoke(args=["staticmw", "build"])
    app = create_app(STATICMW_STATIC_HOST="https://cdn.example.com")
    with app.test_request_context():
        from flask import url_for

        external = url_for("static", filename="css/site.css", _external=True)
        assert re.fullmatch(
            r"https://cdn\.example\.com/static/css/site\.[0-9a-f]{12}\.css", external
        )
        assert url_for("static", filename="css/site.css") == external
        assert url_for("home", _external=True) == "http://localhost/"
        assert url_for("home") == "/"


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
    from staticmw.integrations.flask import StaticMW

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
        response = client.get("/static/css/site.css")
        assert response.get_data() == edit
        # one rule for development in every integration: revalidate every time
        assert response.headers["Cache-Control"] == "public, max-age=0"
    debug = create_app(DEBUG=True, STATICMW_MAX_AGE=600).test_client()
    assert debug.get("/static/css/site.css").headers["Cache-Control"] == "public, max-age=0"
    # without it, the build is what goes out
    html = create_app().test_client().get("/").get_data(as_text=True)
    assert re.fullmatch(r"/static/css/site\.[0-9a-f]{12}\.css", assets(html)[0])
    sys.modules.pop("app", None)


def modules_app(tmp_path, **config):
    """A Flask app whose static folder holds an ES module graph and a vendored library."""
    from flask import Flask, render_template_string

    from staticmw.integrations.flask import StaticMW

    static = tmp_path / "static"
    for name, text in {
        "js/app.js": 'import { util } from "./util.js";\nimport { Chart } from "chart";\n',
        "js/util.js": "export const util = 1;\n",
        "vendor/chart.js": "export class Chart {}\n",
    }.items():
        (static / name).parent.mkdir(parents=True, exist_ok=True)
        (static / name).write_text(text)
    app = Flask("modules", static_folder=str(static))
    config.setdefault("STATICMW_IMPORTMAP", {"chart": "static/vendor/chart.js"})
    app.config.update(STATICMW_ROOT=str(tmp_path / "built"), **config)

    @app.route("/")
    def page():
        return render_template_string("<head>{{ importmap_tag('js/app.js', nonce='xyz') }}</head>")

    StaticMW(app)
    return app


def test_importmap_tag_before_and_after_a_build(tmp_path):
    from staticmw.manifest.importmaps import IMPORTMAP_NAME

    app = modules_app(tmp_path)
    html = app.test_client().get("/").get_data(as_text=True)
    # Before a build: the bare name at its plain URL, the entry by its plain URL.
    found = re.search(r'<script type="importmap" nonce="xyz">(.*?)</script>', html)
    assert found and json.loads(found.group(1)) == {"imports": {"chart": "/static/vendor/chart.js"}}
    assert '<script type="module" src="/static/js/app.js" nonce="xyz"></script>' in html
    result = app.test_cli_runner().invoke(args=["staticmw", "build", "--codecs", "none"])
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "built" / IMPORTMAP_NAME).read_text())
    assert record["bare"] == {"chart": "static/vendor/chart.js"}
    client = modules_app(tmp_path).test_client()  # a fresh app, as after a deploy
    html = client.get("/").get_data(as_text=True)
    found = re.search(r'<script type="importmap" nonce="xyz">(.*?)</script>', html)
    assert found
    browser = json.loads(found.group(1))
    chart = browser["imports"]["chart"]
    assert re.fullmatch(r"/static/vendor/chart\.[0-9a-f]{12}\.js", chart)
    assert browser["imports"]["/static/js/util.js"] in html  # preloaded
    (util,) = re.findall(r'<link rel="modulepreload" href="([^"]+)"', html)[:1]
    entry = re.search(r'<script type="module" src="([^"]+)" integrity="sha384-[^"]+"', html)
    assert entry and re.fullmatch(r"/static/js/app\.[0-9a-f]{12}\.js", entry.group(1))
    for url in (chart, util, entry.group(1)):
        response = client.get(url)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == IMMUTABLE
    # The build's record is not an asset.
    assert client.get("/" + IMPORTMAP_NAME).status_code == 404
    assert client.get("/static/" + IMPORTMAP_NAME).status_code == 404


def test_importmap_tag_on_the_cdn_host(tmp_path):
    app = modules_app(tmp_path, STATICMW_STATIC_HOST="https://cdn.example")
    assert app.test_cli_runner().invoke(args=["staticmw", "build"]).exit_code == 0
    html = modules_app(tmp_path, STATICMW_STATIC_HOST="https://cdn.example").test_client()
    text = html.get("/").get_data(as_text=True)
    urls = re.findall(r'(?:href|src)="([^"]+)"', text)
    assert len(urls) == 3 and all(u.startswith("https://cdn.example/static/") for u in urls)


def test_a_bad_importmap_setting_stops_the_app_at_startup(tmp_path):
    from staticmw import ConfigurationError

    with pytest.raises(ConfigurationError, match=r"STATICMW_IMPORTMAP.*relative or absolute"):
        modules_app(tmp_path / "a", STATICMW_IMPORTMAP={"./x": "static/x.js"})
    with pytest.raises(ConfigurationError, match=r"STATICMW_IMPORTMAP'\] must be a dict"):
        modules_app(tmp_path / "b", STATICMW_IMPORTMAP=["chart"])


def test_build_with_dictionaries_serves_deltas(tmp_path):
    import base64
    import hashlib

    app = modules_app(tmp_path)
    util = tmp_path / "static" / "js" / "util.js"
    body = "".join(f"export const u{i} = {i * 7919 % 1009};\n" for i in range(2000))
    util.write_text("export const util = 1;\n" + body)
    runner = app.test_cli_runner()
    args = ["staticmw", "build", "--dictionaries", "1", "--json"]
    assert runner.invoke(args=args).exit_code == 0
    first = json.loads((tmp_path / "built" / "staticmw.json").read_text())["files"]
    util.write_text("export const util = 2;\n" + body)
    assert runner.invoke(args=args).exit_code == 0
    entry = json.loads((tmp_path / "built" / "staticmw.json").read_text())["files"]
    entry = entry["static/js/util.js"]
    assert entry["versions"] == [first["static/js/util.js"]["hashed"]]
    old = (tmp_path / "built" / entry["versions"][0]).read_bytes()
    client = modules_app(tmp_path).test_client()
    response = client.get(
        "/" + entry["hashed"],
        headers={
            "Accept-Encoding": "br, dcz",
            "Available-Dictionary": f":{base64.b64encode(hashlib.sha256(old).digest()).decode()}:",
        },
    )
    assert response.headers.get("Content-Encoding") == "dcz", response.headers
    assert response.headers["Use-As-Dictionary"] == 'match="util.*.js"'
    assert runner.invoke(args=["staticmw", "build", "--dictionaries", "-1"]).exit_code != 0


@pytest.mark.parametrize("value", ["false", "0", 1, "yes"])
def test_development_takes_only_a_boolean(create_app, value):
    from staticmw import ConfigurationError

    with pytest.raises(ConfigurationError, match=r"STATICMW_DEVELOPMENT'\] must be True or Fa"):
        create_app(STATICMW_DEVELOPMENT=value)


def test_a_relative_root_is_below_the_app_not_the_current_directory(tmp_path, monkeypatch):
    from flask import Flask, url_for

    from staticmw import ConfigurationError
    from staticmw.integrations.flask import StaticMW

    project = tmp_path / "project"
    (project / "static" / "css").mkdir(parents=True)
    (project / "static" / "css" / "a.css").write_text("a { color: red }\n" * 50)

    def make(**config):
        app = Flask("project", root_path=str(project))
        app.config.update(config)
        StaticMW(app)
        return app

    app = make(STATICMW_ROOT="built")
    assert app.config["STATICMW_ROOT"] == str(project / "built")
    monkeypatch.chdir(tmp_path)  # started from elsewhere
    assert app.test_cli_runner().invoke(args=["staticmw", "build"]).exit_code == 0
    assert (project / "built" / "staticmw.json").is_file()
    assert not (tmp_path / "built").exists()
    app = make(STATICMW_ROOT="built")
    with app.test_request_context():
        hashed = url_for("static", filename="css/a.css")
    assert re.fullmatch(r"/static/css/a\.[0-9a-f]{12}\.css", hashed)
    assert app.test_client().get(hashed).headers["Cache-Control"] == IMMUTABLE
    (project / "afile").write_text("x")
    with pytest.raises(ConfigurationError, match="is a file, not a directory"):
        make(STATICMW_ROOT="afile")


def test_a_missing_root_is_told_once(tmp_path, caplog):
    """A STATICMW_ROOT that does not exist yet is served from the static folders, and
    said once: a typo in the setting does not go unnoticed."""
    from flask import Flask

    from staticmw.integrations.flask import StaticMW

    project = tmp_path / "project"
    (project / "static").mkdir(parents=True)
    for _ in range(3):
        app = Flask("project", root_path=str(project))
        app.config["STATICMW_ROOT"] = "buitl"
        StaticMW(app)
    told = [r.getMessage() for r in caplog.records if "does not exist yet" in r.getMessage()]
    assert told == [
        f"staticmw: app.config['STATICMW_ROOT'] {str(project / 'buitl')!r} does not exist "
        "yet: the static folders are served as they are until `flask staticmw build` writes it"
    ]


def test_early_hints_for_the_pages_stylesheets(create_app):
    app = create_app(STATICMW_EARLY_HINTS=True)
    assert app.test_cli_runner().invoke(args=["staticmw", "build"]).exit_code == 0
    app = create_app(STATICMW_EARLY_HINTS=True)  # serves the build
    client = app.test_client()
    navigate = {"Accept": "text/html", "Sec-Fetch-Mode": "navigate"}
    first = client.get("/", headers=navigate)
    values = first.headers.getlist("Link")
    assert [re.fullmatch(r"</(.+)\.[0-9a-f]{12}\.css>; rel=preload; as=style", v).group(1)
            for v in values] == ["static/css/site", "admin/static/admin"]  # fmt: skip
    sent: list = []
    second = client.get("/", headers=navigate, environ_overrides={"wsgi.early_hints": sent.append})
    assert sent == [[("Link", value) for value in values]]
    assert second.headers.getlist("Link") == values
    for value in values:  # every hinted URL is a file the app serves, for a year
        response = client.get(value[1 : value.index(">")])
        assert response.status_code == 200 and response.headers["Cache-Control"] == IMMUTABLE
    assert client.get("/", headers={"Accept": "application/json"}).headers.get("Link") is None


def test_early_hints_name_the_urls_the_page_uses(create_app):
    """Under a script name, and with a CDN host for external URLs, each hinted URL is the
    very URL in the page: a preload the page then asks for elsewhere is wasted."""
    from flask import url_for

    app = create_app(STATICMW_EARLY_HINTS=True)
    assert app.test_cli_runner().invoke(args=["staticmw", "build"]).exit_code == 0
    navigate = {"Accept": "text/html", "Sec-Fetch-Mode": "navigate"}
    client = create_app(STATICMW_EARLY_HINTS=True).test_client()
    mounted = client.get("/", headers=navigate, environ_overrides={"SCRIPT_NAME": "/shop"})
    hinted = [v[1 : v.index(">")] for v in mounted.headers.getlist("Link")]
    assert hinted == assets(mounted.get_data(as_text=True))
    assert len(hinted) == 2 and all(url.startswith("/shop/") for url in hinted)

    app = create_app(STATICMW_EARLY_HINTS=True, STATICMW_STATIC_HOST="https://cdn.example.org")

    @app.route("/external")
    def external():
        href = url_for("static", filename="css/site.css", _external=True)
        return f'<link rel="stylesheet" href="{href}">'

    page = app.test_client().get("/external", headers=navigate)
    hinted = [v[1 : v.index(">")] for v in page.headers.getlist("Link")]
    assert hinted == assets(page.get_data(as_text=True))
    assert hinted[0].startswith("https://cdn.example.org/static/css/site.")


def test_early_hints_remember_nothing_one_request_chose(create_app):
    """``url_for(..., _external=True)`` builds on the request's Host: a forged Host shapes
    that page's own links, never the next visitor's 103. A page that sets a cookie (the
    session) is not remembered; the opt-out header never reaches a client."""
    from flask import request, session, url_for

    app = create_app(STATICMW_EARLY_HINTS=True)
    assert app.test_cli_runner().invoke(args=["staticmw", "build"]).exit_code == 0
    app = create_app(STATICMW_EARLY_HINTS=True, SECRET_KEY="k")

    @app.route("/external", methods=["GET", "POST"])
    def external():
        if "login" in request.args:
            session["user"] = "admin"
        href = url_for("static", filename="css/site.css", _external=True)
        off = {"X-Staticmw-Early-Hints": "1"} if "off" in request.args else {}
        return f'<link rel="stylesheet" href="{href}">', off

    navigate = {"Accept": "text/html", "Sec-Fetch-Mode": "navigate"}
    client = app.test_client()
    sent: list = []
    hint = {"wsgi.early_hints": sent.append, "SERVER_PROTOCOL": "HTTP/1.1"}
    forged = client.get("/external", headers={**navigate, "Host": "attacker.example"})
    assert forged.headers.getlist("Link")[0].startswith("<http://attacker.example/static/")
    client.get("/external", headers=navigate, environ_overrides=hint)
    assert sent and all("attacker" not in value for _, value in sent[0])
    assert sent[0][0][1].startswith("</static/css/site.")
    sent.clear()
    client.get("/external?login", headers={**navigate, "Host": "admin.example"})
    client.get("/external", headers=navigate, environ_overrides=hint)
    assert sent and all("admin.example" not in value for _, value in sent[0])
    for response in (
        client.get("/external?off", headers={"Accept": "text/css", "Sec-Fetch-Mode": "cors"}),
        client.post("/external?off", headers=navigate),
        client.get("/external?off", headers=navigate),
    ):
        assert "X-Staticmw-Early-Hints" not in response.headers
