"""Import maps: what the build records about JavaScript modules, and the HTML rendered from it."""

from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from staticmw import StaticFiles, StaticMiddleware
from staticmw.build.modulegraph import load_declarations, parse_declarations
from staticmw.build.pipeline import BuildConfig, build
from staticmw.cli import commands as cli
from staticmw.manifest.importmaps import (
    IMPORTMAP_NAME,
    ImportMap,
    ImportMapError,
    Module,
    check_declared,
    render,
)

from ..helpers import call, fallback_app, write


def make_modules(src):
    """An entry three modules deep, a bare import, a dynamic import and a look-alike."""
    write(
        src / "js" / "app.js",
        'import { label } from "./ui/label.js";\n'
        'import { Chart } from "chart";\n'
        'import "./side.js";\n'
        'const later = () => import("./lazy.js");\n'
        '// import "./not-a-module.js";\n'
        "console.log(label, Chart, later);\n",
    )
    write(
        src / "js" / "ui" / "label.js",
        'import { word } from "./word.js";\nexport const label = word;\n',
    )
    write(src / "js" / "ui" / "word.js", 'export const word = "one";\n')
    write(src / "js" / "side.js", "export const side = 1;\n")
    write(src / "js" / "lazy.js", 'import "./side.js";\nexport const lazy = 1;\n')
    write(src / "vendor" / "chart" / "index.js", 'import "./plot.js";\nexport class Chart {}\n')
    write(src / "vendor" / "chart" / "plot.js", "export const plot = 1;\n")
    write(src / "css" / "site.css", "body { color: red }\n")
    return src


def run(tmp_path, declared=None, **options):
    config = BuildConfig(
        sources=[str(tmp_path / "src")],
        out=str(tmp_path / "out"),
        codecs=[],
        jobs=1,
        importmap=declared or {},
        **options,
    )
    return build(config)


def sri(path) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(path.read_bytes()).digest()).decode()


def test_the_build_records_each_module_with_its_hashed_name_integrity_and_static_imports(
    tmp_path,
):
    make_modules(tmp_path / "src")
    report = run(tmp_path, {"chart": "vendor/chart/index.js"})
    assert report.ok, report.errors
    out = tmp_path / "out"
    files = json.loads((out / "staticmw.json").read_text())["files"]
    record = json.loads((out / IMPORTMAP_NAME).read_text())
    assert record["bare"] == {"chart": "vendor/chart/index.js"}
    modules = record["modules"]
    # Every module and nothing else (the stylesheet is not a module).
    assert sorted(modules) == sorted(n for n in files if n.endswith(".js"))
    for name, module in modules.items():
        assert module["hashed"] == files[name]["hashed"]
        assert module["integrity"] == sri(out / module["hashed"])
    # Static imports only, in order, through the bare name; the dynamic import and the
    # commented-out one are not preloaded.
    assert modules["js/app.js"]["imports"] == [
        "js/ui/label.js",
        "js/side.js",
        "vendor/chart/index.js",
    ]
    assert modules["js/ui/label.js"]["imports"] == ["js/ui/word.js"]
    assert modules["vendor/chart/index.js"]["imports"] == ["vendor/chart/plot.js"]
    # A second build with nothing changed rewrites nothing, the import map included.
    again = run(tmp_path, {"chart": "vendor/chart/index.js"})
    assert IMPORTMAP_NAME not in again.written and "staticmw.json" not in again.written


def test_a_folder_name_maps_every_module_below_it(tmp_path):
    make_modules(tmp_path / "src")
    assert run(tmp_path, {"chart/": "vendor/chart/"}).ok
    record = ImportMap.load(tmp_path / "out" / IMPORTMAP_NAME)
    assert record.bare == {
        "chart/index.js": "vendor/chart/index.js",
        "chart/plot.js": "vendor/chart/plot.js",
    }


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        ({"chart": "vendor/missing.js"}, "'vendor/missing.js' is not a module of the build"),
        ({"chart": "css/site.css"}, "'css/site.css' is not a module of the build"),
        ({"x/": "nowhere/"}, "no module below 'nowhere/'"),
    ],
)
def test_a_declared_name_without_its_module_fails_the_build_and_writes_nothing(
    tmp_path, declared, message
):
    make_modules(tmp_path / "src")
    report = run(tmp_path, declared)
    assert not report.ok
    assert any(message in error for error in report.errors), report.errors
    assert not (tmp_path / "out" / IMPORTMAP_NAME).exists()
    assert not (tmp_path / "out" / "staticmw.json").exists()


def test_an_undeclared_bare_import_is_a_warning_and_an_error_under_strict(tmp_path):
    make_modules(tmp_path / "src")
    # The file is named by its source path, as every build warning names it.
    source = tmp_path / "src" / "js" / "app.js"
    message = f"{source}:2: bare import 'chart' is not in the import map: declare it"
    for declared in ({}, {"other": "js/side.js"}):  # with or without other names declared
        report = run(tmp_path, declared)
        assert report.ok
        assert [w for w in report.warnings if w.startswith(message)], report.warnings
    strict = run(tmp_path, strict=True)
    assert not strict.ok
    assert [e for e in strict.errors if e.startswith(message)], strict.errors
    assert run(tmp_path, {"chart": "vendor/chart/index.js"}, strict=True).ok


