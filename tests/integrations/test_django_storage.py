"""collectstatic with staticmw's storage: Django's hashed names, plus precompressed variants."""

from __future__ import annotations

import builtins
import json
import logging
import os
import re
import time

import pytest
from django.core.management import call_command
from django.test import Client, override_settings

from staticmw.build import precompress
from staticmw.build.atomic import atomic_write

from .. import django_project
from ..helpers import body_of

EXAMPLE_STATIC = django_project.EXAMPLE / "mysite" / "static"
STORAGE = "staticmw.django.storage.ManifestStaticFilesStorage"


def collect(root, **settings):
    storages = {"staticfiles": {"BACKEND": STORAGE}}
    with override_settings(STATIC_ROOT=str(root), STORAGES=storages, **settings):
        call_command("collectstatic", interactive=False, verbosity=0)


def variants(root) -> dict[str, int]:
    """Every precompressed file under *root* and its modification time (ns)."""
    return {
        str(path.relative_to(root)): path.stat().st_mtime_ns
        for path in root.rglob("*")
        if path.suffix in (".gz", ".br", ".zst")
    }


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    root = tmp_path_factory.mktemp("collected")
    collect(root)
    return root


def test_hashed_names_and_every_coding(collected):
    paths = json.loads((collected / "staticfiles.json").read_text())["paths"]
    record = json.loads((collected / precompress.RECORD).read_text())
    for name in ("css/site.css", "js/app.js", "js/util.js"):
        hashed = paths[name]
        assert re.search(r"\.[0-9a-f]{12}\.", hashed), hashed
        for stored in (name, hashed):
            # Every codec was tried; a variant is kept only when it is at most 95%.
            assert sorted(record[stored]["codecs"]) == ["br", "gzip", "zstd"]
            for codec, suffix in (("gzip", ".gz"), ("br", ".br"), ("zstd", ".zst")):
                kept = codec in record[stored]["kept"]
                assert (collected / (stored + suffix)).is_file() == kept, stored + suffix
    # The stylesheet shrinks with every codec; the tiny entry module with none.
    assert sorted(record[paths["css/site.css"]]["kept"]) == ["br", "gzip", "zstd"]
    assert record[paths["js/app.js"]]["kept"] == []
    # Images are not compressed again; the record is a dotfile, never served.
    assert paths["img/logo.svg"] in record  # SVG is text
    assert (collected / precompress.RECORD).is_file()


def test_module_imports_point_to_hashed_names_when_asked(tmp_path):
    collect(tmp_path / "off", STATICMW_JS_MODULES=False)  # Django's default
    paths = json.loads((tmp_path / "off" / "staticfiles.json").read_text())["paths"]
    assert 'from "./util.js"' in (tmp_path / "off" / paths["js/app.js"]).read_text()
    collect(tmp_path, STATICMW_JS_MODULES=True)  # as the example project sets it
    paths = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    app = (tmp_path / paths["js/app.js"]).read_text()
    util_hashed = paths["js/util.js"].rpartition("/")[2]
    assert f'from "./{util_hashed}"' in app, app


def test_a_second_run_with_nothing_changed_compresses_nothing(tmp_path, caplog):
    collect(tmp_path)
    first = variants(tmp_path)
    assert first
    manifest = (tmp_path / "staticfiles.json").read_bytes()
    with caplog.at_level(logging.INFO, logger="staticmw.django"):
        collect(tmp_path)
    assert variants(tmp_path) == first  # not one variant written again
    assert "staticmw: 0 variants written" in caplog.text
    # Django's hashing pass is skipped too: same bytes, same manifest.
    assert "nothing changed since the last collectstatic" in caplog.text
    assert (tmp_path / "staticfiles.json").read_bytes() == manifest


def test_a_changed_source_is_processed_again(tmp_path, caplog):
    sources = tmp_path / "sources"
    (sources / "extra").mkdir(parents=True)
    (sources / "extra" / "x.css").write_text("a { color: red }\n" * 100)
    root = tmp_path / "root"
    dirs = [str(sources)]
    collect(root, STATICFILES_DIRS=dirs)
    old = json.loads((root / "staticfiles.json").read_text())["paths"]["extra/x.css"]
    (sources / "extra" / "x.css").write_text("a { color: blue }\n" * 100)
    later = (root / "extra" / "x.css").stat().st_mtime + 10  # collectstatic copies newer files
    os.utime(sources / "extra" / "x.css", (later, later))
    with caplog.at_level(logging.INFO, logger="staticmw.django"):
        collect(root, STATICFILES_DIRS=dirs)
    assert "nothing changed" not in caplog.text
    new = json.loads((root / "staticfiles.json").read_text())["paths"]["extra/x.css"]
    assert new != old and (root / (new + ".gz")).is_file()


