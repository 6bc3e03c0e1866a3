"""Import maps under Django: collectstatic's importmap.json and ``{% importmap %}``."""

from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.template import Context, Template
from django.test import Client, override_settings

from staticmw.manifest.importmaps import IMPORTMAP_NAME

from .test_django_storage import collect

TAG = Template("{% load staticmw %}{% importmap 'js/app.js' nonce='n1' %}")


def sri(path) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(path.read_bytes()).digest()).decode()


def browser_map(html: str) -> dict:
    found = re.search(r'<script type="importmap" nonce="n1">(.*?)</script>', html)
    assert found, html
    return json.loads(found.group(1))


@pytest.mark.parametrize("rewritten", [True, False], ids=["js-modules", "imports-unrewritten"])
def test_collectstatic_records_modules_and_declared_names(tmp_path, rewritten):
    collect(tmp_path, STATICMW_JS_MODULES=rewritten, STATICMW_IMPORTMAP={"util": "js/util.js"})
    paths = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    record = json.loads((tmp_path / IMPORTMAP_NAME).read_text())
    assert record["bare"] == {"util": "js/util.js"}
    assert sorted(record["modules"]) == ["js/app.js", "js/mark.js", "js/util.js", "js/words.js"]
    for name, module in record["modules"].items():
        assert module["hashed"] == paths[name]
        assert module["integrity"] == sri(tmp_path / paths[name])
    # Found whether the import names the hashed file or the plain one.
    assert record["modules"]["js/app.js"]["imports"] == ["js/util.js"]
    assert record["modules"]["js/util.js"]["imports"] == ["js/words.js"]
    assert record["modules"]["js/words.js"]["imports"] == ["js/mark.js"]


def test_the_tag_renders_the_collected_map_and_the_middleware_hides_it(tmp_path):
    collect(tmp_path)
    paths = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    with override_settings(STATIC_ROOT=str(tmp_path), DEBUG=False):
        html = TAG.render(Context())
        browser = browser_map(html)
        app, util = "/static/" + paths["js/app.js"], "/static/" + paths["js/util.js"]
        assert browser["imports"] == {
            f"/static/js/{name}.js": "/static/" + paths[f"js/{name}.js"]
            for name in ("app", "util", "words", "mark")
        }
        assert browser["integrity"][app] == sri(tmp_path / paths["js/app.js"])
        assert f'<link rel="modulepreload" href="{util}" integrity="sha384-' in html
        assert re.search(
            f'<script type="module" src="{re.escape(app)}" integrity=[^>]+ nonce="n1">', html
        )
        client = Client()
        assert client.get(app).status_code == 200
        assert client.get("/static/" + IMPORTMAP_NAME).status_code == 404
        # A new collectstatic is picked up by the tag without a restart.
        (tmp_path / IMPORTMAP_NAME).unlink()
        collect(tmp_path, STATICMW_IMPORTMAP={"util": "js/util.js"})
        assert browser_map(TAG.render(Context()))["imports"]["util"] == util


