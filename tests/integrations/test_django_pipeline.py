"""collectstatic runs staticmw's build: trees that Django's regular expressions break, real
packages, retention, the history of a fresh STATIC_ROOT, and dcz deltas."""

from __future__ import annotations

import json
import logging
import os
import posixpath
import re
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client, override_settings

from staticmw.build.rewrite import module_specifiers
from staticmw.hints.cssrefs import css_urls, local_target

from .. import django_project  # noqa: F401  (sets Django up)

STORAGE = "staticmw.django.storage.ManifestStaticFilesStorage"
TWICE = re.compile(r"\.[0-9a-f]{12}\.[0-9a-f]{12}\.")


def collect(root: Path, sources: Path | list[Path], **settings) -> dict[str, str]:
    """collectstatic of *sources* into *root*; Django's manifest, read by Django's loader."""
    from django.contrib.staticfiles.storage import staticfiles_storage

    dirs = [str(s) for s in (sources if isinstance(sources, list) else [sources])]
    storages = {"staticfiles": {"BACKEND": STORAGE}}
    with override_settings(
        STATIC_ROOT=str(root), STORAGES=storages, STATICFILES_DIRS=dirs, **settings
    ):
        call_command("collectstatic", interactive=False, verbosity=0)
        staticfiles_storage._setup()
        paths, _ = staticfiles_storage._wrapped.load_manifest()
    staticfiles_storage._setup()
    return paths


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def assert_every_reference_resolves(root: Path, paths: dict[str, str], under: str = "") -> int:
    """Every relative module specifier and stylesheet URL in every hashed output names a
    file that is there, by its hashed name when it has one, and none is hashed twice; how
    many were checked in the files whose names start with *under*."""
    hashed_names = set(paths.values())
    checked = 0
    for name, hashed in paths.items():
        lowered = name.lower()
        content = (root / hashed).read_bytes()
        if lowered.endswith((".js", ".mjs")):
            urls = [s.value for s in module_specifiers(content) if s.value.startswith((".", "/"))]
        elif lowered.endswith(".css"):
            urls = css_urls(content)
        else:
            continue
        for url in urls:
            target = local_target(hashed, url)
            if target is None or url.startswith("data:"):
                continue
            assert not TWICE.search(url), (hashed, url)
            assert target and (root / target).is_file(), (hashed, url)
            if target in paths:  # a plain name whose hashed copy exists: a stale reference
                assert paths[target] == target, (hashed, url)
            rewritable = posixpath.splitext(target)[1] in (".js", ".mjs", ".css")
            assert target in hashed_names or not rewritable, (hashed, url)
            checked += name.startswith(under)
    return checked


def test_an_import_chain_thirteen_modules_deep(tmp_path):
    """Django's passes give up at ten ("Max post-process passes exceeded")."""
    link = 'import {{ v{1} }} from "./m{1}.js";\nexport const v{0} = v{1} + 1;\n'
    files = {f"js/m{i}.js": link.format(i, i + 1) for i in range(13)}
    files["js/m13.js"] = "export const v13 = 0;\n"
    sources = write(tmp_path / "src", files)
    paths = collect(tmp_path / "out", sources, STATICMW_JS_MODULES=True)
    assert assert_every_reference_resolves(tmp_path / "out", paths, "js/m") == 13


def test_a_bare_dynamic_import_is_left_to_the_import_map(tmp_path):
    """Django took ``import("lib/x.js")`` for a relative file and failed collectstatic."""
    sources = write(
        tmp_path / "src",
        {
            "js/main.js": 'export const load = () => import("lib/x.js");\n',
            "vendor/lib/x.js": "export const x = 1;\n",
        },
    )
    out = tmp_path / "out"
    paths = collect(out, sources, STATICMW_IMPORTMAP={"lib/": "vendor/lib/"})
    assert 'import("lib/x.js")' in (out / paths["js/main.js"]).read_text()
    imports = json.loads((out / "importmap.json").read_text())
    assert "lib/" in json.dumps(imports), imports


def test_an_import_like_comment_between_two_imports_of_one_file(tmp_path):
    """Django hashed the second name twice (``css-tag.<h>.<h>.js``), a file that is not there."""
    sources = write(
        tmp_path / "src",
        {
            "js/base.js": (
                'import { a } from "./css-tag.js";\n'
                '// import { b } from "./css-tag.js";\n'
                '/* export { c } from "./css-tag.js"; */\n'
                'export { b } from "./css-tag.js";\n'
                "export const x = a;\n"
            ),
            "js/css-tag.js": "export const a = 1, b = 2, c = 3;\n",
        },
    )
    out = tmp_path / "out"
    paths = collect(out, sources, STATICMW_JS_MODULES=True)
    text = (out / paths["js/base.js"]).read_text()
    hashed = paths["js/css-tag.js"].rpartition("/")[2]
    assert text.count(f'"./{hashed}"') == 2, text  # the two imports, each once
    assert text.count('"./css-tag.js"') == 2, text  # the comments left as they are
    assert not TWICE.search(text), text
    assert assert_every_reference_resolves(out, paths, "js/base") == 2