def test_variants_are_served_with_their_own_etags(collected):
    with override_settings(STATIC_ROOT=str(collected)):
        client = Client()
        paths = json.loads((collected / "staticfiles.json").read_text())["paths"]
        url = "/static/" + paths["css/site.css"]
        tags = {}
        for coding in ("br", "gzip", "zstd", "identity"):
            response = client.get(url, HTTP_ACCEPT_ENCODING=coding)
            assert response.status_code == 200
            assert response.get("Content-Encoding", "identity") == coding
            assert response["Cache-Control"] == "public, max-age=31536000, immutable"
            suffix = {"br": ".br", "gzip": ".gz", "zstd": ".zst", "identity": ""}[coding]
            assert body_of(response) == (collected / (paths["css/site.css"] + suffix)).read_bytes()
            tags[coding] = response["ETag"]
            again = client.get(url, HTTP_ACCEPT_ENCODING=coding, HTTP_IF_NONE_MATCH=tags[coding])
            assert again.status_code == 304
        assert len(set(tags.values())) == 4
        assert client.get("/static/" + precompress.RECORD).status_code == 404


def test_keep_only_hashed_files(tmp_path):
    collect(tmp_path, STATICMW_KEEP_ONLY_HASHED_FILES=True)
    paths = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    assert (tmp_path / paths["css/site.css"]).is_file()
    assert not (tmp_path / "css" / "site.css").exists()
    assert not (tmp_path / "css" / "site.css.gz").exists()


def test_whitenoise_settings_are_honoured_with_a_warning(tmp_path, caplog):
    collect(tmp_path, WHITENOISE_KEEP_ONLY_HASHED_FILES=True)
    assert not (tmp_path / "css" / "site.css").exists()
    assert "WHITENOISE_KEEP_ONLY_HASHED_FILES is read as STATICMW_KEEP_ONLY_HASHED_FILES" in (
        caplog.text
    )


def test_extensions_left_uncompressed(tmp_path):
    collect(tmp_path, STATICMW_SKIP_COMPRESS_EXTENSIONS=["css"])
    assert not list(tmp_path.rglob("*.css.gz"))
    assert not list(tmp_path.rglob("*.css.br"))