def test_no_modules_no_import_map(tmp_path):
    write(tmp_path / "src" / "css" / "site.css", "body{}")
    assert run(tmp_path).ok
    assert not (tmp_path / "out" / IMPORTMAP_NAME).exists()


def test_a_source_file_named_like_the_builds_own_files_is_skipped(tmp_path):
    make_modules(tmp_path / "src")
    write(tmp_path / "src" / IMPORTMAP_NAME, '{"mine": true}')
    report = run(tmp_path)
    assert report.ok
    assert any(f"the build writes its own {IMPORTMAP_NAME!r}" in w for w in report.warnings)
    assert "mine" not in (tmp_path / "out" / IMPORTMAP_NAME).read_text()


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        ({"": "a.js"}, "must be non-empty"),
        ({" chart": "a.js"}, "without spaces"),
        ({"./chart": "a.js"}, "relative or absolute path"),
        ({"/chart": "a.js"}, "relative or absolute path"),
        ({"chart": ""}, "needs a file path"),
        ({"chart": 3}, "needs a file path"),
        ({"chart": "../outside.js"}, "leaves the build"),
        ({"chart/": "vendor/chart.js"}, "maps a folder ending in '/'"),
        ({"chart": "vendor/"}, "maps a folder ending in '/'"),
    ],
)
def test_bad_declarations_are_named(declared, message):
    with pytest.raises(ImportMapError, match=re.escape(message)):
        check_declared(declared)


def test_declarations_from_the_command_line_and_a_toml_file(tmp_path):
    assert parse_declarations(["chart=/vendor/chart.js", " lit/ = vendor/lit/ "]) == {
        "chart": "vendor/chart.js",
        "lit/": "vendor/lit/",
    }
    with pytest.raises(ImportMapError, match="expected NAME=PATH"):
        parse_declarations(["chart"])
    config = tmp_path / "staticmw.toml"
    config.write_text('[importmap]\nchart = "vendor/chart.js"\n')
    assert load_declarations(str(config)) == {"chart": "vendor/chart.js"}
    config.write_text("[other]\nx = 1\n")
    assert load_declarations(str(config)) == {}
    config.write_text("[importmap\n")
    with pytest.raises(ImportMapError, match="not valid TOML"):
        load_declarations(str(config))
    config.write_text('importmap = "chart"\n')
    with pytest.raises(ImportMapError, match=r"\[importmap\] must be a table"):
        load_declarations(str(config))
    with pytest.raises(ImportMapError, match="cannot read"):
        load_declarations(str(tmp_path / "missing.toml"))


def test_the_command_reads_staticmw_toml_and_its_options_win(tmp_path, monkeypatch, capsys):
    make_modules(tmp_path / "src")
    write(tmp_path / "vendor2" / "chart.js", "export class Chart {}\n")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "staticmw.toml").write_text('[importmap]\nchart = "vendor/chart/index.js"\n')
    argv = ["build", "src", "--out", "out", "--codecs", "none", "--quiet"]
    assert cli.main(argv) == 0
    assert ImportMap.load(tmp_path / "out" / IMPORTMAP_NAME).bare == {
        "chart": "vendor/chart/index.js"
    }
    assert cli.main([*argv, "--importmap-entry", "chart=vendor/chart/plot.js"]) == 0
    assert ImportMap.load(tmp_path / "out" / IMPORTMAP_NAME).bare == {
        "chart": "vendor/chart/plot.js"
    }
    assert cli.main([*argv, "--importmap-entry", "chart"]) == 2
    assert "expected NAME=PATH" in capsys.readouterr().err
    assert cli.main([*argv, "--config", "missing.toml"]) == 2
    assert cli.main([*argv, "--importmap-entry", "chart=vendor/none.js"]) == 1
    assert "'vendor/none.js' is not a module of the build" in capsys.readouterr().err


def page_map(html: str) -> dict:
    found = re.search(r'<script type="importmap"[^>]*>(.*?)</script>', html, re.S)
    assert found, html
    return json.loads(found.group(1))


def links(html: str) -> list[str]:
    return re.findall(r'<link rel="modulepreload" href="([^"]+)"', html)