def test_an_import_of_a_missing_file_is_a_warning_not_a_failure(tmp_path, caplog):
    """preact's packages for bundlers import ``./internal``; Django failed the whole run."""
    sources = write(
        tmp_path / "src",
        {
            "js/hooks.js": 'import { h } from "./internal";\nexport { h };\n',
            "js/ok.js": 'import "./hooks.js";\n',
        },
    )
    caplog.set_level(logging.WARNING, "staticmw.django")
    paths = collect(tmp_path / "out", sources, STATICMW_JS_MODULES=True)
    assert re.search(r"js/hooks\.js:1: '\./internal' not found", caplog.text), caplog.text
    assert "js/ok.js" in paths and "js/hooks.js" in paths
    with pytest.raises(ValueError, match=r"js/hooks\.js:1: '\./internal' not found"):
        collect(tmp_path / "strict", sources, STATICMW_STRICT=True)


def test_dynamic_imports_and_minified_reexports_point_at_hashed_names(tmp_path):
    """pdf.js and KaTeX kept references on plain names: a dynamic ``import()``, a worker's
    ``new URL(...)`` is left to the page, and a minified ``export{...}from"..."`` with no
    semicolon, all outside Django's patterns."""
    sources = write(
        tmp_path / "src",
        {
            "js/viewer.js": (
                'const worker = () => import("./worker.js");\n'
                'export{render}from"./render.js"\n'
                "export * from './util.js'\n"
                "export { worker };\n"
            ),
            "js/worker.js": "export const w = 1;\n",
            "js/render.js": "export const render = () => 1;\n",
            "js/util.js": "export const u = 1;\n",
        },
    )
    out = tmp_path / "out"
    paths = collect(out, sources, STATICMW_JS_MODULES=True)
    text = (out / paths["js/viewer.js"]).read_text()
    for name in ("worker", "render", "util"):
        assert paths[f"js/{name}.js"].rpartition("/")[2] in text, (name, text)
        assert f"./{name}.js" not in text, (name, text)
    assert assert_every_reference_resolves(out, paths, "js/viewer") == 3


def site_packages_static(package: str) -> Path:
    """The ``static/`` folder of an installed Django app (the test extra installs them)."""
    import importlib

    module = importlib.import_module(package)
    return Path(module.__file__).resolve().parent / "static"


def test_real_packages_collect_with_every_reference_resolved(tmp_path):
    """Django's admin, django-debug-toolbar (ES modules) and Django REST framework
    (Bootstrap's stylesheets and fonts), as a project's STATIC_ROOT holds them."""
    import django

    admin = Path(django.__file__).resolve().parent / "contrib" / "admin" / "static"
    sources = [admin, site_packages_static("debug_toolbar"), site_packages_static("rest_framework")]
    out = tmp_path / "out"
    paths = collect(out, sources)
    assert len(paths) > 100
    assert assert_every_reference_resolves(out, paths) > 50
    toolbar = (out / paths["debug_toolbar/js/toolbar.js"]).read_text()
    assert paths["debug_toolbar/js/utils.js"].rpartition("/")[2] in toolbar


def test_keep_prunes_what_the_last_builds_no_longer_use(tmp_path):
    """STATICMW_KEEP = K: the current build plus K earlier ones are kept, older hashed
    files are removed, and only files on the build's own record ever are."""
    sources = tmp_path / "src"
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("not the build's")  # a file the build never made
    names = []
    for version in range(4):
        write(sources, {"css/a.css": f"p {{ order: {version} }}\n"})
        later = 2_000_000_000 + version
        os.utime(sources / "css" / "a.css", (later, later))
        names.append(collect(out, sources, STATICMW_KEEP=1)["css/a.css"])
    assert len(set(names)) == 4
    # The current build and the one before it.
    present = [(out / name).is_file() for name in names]
    assert present == [False, False, True, True], present
    assert (out / "mine.txt").is_file()
    # Unset, nothing is pruned.
    write(sources, {"css/a.css": "p { order: 9 }\n"})
    os.utime(sources / "css" / "a.css", (2_000_000_100, 2_000_000_100))
    collect(out, sources)
    assert (out / names[2]).is_file() and (out / names[3]).is_file()