def test_the_tag_keeps_the_last_good_map_when_the_file_is_caught_half_written(tmp_path, caplog):
    import logging

    collect(tmp_path, STATICMW_IMPORTMAP={"util": "js/util.js"})
    with override_settings(STATIC_ROOT=str(tmp_path), DEBUG=False):
        good = TAG.render(Context())
        whole = (tmp_path / IMPORTMAP_NAME).read_bytes()
        with caplog.at_level(logging.ERROR, logger="staticmw"):
            for cut in (len(whole) // 2, len(whole) // 3):  # a writer that is not atomic
                (tmp_path / IMPORTMAP_NAME).write_bytes(whole[:cut])
                assert TAG.render(Context()) == good
                assert TAG.render(Context()) == good
        assert caplog.text.count("still using the import map read before") == 2


def test_the_tag_on_a_cdn_and_in_development(tmp_path):
    collect(tmp_path)
    with override_settings(STATIC_ROOT=str(tmp_path), STATIC_URL="https://cdn.example/s/"):
        html = TAG.render(Context())
        urls = re.findall(r'(?:href|src)="([^"]+)"', html)
        assert len(urls) == 4 and all(u.startswith("https://cdn.example/s/js/") for u in urls)
    # With the finders serving, nothing is hashed: declared names at their plain URLs.
    with override_settings(DEBUG=True, STATICMW_IMPORTMAP={"util": "js/util.js"}):
        html = TAG.render(Context())
        assert browser_map(html) == {"imports": {"util": "/static/js/util.js"}}
        assert '<script type="module" src="/static/js/app.js" nonce="n1"></script>' in html


def test_a_bad_importmap_setting_fails_collectstatic_naming_it(tmp_path):
    with pytest.raises(ValueError, match=r"import map entry 'x': 'js/none\.js' is not a module"):
        collect(tmp_path, STATICMW_IMPORTMAP={"x": "js/none.js"})
    with pytest.raises(ImproperlyConfigured, match=r"STATICMW_IMPORTMAP: .*relative or absolute"):
        collect(tmp_path / "b", STATICMW_IMPORTMAP={"/x": "js/util.js"})


def test_an_undeclared_bare_import_is_warned_of_and_fails_under_strict(tmp_path, caplog):
    sources = tmp_path / "sources"
    (sources / "js").mkdir(parents=True)
    (sources / "js" / "page.js").write_text('import { Chart } from "chart";\nnew Chart();\n')
    collect(tmp_path / "out", STATICFILES_DIRS=[str(sources)])
    assert "js/page.js:1: bare import 'chart' is not in the import map: declare it" in caplog.text
    with pytest.raises(ValueError, match=r"js/page\.js:1: bare import 'chart'"):
        collect(tmp_path / "strict", STATICFILES_DIRS=[str(sources)], STATICMW_STRICT=True)


def test_a_pages_map_holds_only_what_it_can_reach(tmp_path):
    # An admin's scripts beside the page's modules: the page's map must not carry them.
    sources = tmp_path / "sources"
    for number in range(30):
        path = sources / "admin" / "js" / f"widget{number}.js"
        path.parent.mkdir(parents=True, exist_ok=True)
        following = 'import "./widget0.js";\n' if number else ""
        path.write_text(f"{following}export const n = {number};\n")
    (sources / "js").mkdir()
    (sources / "js" / "page.js").write_text(
        'import { a } from "./a.js";\nconst later = () => import("./later.js");\n'
    )
    (sources / "js" / "a.js").write_text("export const a = 1;\n")
    (sources / "js" / "later.js").write_text("export const later = 1;\n")
    (sources / "vendor").mkdir()
    (sources / "vendor" / "chart.js").write_text('import "./plot.js";\nexport class Chart {}\n')
    (sources / "vendor" / "plot.js").write_text("export const plot = 1;\n")
    declared = {"chart": "vendor/chart.js"}
    root = tmp_path / "out"
    collect(root, STATICFILES_DIRS=[str(sources)], STATICMW_IMPORTMAP=declared)
    record = json.loads((root / IMPORTMAP_NAME).read_text())
    assert len([m for m in record["modules"] if m.startswith("admin/")]) == 30  # all recorded
    paths = json.loads((root / "staticfiles.json").read_text())["paths"]
    page = Template("{% load staticmw %}{% importmap 'js/page.js' nonce='n1' %}")
    bare = Template("{% load staticmw %}{% importmap nonce='n1' %}")
    with override_settings(STATIC_ROOT=str(root), DEBUG=False, STATICMW_IMPORTMAP=declared):
        browser = browser_map(page.render(Context()))
        plain = {k for k in browser["imports"] if k.startswith("/static/")}
        reach = ["js/page.js", "js/a.js", "js/later.js", "vendor/chart.js", "vendor/plot.js"]
        assert plain == {"/static/" + name for name in reach}
        assert browser["imports"]["chart"] == "/static/" + paths["vendor/chart.js"]
        # a module loaded later keeps its integrity
        assert browser["integrity"]["/static/" + paths["js/later.js"]].startswith("sha384-")
        assert not [url for url in browser["integrity"] if "/admin/" in url]
        alone = browser_map(bare.render(Context()))
        assert set(alone["imports"]) == {
            "chart",
            "/static/vendor/chart.js",
            "/static/vendor/plot.js",
        }
        assert len(page.render(Context())) < 2500


def test_the_tag_encodes_urls_as_every_other_helper_does():
    """One percent-encoding rule for every URL staticmw writes: the tag's is the helpers'."""
    from staticmw import StaticURLs
    from staticmw.integrations.django.templatetags.staticmw import _url

    name = "js/a+b@c;d=e,f!g's (h).js"
    with override_settings(STATIC_URL="/static/"):
        assert _url(name) == StaticURLs(None, "/static/").plain(name)
        assert _url(name) == "/static/js/a+b@c;d=e,f!g's%20(h).js"


def test_the_tag_takes_the_pages_csp_nonce_by_itself(tmp_path):
    """``{% importmap %}`` needs no ``nonce=``: it takes django-csp's ``request.csp_nonce``
    (the one the response's header then names) or a ``csp_nonce`` in the context, as
    Django 6's context processor names it; a nonce given by hand still wins."""
    from csp.constants import NONCE, SELF
    from csp.middleware import CSPMiddleware
    from django.http import HttpResponse
    from django.test import RequestFactory

    collect(tmp_path)
    bare = Template("{% load staticmw %}{% importmap 'js/app.js' %}")
    policy = {"DIRECTIVES": {"script-src": [SELF, NONCE]}}
    with override_settings(STATIC_ROOT=str(tmp_path), DEBUG=False, CONTENT_SECURITY_POLICY=policy):

        def view(request):
            return HttpResponse(bare.render(Context({"request": request})))

        response = CSPMiddleware(view)(RequestFactory().get("/"))
        nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
        html = response.content.decode()
        scripts = re.findall(r"<script [^>]*>", html)
        assert len(scripts) == 2 and all(f'nonce="{nonce}"' in tag for tag in scripts), html
        assert f'nonce="{nonce}"' in html and len(nonce) >= 16
        six = bare.render(Context({"csp_nonce": "from-django-6"}))
        assert six.count('nonce="from-django-6"') == 2
        assert TAG.render(Context({"csp_nonce": "ignored"})).count('nonce="n1"') == 2
        assert "nonce=" not in bare.render(Context())