def test_the_tag_maps_plain_and_bare_names_and_preloads_the_static_graph(tmp_path):
    make_modules(tmp_path / "src")
    assert run(tmp_path, {"chart": "vendor/chart/index.js"}).ok
    out = tmp_path / "out"
    record = ImportMap.load(out / IMPORTMAP_NAME)
    hashed = {name: "/static/" + m.hashed for name, m in record.modules.items()}
    static = StaticFiles(root=out, prefix="/static/")
    html = static.importmap_tag("js/app.js", nonce="n0nce")
    browser = page_map(html)
    assert browser["imports"]["chart"] == hashed["vendor/chart/index.js"]
    for name, url in hashed.items():
        assert browser["imports"]["/static/" + name] == url
        assert browser["integrity"][url] == sri(out / record.modules[name].hashed)
    # Nearest first; the dynamically imported module is left to load when asked for.
    assert links(html) == [
        hashed["js/ui/label.js"],
        hashed["js/side.js"],
        hashed["vendor/chart/index.js"],
        hashed["js/ui/word.js"],
        hashed["vendor/chart/plot.js"],
    ]
    entry = re.search(
        r'<script type="module" src="([^"]+)" integrity="([^"]+)" nonce="n0nce">', html
    )
    assert entry and entry.group(1) == hashed["js/app.js"]
    assert entry.group(2) == record.modules["js/app.js"].integrity
    assert '<script type="importmap" nonce="n0nce">' in html
    # Without the entry's own script element, the entry is preloaded too.
    assert links(static.importmap_tag("js/app.js", script=False))[0] == hashed["js/app.js"]
    assert "integrity" not in static.importmap_tag("js/app.js", integrity=False)


def test_the_tag_puts_every_url_on_the_cdn_host(tmp_path):
    make_modules(tmp_path / "src")
    assert run(tmp_path, {"chart": "vendor/chart/index.js"}).ok
    static = StaticFiles(
        root=tmp_path / "out", prefix="/assets/", static_host="https://cdn.example"
    )
    html = static.importmap_tag("js/app.js")
    browser = page_map(html)
    keys = [key for key in browser["imports"] if key != "chart"]
    urls = [*keys, *browser["imports"].values(), *browser["integrity"], *links(html)]
    assert urls and all(u.startswith("https://cdn.example/assets/") for u in urls), urls
    assert re.search(
        r'<script type="module" src="https://cdn\.example/assets/js/app\.[0-9a-f]{12}\.js"', html
    )


def test_an_entry_no_build_lists_is_loaded_by_its_url(tmp_path, caplog):
    write(tmp_path / "plain" / "js" / "app.js", "export {};")
    static = StaticFiles(root=tmp_path / "plain", prefix="/static/")
    html = static.importmap_tag("js/app.js")
    assert page_map(html) == {"imports": {}}
    assert '<script type="module" src="/static/js/app.js"></script>' in html
    assert links(html) == []


def test_the_middleware_never_serves_the_import_map_file(tmp_path):
    make_modules(tmp_path / "src")
    assert run(tmp_path).ok
    app = StaticMiddleware(fallback_app, root=tmp_path / "out", prefix="/static/")
    assert call(app, "/static/" + IMPORTMAP_NAME).status == 404
    assert call(app, "/static/staticmw.json").status == 404
    assert call(app, "/static/js/app.js").status == 200


def test_a_broken_import_map_file_is_a_clear_error_at_startup(tmp_path):
    make_modules(tmp_path / "src")
    assert run(tmp_path).ok
    (tmp_path / "out" / IMPORTMAP_NAME).write_text("{not json")
    with pytest.raises(ValueError, match=r"importmap\.json is not JSON"):
        StaticFiles(root=tmp_path / "out", prefix="/static/")
    (tmp_path / "out" / IMPORTMAP_NAME).write_text('{"version": 1, "modules": []}')
    with pytest.raises(ValueError, match="not an import map record"):
        StaticFiles(root=tmp_path / "out", prefix="/static/")


def test_maps_of_several_roots_are_merged_and_the_first_root_wins():
    first = ImportMap(
        {"a.js": Module("a.1.js", "", ("b.js",)), "b.js": Module("b.1.js")}, {"x": "a.js"}
    )
    second = ImportMap(
        {"a.js": Module("a.2.js"), "c.js": Module("c.2.js")}, {"x": "c.js", "y": "c.js"}
    )
    html = render(
        [(first, lambda n: "/one/" + n), (second, lambda n: "/two/" + n)], "a.js", script=False
    )
    browser = page_map(html)
    assert browser["imports"] == {
        "x": "/one/a.1.js",
        "y": "/two/c.2.js",
        "/one/a.js": "/one/a.1.js",
        "/one/b.js": "/one/b.1.js",
        "/two/a.js": "/two/a.2.js",
        "/two/c.js": "/two/c.2.js",
    }
    assert links(html) == ["/one/a.1.js", "/one/b.1.js"]


@given(st.dictionaries(st.text(min_size=1), st.text(min_size=1), max_size=5))
def test_any_names_give_a_map_that_stays_inside_its_script_element(names):
    """Whatever the names, the map parses back to itself and nothing in it ends the element."""
    record = ImportMap({t: Module(t + ".h") for t in names.values()}, dict(names))
    html = render([(record, lambda n: "/s/" + n)])
    body = html[len('<script type="importmap">') : -len("</script>")]
    assert "<" not in body and ">" not in body and "&" not in body
    assert json.loads(body) == record.browser_map(lambda n: "/s/" + n)