def test_a_fresh_static_root_gets_earlier_versions_from_the_history(tmp_path):
    """STATICMW_HISTORY: a fresh STATIC_ROOT (a new slug or image) has yesterday's hashed
    files back, and unchanged outputs return from it rather than being compressed again."""
    sources = write(tmp_path / "src", {"js/app.js": "export const v = 1;\n" + "// x\n" * 200})
    history = tmp_path / "cache"
    first = collect(tmp_path / "release1", sources, STATICMW_KEEP=2, STATICMW_HISTORY=str(history))
    write(sources, {"js/app.js": "export const v = 2;\n" + "// x\n" * 200})
    fresh = tmp_path / "release2"
    second = collect(fresh, sources, STATICMW_KEEP=2, STATICMW_HISTORY=str(history))
    assert first["js/app.js"] != second["js/app.js"]
    old = fresh / first["js/app.js"]
    assert old.read_bytes() == (tmp_path / "release1" / first["js/app.js"]).read_bytes()
    for suffix in (".br", ".gz"):
        assert (fresh / (first["js/app.js"] + suffix)).is_file()
    with override_settings(STATIC_ROOT=str(fresh), DEBUG=False):
        response = Client().get("/static/" + first["js/app.js"])
        assert response.status_code == 200


def test_dictionaries_give_a_returning_browser_a_delta(tmp_path):
    """STATICMW_DICTIONARIES = N writes dcz deltas against the last N versions; the
    middleware sends one to a browser that offers the version it holds."""
    import hashlib

    text = "export const greet = (n) => `hello ${n}`;\n" + "".join(
        f"export const f{i} = () => {i} * 2;\n" for i in range(300)
    )
    sources = write(tmp_path / "src", {"js/app.js": text})
    out = tmp_path / "out"
    settings = dict(STATICMW_KEEP=2, STATICMW_DICTIONARIES=2)
    first = collect(out, sources, **settings)["js/app.js"]
    write(sources, {"js/app.js": text.replace("hello", "hi")})
    os.utime(sources / "js" / "app.js", (2_000_000_000, 2_000_000_000))
    second = collect(out, sources, **settings)["js/app.js"]
    held = (out / first).read_bytes()
    digest = hashlib.sha256(held).digest()
    import base64

    available = ":" + base64.b64encode(digest).decode() + ":"
    with override_settings(STATIC_ROOT=str(out), DEBUG=False):
        response = Client().get(
            "/static/" + second,
            HTTP_ACCEPT_ENCODING="dcz, br, gzip",
            HTTP_AVAILABLE_DICTIONARY=available,
        )
    assert response.status_code == 200
    assert response["Content-Encoding"] == "dcz"
    body = b"".join(response.streaming_content) if response.streaming else response.content
    brotli = (out / (second + ".br")).stat().st_size
    assert len(body) < brotli / 4, (len(body), brotli)


def test_check_django_passes_right_after_collectstatic(tmp_path):
    from staticmw.cli import commands

    sources = write(tmp_path / "src", {"css/a.css": "p { color: red }\n" * 50})
    out = tmp_path / "out"
    collect(out, sources)
    with override_settings(STATIC_ROOT=str(out)):
        assert commands.main(["check", "--django"]) == 0
    shutil.rmtree(out)


def test_root_absolute_stylesheet_urls_below_static_url_are_hashed(tmp_path):
    """As Django's storage did: ``url(/static/img/a.png)`` names a collected file; a URL
    elsewhere on the site is left alone; one below STATIC_URL naming no file is a missing
    file (an error under STATICMW_STRICT)."""
    sources = write(
        tmp_path / "src",
        {
            "css/a.css": (
                "p { background: url(/static/img/a.svg?v=1) }\n"
                "b { background: url(/media/up.png) }\n"
                "i { background: url('/static/img/a.svg#x') }\n"
            ),
            "img/a.svg": "<svg xmlns='http://www.w3.org/2000/svg'/>",
        },
    )
    out = tmp_path / "out"
    paths = collect(out, sources)
    text = (out / paths["css/a.css"]).read_text()
    assert f"url(/static/{paths['img/a.svg']}?v=1)" in text, text
    assert f"url('/static/{paths['img/a.svg']}#x')" in text, text
    assert "url(/media/up.png)" in text
    write(sources, {"css/b.css": "p { background: url(/static/img/gone.png) }\n"})
    with pytest.raises(ValueError, match=r"css/b\.css:1: '/static/img/gone\.png' not found"):
        collect(tmp_path / "out2", sources, STATICMW_STRICT=True)