def test_url_follows_a_manifest_rewritten_by_a_later_collectstatic(tmp_path, caplog):
    """A running process (a web worker) takes a new staticfiles.json within
    STATICMW_RECHECK_INTERVAL; one caught half written is never used."""
    from django.contrib.staticfiles.storage import staticfiles_storage

    collect(tmp_path)
    manifest = tmp_path / "staticfiles.json"
    first = json.loads(manifest.read_text())["paths"]["css/site.css"]
    with override_settings(STATIC_ROOT=str(tmp_path), STATICMW_RECHECK_INTERVAL=0.05):
        staticfiles_storage._setup()
        storage = staticfiles_storage._wrapped
        assert storage.url("css/site.css") == "/static/" + first
        data = json.loads(manifest.read_text())
        data["paths"]["css/site.css"] = "css/site.0123456789ab.css"
        atomic_write(str(manifest), json.dumps(data).encode())
        time.sleep(0.1)
        assert storage.url("css/site.css") == "/static/css/site.0123456789ab.css"
        whole = manifest.read_bytes()
        with open(manifest, "r+b") as handle:  # a writer that is not atomic, stopped halfway
            handle.truncate(0)
            handle.write(whole[: len(whole) // 2])
        with caplog.at_level(logging.ERROR, logger="staticmw.django"):
            for _ in range(3):
                time.sleep(0.1)
                assert storage.url("css/site.css") == "/static/css/site.0123456789ab.css"
        assert caplog.text.count("still using the manifest read before") == 1
        # JSON of any other shape, or nested past the parser's depth, is refused the same way.
        for hostile in ('{"version": "1.1", "paths": [1]}', "[1]", "[" * 50_000 + "]" * 50_000):
            atomic_write(str(manifest), hostile.encode())
            time.sleep(0.1)
            assert storage.url("css/site.css") == "/static/css/site.0123456789ab.css"
    staticfiles_storage._setup()


def test_a_missing_source_map_is_a_warning_unless_strict(tmp_path, caplog):
    sources = tmp_path / "sources"
    (sources / "js").mkdir(parents=True)
    (sources / "css").mkdir()
    (sources / "js" / "lib.js").write_text("var a = 1;\n//# sourceMappingURL=lib.js.map\n")
    (sources / "css" / "lib.css").write_text(
        "p { color: red }\n\n/*# sourceMappingURL=lib.css.map */\n"
    )
    (sources / "js" / "ok.js").write_text("var b = 2;\n//# sourceMappingURL=ok.js.map\n")
    (sources / "js" / "ok.js.map").write_text('{"version": 3, "sources": [], "mappings": ""}')
    caplog.set_level(logging.WARNING, "staticmw.django")
    collect(tmp_path / "out", STATICFILES_DIRS=[str(sources)])
    assert "js/lib.js, line 2: the source map lib.js.map is missing" in caplog.text
    assert "css/lib.css, line 3: the source map lib.css.map is missing" in caplog.text
    assert caplog.text.count("lib.js.map is missing") == 1
    paths = json.loads((tmp_path / "out" / "staticfiles.json").read_text())["paths"]
    lib = (tmp_path / "out" / paths["js/lib.js"]).read_text()
    assert lib.endswith("//# sourceMappingURL=lib.js.map\n")  # left as it is
    ok = (tmp_path / "out" / paths["js/ok.js"]).read_text()
    assert re.search(r"sourceMappingURL=ok\.js\.[0-9a-f]{12}\.map", ok)  # still rewritten
    with pytest.raises(ValueError, match=r"lib\.(js|css)\.map' could not be found"):
        collect(tmp_path / "strict", STATICFILES_DIRS=[str(sources)], STATICMW_STRICT=True)


def test_the_storage_and_the_middleware_take_a_new_manifest_from_one_read(tmp_path, monkeypatch):
    """``{% static %}`` (the storage) and the middleware serving STATIC_ROOT follow one watch
    of ``staticfiles.json``: a manifest rewritten by a later collectstatic is read once for
    both, and both answer from that same version."""
    from django.contrib.staticfiles.storage import staticfiles_storage
    from django.http import HttpResponse

    from staticmw.integrations.django import StaticFilesMiddleware

    collect(tmp_path)
    manifest = tmp_path / "staticfiles.json"
    first = json.loads(manifest.read_text())["paths"]["css/site.css"]
    settings = dict(STATIC_ROOT=str(tmp_path), STATICMW_RECHECK_INTERVAL=0.05, DEBUG=False)
    with override_settings(**settings):
        staticfiles_storage._setup()
        storage = staticfiles_storage._wrapped
        middleware = StaticFilesMiddleware(lambda request: HttpResponse(b"app"))
        assert storage.url("css/site.css") == "/static/" + first
        assert middleware.static.static_url("css/site.css") == "/static/" + first
        reads: list[str] = []
        real_open = builtins.open

        def counted(file, *args, **kwargs):
            if isinstance(file, (str, os.PathLike)) and os.fspath(file) == str(manifest):
                reads.append(str(manifest))
            return real_open(file, *args, **kwargs)

        data = json.loads(manifest.read_text())
        data["paths"]["css/site.css"] = "css/site.0123456789ab.css"
        atomic_write(str(manifest), json.dumps(data).encode())
        monkeypatch.setattr(builtins, "open", counted)
        time.sleep(0.1)
        assert storage.url("css/site.css") == "/static/css/site.0123456789ab.css"
        assert middleware.static.static_url("css/site.css") == "/static/css/site.0123456789ab.css"
        time.sleep(0.1)
        storage.url("css/site.css")
        middleware.static.static_url("css/site.css")
        monkeypatch.setattr(builtins, "open", real_open)
        assert reads == [str(manifest)]
    staticfiles_storage._setup()


def test_the_stylesheet_tag_gives_the_collected_files_integrity(collected):
    """``{% stylesheet %}``: the hashed URL, the SRI value of the collected file it names,
    and ``crossorigin="anonymous"``; ``integrity=False`` leaves both out."""
    import base64
    import hashlib

    from django.contrib.staticfiles.storage import staticfiles_storage
    from django.template import Context, Template

    storages = {"staticfiles": {"BACKEND": STORAGE}}
    with override_settings(STATIC_ROOT=str(collected), STORAGES=storages, DEBUG=False):
        staticfiles_storage._setup()
        hashed = staticfiles_storage.stored_name("css/site.css")
        data = (collected / hashed).read_bytes()
        value = "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()
        html = Template('{% load staticmw %}{% stylesheet "css/site.css" %}').render(Context())
        assert html == (
            f'<link rel="stylesheet" href="/static/{hashed}" integrity="{value}" '
            'crossorigin="anonymous">'
        )
        plain = Template('{% load staticmw %}{% stylesheet "css/site.css" integrity=False %}')
        assert plain.render(Context()) == f'<link rel="stylesheet" href="/static/{hashed}">'
    staticfiles_storage._setup()
