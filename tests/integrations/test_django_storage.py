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


def record_of(root) -> dict:
    """The build's record in *root* (``staticmw.json``)."""
    return json.loads((root / "staticmw.json").read_text())


def test_hashed_names_and_every_coding(collected):
    paths = json.loads((collected / "staticfiles.json").read_text())["paths"]
    record = record_of(collected)
    assert sorted(record["codecs"]) == ["br", "gzip", "zstd"]  # every codec was tried
    for name in ("css/site.css", "js/app.js", "js/util.js"):
        hashed = paths[name]
        assert re.search(r"\.[0-9a-f]{12}\.", hashed), hashed
        entry = record["files"][name]
        assert entry["hashed"] == hashed  # one record: Django's manifest agrees with ours
        for codec, suffix in (("gzip", ".gz"), ("br", ".br"), ("zstd", ".zst")):
            # A variant is kept only when it saves enough.
            kept = codec in entry["encodings"]
            assert (collected / (hashed + suffix)).is_file() == kept, hashed + suffix
    # The stylesheet shrinks with every codec; the tiny entry module with brotli alone.
    assert sorted(record["files"]["css/site.css"]["encodings"]) == ["br", "gzip", "zstd"]
    assert sorted(record["files"]["js/app.js"]["encodings"]) == ["br"]
    assert "img/logo.svg" in record["files"]  # SVG is text
    # The state files of the storage's former own pipeline are gone.
    assert not list(collected.glob(".staticmw-*"))


def test_module_imports_point_to_hashed_names_with_no_opt_in(tmp_path, caplog):
    collect(tmp_path)  # STATICMW_JS_MODULES unset: the lexer does not match comments
    paths = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]
    app = (tmp_path / paths["js/app.js"]).read_text()
    util_hashed = paths["js/util.js"].rpartition("/")[2]
    assert f'from "./{util_hashed}"' in app, app
    # The former opt-in is accepted and changes nothing.
    collect(tmp_path / "on", STATICMW_JS_MODULES=True)
    on = json.loads((tmp_path / "on" / "staticfiles.json").read_text())["paths"]
    assert on == paths
    assert (tmp_path / "on" / on["js/app.js"]).read_text() == app


def test_a_second_run_with_nothing_changed_writes_nothing(tmp_path, caplog):
    collect(tmp_path)
    first = variants(tmp_path)
    assert first
    manifests = {n: (tmp_path / n).read_bytes() for n in ("staticfiles.json", "staticmw.json")}
    with caplog.at_level(logging.INFO, logger="staticmw.django"):
        collect(tmp_path)
    assert variants(tmp_path) == first  # not one variant written again
    assert re.search(r"staticmw: \d+ files, 0 outputs written", caplog.text), caplog.text
    for name, data in manifests.items():
        assert (tmp_path / name).read_bytes() == data


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
    new = json.loads((root / "staticfiles.json").read_text())["paths"]["extra/x.css"]
    assert new != old and (root / (new + ".gz")).is_file()
    assert (root / old).is_file()  # never pruned unless STATICMW_KEEP says so


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
        # The build's metadata beside the files is never served.
        for name in ("staticmw.json", "staticfiles.json", "importmap.json"):
            assert (collected / name).is_file()
            assert client.get("/static/" + name).status_code == 404, name


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


def pointed(record: bytes, name: str, hashed: str) -> bytes:
    """The build's record *record* with *name*'s hashed name set to *hashed*."""
    data = json.loads(record)
    data["files"][name]["hashed"] = hashed
    return json.dumps(data).encode()