def test_collectstatic_link_builds_from_the_linked_sources(tmp_path):
    """``collectstatic --link``: the plain names stay collectstatic's links, and the build
    reads the files they lead to (in the finders' directories) under the same rules."""
    from django.contrib.staticfiles.storage import staticfiles_storage

    sources = write(
        tmp_path / "src",
        {"css/a.css": 'p { background: url("../img/b.svg") }\n' + "p{}\n" * 200,
         "img/b.svg": "<svg xmlns='http://www.w3.org/2000/svg'/>"},
    )  # fmt: skip
    out = tmp_path / "out"
    storages = {"staticfiles": {"BACKEND": STORAGE}}
    settings = dict(STATIC_ROOT=str(out), STORAGES=storages, STATICFILES_DIRS=[str(sources)])
    with override_settings(**settings):
        call_command("collectstatic", interactive=False, verbosity=0, link=True)
        staticfiles_storage._setup()
        paths, _ = staticfiles_storage._wrapped.load_manifest()
    staticfiles_storage._setup()
    assert (out / "css" / "a.css").is_symlink()
    assert (out / paths["css/a.css"]).is_file() and not (out / paths["css/a.css"]).is_symlink()
    assert paths["img/b.svg"].rpartition("/")[2] in (out / paths["css/a.css"]).read_text()
    assert (out / (paths["css/a.css"] + ".gz")).is_file()


def test_a_fresh_static_root_with_nothing_changed_compresses_nothing(tmp_path):
    """With STATICMW_HISTORY, a deploy with nothing changed into a fresh STATIC_ROOT takes
    every variant from the history, the plain names' of rewritten files too: none is
    compressed again."""
    sources = write(
        tmp_path / "src",
        {"css/a.css": '@import "b.css";\n' + "p { color: red }\n" * 200,
         "css/b.css": "b { color: blue }\n" * 200},
    )  # fmt: skip
    history = tmp_path / "cache"
    settings = dict(STATICMW_KEEP=2, STATICMW_HISTORY=str(history))
    first = collect(tmp_path / "release1", sources, **settings)
    shutil.rmtree(tmp_path / "release1")  # a new slug or image has only the history
    fresh = tmp_path / "release2"
    assert collect(fresh, sources, **settings) == first
    # The hashed files' variants, and those of the rewritten stylesheet's plain name (the
    # others are copies of the hashed name's, made again without compressing).
    variants = [
        p
        for p in (fresh / "css").iterdir()
        if p.suffix in (".gz", ".br", ".zst")
        and (p.name.startswith("a.css.") or re.search(r"\.[0-9a-f]{12}\.", p.name))
    ]
    assert {p.name for p in variants} >= {"a.css.gz", "a.css.br"}
    for path in variants:
        held = history / path.relative_to(fresh)
        # Linked from the history, where it had no other name: the history's own file,
        # never compressed again, which would make a new one.
        assert held.is_file() and path.stat().st_ino == held.stat().st_ino, path
    # The next collectstatic into this STATIC_ROOT keeps them as well, although the history
    # gave them an older date than collectstatic's copies of the plain names.
    inodes = {path: path.stat().st_ino for path in variants}
    assert collect(fresh, sources, **settings) == first
    assert {path: path.stat().st_ino for path in variants} == inodes


def test_a_variant_the_history_holds_for_other_bytes_is_never_kept(tmp_path):
    """A STATIC_ROOT whose own record is newer than the history's (it was built without it,
    or with another) and lacks a variant: the history's variant of that name, checked
    against the history's record, is of another version of the source, and is made again
    rather than served beside this one."""
    import gzip

    sources = tmp_path / "src"
    body = "p { color: red }\n" * 200

    def version(text: str) -> None:
        write(sources, {"css/a.css": '@import "b.css";\n' + text + body, "css/b.css": body})
        later = os.stat(sources / "css/a.css").st_mtime + 10
        os.utime(sources / "css/a.css", (later, later))  # newer than collectstatic's copy

    history = tmp_path / "cache"
    version("/* two */\n")
    collect(tmp_path / "other", sources, STATICMW_HISTORY=str(history))
    root = tmp_path / "static"
    for text in ("/* one */\n", "/* three */\n", "/* one */\n"):  # its record goes past
        version(text)
        collect(root, sources)
    (root / "css/a.css.gz").unlink()
    os.utime(sources / "css/a.css", (1e9, 1e9))  # older than the copy: not copied again
    collect(root, sources, STATICMW_HISTORY=str(history))
    plain = (root / "css/a.css").read_bytes()
    assert b"/* one */" in plain
    assert gzip.decompress((root / "css/a.css.gz").read_bytes()) == plain