def test_url_follows_a_manifest_rewritten_by_a_later_collectstatic(tmp_path, caplog):
    """A running process (a web worker) takes a new record within STATICMW_RECHECK_INTERVAL;
    one caught half written is never used."""
    from django.contrib.staticfiles.storage import staticfiles_storage

    collect(tmp_path)
    record = tmp_path / "staticmw.json"
    first = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]["css/site.css"]
    with override_settings(STATIC_ROOT=str(tmp_path), STATICMW_RECHECK_INTERVAL=0.05):
        staticfiles_storage._setup()
        storage = staticfiles_storage._wrapped
        assert storage.url("css/site.css") == "/static/" + first
        atomic_write(
            str(record), pointed(record.read_bytes(), "css/site.css", "css/site.0123456789ab.css")
        )
        time.sleep(0.1)
        assert storage.url("css/site.css") == "/static/css/site.0123456789ab.css"
        whole = record.read_bytes()
        with open(record, "r+b") as handle:  # a writer that is not atomic, stopped halfway
            handle.truncate(0)
            handle.write(whole[: len(whole) // 2])
        with caplog.at_level(logging.ERROR, logger="staticmw.django"):
            for _ in range(3):
                time.sleep(0.1)
                assert storage.url("css/site.css") == "/static/css/site.0123456789ab.css"
        assert caplog.text.count("still using the manifest read before") == 1
        # JSON of any other shape, or nested past the parser's depth, is refused the same way.
        for hostile in ('{"version": 1, "files": [1]}', "[1]", "[" * 50_000 + "]" * 50_000):
            atomic_write(str(record), hostile.encode())
            time.sleep(0.1)
            assert storage.url("css/site.css") == "/static/css/site.0123456789ab.css"
    staticfiles_storage._setup()


def test_a_missing_source_map_or_import_is_a_warning_unless_strict(tmp_path, caplog):
    sources = tmp_path / "sources"
    (sources / "js").mkdir(parents=True)
    (sources / "css").mkdir()
    (sources / "js" / "lib.js").write_text("var a = 1;\n//# sourceMappingURL=lib.js.map\n")
    (sources / "css" / "lib.css").write_text(
        "p { color: red }\n\n/*# sourceMappingURL=lib.css.map */\n"
    )
    (sources / "js" / "ok.js").write_text("var b = 2;\n//# sourceMappingURL=ok.js.map\n")
    (sources / "js" / "ok.js.map").write_text('{"version": 3, "sources": [], "mappings": ""}')
    # A package written for a bundler: an extensionless import that names no file.
    (sources / "js" / "hooks.js").write_text('import { h } from "./internal";\nexport { h };\n')
    caplog.set_level(logging.WARNING, "staticmw.django")
    collect(tmp_path / "out", STATICFILES_DIRS=[str(sources)])
    assert re.search(r"js/lib\.js:2: 'lib\.js\.map' not found", caplog.text), caplog.text
    assert re.search(r"css/lib\.css:3: 'lib\.css\.map' not found", caplog.text)
    assert re.search(r"js/hooks\.js:1: '\./internal' not found", caplog.text)
    assert caplog.text.count("lib.js.map' not found") == 1
    paths = json.loads((tmp_path / "out" / "staticfiles.json").read_text())["paths"]
    lib = (tmp_path / "out" / paths["js/lib.js"]).read_text()
    assert lib.endswith("//# sourceMappingURL=lib.js.map\n")  # left as it is
    ok = (tmp_path / "out" / paths["js/ok.js"]).read_text()
    assert re.search(r"sourceMappingURL=ok\.js\.[0-9a-f]{12}\.map", ok)  # still rewritten
    with pytest.raises(ValueError, match=r"collectstatic's build failed") as failed:
        collect(tmp_path / "strict", STATICFILES_DIRS=[str(sources)], STATICMW_STRICT=True)
    for reference in (
        "'lib.js.map' not found",
        "'lib.css.map' not found",
        "'./internal' not found",
    ):
        assert reference in str(failed.value), failed.value


def test_a_stylesheet_reference_to_a_missing_file_names_file_line_and_reference(tmp_path, caplog):
    """A stylesheet's url() of a missing file is a warning naming the file, the line and the
    reference, as in ``staticmw build``, and the reference is left as it is; under
    ``STATICMW_STRICT`` it fails collectstatic, naming the same, and records nothing."""
    sources = tmp_path / "sources"
    (sources / "css").mkdir(parents=True)
    (sources / "css" / "broken.css").write_text(
        "p { color: red }\nb { background: url(gone.png) }\n"
    )
    told = r"css/broken\.css:2: 'gone\.png' not found"
    collect(tmp_path / "out", STATICFILES_DIRS=[str(sources)])
    assert re.search(told, caplog.text), caplog.text
    paths = json.loads((tmp_path / "out" / "staticfiles.json").read_text())["paths"]
    assert b"url(gone.png)" in (tmp_path / "out" / paths["css/broken.css"]).read_bytes()
    with pytest.raises(ValueError) as failed:
        collect(tmp_path / "strict", STATICFILES_DIRS=[str(sources)], STATICMW_STRICT=True)
    assert re.search(told, str(failed.value)), failed.value
    assert not (tmp_path / "strict" / "staticfiles.json").exists()  # nothing recorded


def test_the_storage_and_the_middleware_take_a_new_manifest_from_one_read(tmp_path, monkeypatch):
    """``{% static %}`` (the storage) and the middleware serving STATIC_ROOT follow one watch
    of the build's record: one rewritten by a later collectstatic is read once for both, and
    both answer from that same version."""
    from django.contrib.staticfiles.storage import staticfiles_storage
    from django.http import HttpResponse

    from staticmw.integrations.django import StaticFilesMiddleware

    collect(tmp_path)
    record = tmp_path / "staticmw.json"
    first = json.loads((tmp_path / "staticfiles.json").read_text())["paths"]["css/site.css"]
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
            if isinstance(file, (str, os.PathLike)) and os.fspath(file) == str(record):
                reads.append(str(record))
            return real_open(file, *args, **kwargs)

        changed = pointed(record.read_bytes(), "css/site.css", "css/site.0123456789ab.css")
        atomic_write(str(record), changed)
        monkeypatch.setattr(builtins, "open", counted)
        time.sleep(0.1)
        assert storage.url("css/site.css") == "/static/css/site.0123456789ab.css"
        assert middleware.static.static_url("css/site.css") == "/static/css/site.0123456789ab.css"
        time.sleep(0.1)
        storage.url("css/site.css")
        middleware.static.static_url("css/site.css")
        monkeypatch.setattr(builtins, "open", real_open)
        assert reads == [str(record)]
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
