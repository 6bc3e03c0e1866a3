from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

import brotli
import pytest
import zstandard
from hypothesis import given
from hypothesis import strategies as st

from staticmw import StaticMiddleware
from staticmw.build import compress, deltas, pipeline, workers
from staticmw.build.pipeline import BuildConfig, BuildError, hashed_name
from staticmw.cli import commands as cli
from staticmw.http import encodings
from staticmw.http.cachecontrol import DEFAULT_IMMUTABLE_PATTERN

from ..helpers import call, fallback_app, write

CSS_BODY = b"p { color: #333; margin: 0 0 1em 0; }\n" * 200


def make_site(base):
    src = base / "src"
    write(
        src / "css" / "app.css",
        b'@import "base.css";\nbody{background:url(../img/bg.png)}\n' + CSS_BODY,
    )
    write(src / "css" / "base.css", b"@import url(fonts.css);\n" + CSS_BODY)
    write(src / "css" / "fonts.css", b'@font-face{src:url("../fonts/f.woff2?v=2#x")}\n' + CSS_BODY)
    write(
        src / "js" / "app.js", b"console.log('hi');\n" * 100 + b"//# sourceMappingURL=app.js.map\n"
    )
    write(src / "js" / "app.js.map", b'{"version":3,"sources":[]}' + b" " * 400)
    write(src / "img" / "bg.png", b"\x89PNG\r\n" + bytes(300))
    write(src / "fonts" / "f.woff2", b"wOF2" + bytes(100))
    write(src / "tiny.txt", b"hi")
    write(src / ".env", b"SECRET")
    write(src / ".git" / "config", b"[core]")
    write(src / "notes.tmp", b"scratch")
    return src


def run(base, *extra_sources, **options):
    options.setdefault("jobs", 1)
    config = BuildConfig(
        sources=[str(base / "src"), *map(str, extra_sources)], out=str(base / "out"), **options
    )
    return pipeline.build(config)


def load(base):
    return json.loads((base / "out" / "staticmw.json").read_text())


def tree(path):
    return {
        str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()
    }


# -- naming -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("css/app.css", "css/app.0123456789ab.css"),
        ("LICENSE", "LICENSE.0123456789ab"),
        ("archive.tar.gz", "archive.tar.0123456789ab.gz"),
        ("js/app.js.map", "js/app.js.0123456789ab.map"),
    ],
)
def test_hashed_name(name, expected):
    assert hashed_name(name, "0123456789abcdef") == expected


@given(st.from_regex(r"([a-z0-9_-]{1,8}/){0,2}[a-z][a-z0-9_-]{0,8}\.[a-z0-9]{1,5}", fullmatch=True))
def test_hashed_names_are_recognised_as_immutable(name):
    hashed = hashed_name(name, "f" * 64)
    assert DEFAULT_IMMUTABLE_PATTERN.search("/static/" + hashed)
    assert not DEFAULT_IMMUTABLE_PATTERN.search("/static/" + name) or re.search(
        r"[.-][0-9a-f]{8,}", name
    )


# -- collect, rewrite, hash ---------------------------------------------------------


def test_collect_and_clash(tmp_path):
    make_site(tmp_path)
    write(tmp_path / "vendor" / "tiny.txt", b"from vendor")
    write(tmp_path / "vendor" / "lib.js", b"vendor lib;\n" * 50)
    report = run(tmp_path, tmp_path / "vendor", exclude=["*.tmp"])
    assert report.ok, report.errors
    out = tmp_path / "out"
    assert (out / "tiny.txt").read_bytes() == b"hi"  # the first source wins
    assert [c[0] for c in report.clashes] == ["tiny.txt"]
    assert (out / "lib.js").exists()
    assert not (out / ".env").exists() and not (out / ".git").exists()
    assert not (out / "notes.tmp").exists()
    names = load(tmp_path)["files"]
    assert sorted(names) == [
        "css/app.css", "css/base.css", "css/fonts.css", "fonts/f.woff2", "img/bg.png",
        "js/app.js", "js/app.js.map", "lib.js", "tiny.txt",
    ]  # fmt: skip


def test_references_are_rewritten_in_dependency_order(tmp_path):
    make_site(tmp_path)
    assert run(tmp_path).ok
    files = load(tmp_path)["files"]
    out = tmp_path / "out"
    app = (out / files["css/app.css"]["hashed"]).read_bytes()
    base = (out / files["css/base.css"]["hashed"]).read_bytes()
    fonts = (out / files["css/fonts.css"]["hashed"]).read_bytes()
    assert f'@import "{os.path.basename(files["css/base.css"]["hashed"])}"'.encode() in app
    assert (
        f"url(../{files['img/bg.png']['hashed'].split('/', 1)[1]})".encode().replace(
            b"../", b"../img/"
        )
        in app
    )
    assert f"@import url({os.path.basename(files['css/fonts.css']['hashed'])})".encode() in base
    assert f'url("../{files["fonts/f.woff2"]["hashed"]}?v=2#x")'.encode() in fonts
    js = (out / files["js/app.js"]["hashed"]).read_bytes()
    assert (
        f"//# sourceMappingURL={os.path.basename(files['js/app.js.map']['hashed'])}".encode() in js
    )
    # the unhashed copies are the sources, untouched
    assert (out / "css/app.css").read_bytes() == (tmp_path / "src/css/app.css").read_bytes()
    # every hash covers the rewritten content
    for name, entry in files.items():
        data = (out / entry["hashed"]).read_bytes()
        assert entry["size"] == len(data)
        assert entry["hashed"] == hashed_name(name, entry["hash"])


def test_a_changed_font_changes_every_css_that_leads_to_it(tmp_path):
    make_site(tmp_path)
    run(tmp_path)
    before = {k: v["hashed"] for k, v in load(tmp_path)["files"].items()}
    write(tmp_path / "src" / "fonts" / "f.woff2", b"wOF2" + bytes(101))
    run(tmp_path)
    after = {k: v["hashed"] for k, v in load(tmp_path)["files"].items()}
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {"fonts/f.woff2", "css/fonts.css", "css/base.css", "css/app.css"}


def test_missing_reference_warns_with_file_and_line(tmp_path):
    make_site(tmp_path)
    write(tmp_path / "src" / "css" / "broken.css", b"a{}\nb{background:url(nope.png)}\n")
    report = run(tmp_path)
    assert report.ok
    assert any(re.search(r"broken\.css:2: 'nope\.png' not found", w) for w in report.warnings)
    strict = run(tmp_path, strict=True)
    assert not strict.ok and any("broken.css:2" in e for e in strict.errors)


def test_cycles_do_not_crash(tmp_path):
    src = tmp_path / "src"
    write(src / "a.css", b'@import "b.css";\n' + CSS_BODY)
    write(src / "b.css", b'@import "a.css";\n' + CSS_BODY)
    report = run(tmp_path)
    assert report.ok
    assert any("references it back" in w for w in report.warnings)
    files = load(tmp_path)["files"]
    assert {"a.css", "b.css"} <= set(files)


# -- precompression -------------------------------------------------------------------


def test_variants(tmp_path):
    make_site(tmp_path)
    run(tmp_path)
    out = tmp_path / "out"
    files = load(tmp_path)["files"]
    entry = files["css/app.css"]
    hashed = out / entry["hashed"]
    assert set(entry["encodings"]) == {"gzip", "br", "zstd"}
    assert gzip.decompress((out / (entry["hashed"] + ".gz")).read_bytes()) == hashed.read_bytes()
    assert brotli.decompress((out / (entry["hashed"] + ".br")).read_bytes()) == hashed.read_bytes()
    assert (
        zstandard.ZstdDecompressor().decompress((out / (entry["hashed"] + ".zst")).read_bytes())
        == hashed.read_bytes()
    )
    for codec, size in entry["encodings"].items():
        assert (out / (entry["hashed"] + encodings.WRITTEN_SUFFIX[codec])).stat().st_size == size
        assert size <= len(hashed.read_bytes()) * 0.95
    # the unhashed copy of a rewritten file gets variants of its own bytes
    assert (
        gzip.decompress((out / "css/app.css.gz").read_bytes()) == (out / "css/app.css").read_bytes()
    )
    # unrewritten files share the variant bytes
    base = files["js/app.js.map"]
    if base["encodings"]:
        assert (out / "js/app.js.map.gz").read_bytes() == (
            out / (base["hashed"] + ".gz")
        ).read_bytes()
    # images and fonts are not compressed; tiny files not kept
    assert not list(out.glob("img/*.gz")) and not list(out.glob("fonts/*.br"))
    assert not (out / "tiny.txt.gz").exists() and files["tiny.txt"]["encodings"] == {}


def test_codec_selection(tmp_path):
    make_site(tmp_path)
    run(tmp_path, codecs=["gzip"])
    out = tmp_path / "out"
    assert list(out.rglob("*.gz")) and not list(out.rglob("*.br")) and not list(out.rglob("*.zst"))
    run(tmp_path, codecs=[])
    assert not list(out.rglob("*.gz")), "variants a build no longer makes would be served stale"


# -- reproducible, incremental, safe --------------------------------------------------


def test_two_builds_are_byte_identical(tmp_path):
    make_site(tmp_path / "one")
    make_site(tmp_path / "two")
    run(tmp_path / "one")
    run(tmp_path / "two", jobs=2)
    assert tree(tmp_path / "one" / "out") == tree(tmp_path / "two" / "out")


def test_second_run_changes_nothing(tmp_path, monkeypatch):
    make_site(tmp_path)
    run(tmp_path)
    out = tmp_path / "out"
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    calls = []
    real = workers.make
    monkeypatch.setattr(workers, "make", lambda task: calls.append(task) or real(task))
    report = run(tmp_path)
    assert report.written == [] and report.removed == []
    assert calls == [], "unchanged inputs are not recompressed"
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == stamps


def test_only_what_changed_is_redone(tmp_path, monkeypatch):
    make_site(tmp_path)
    run(tmp_path)
    write(tmp_path / "src" / "js" / "app.js", b"console.log('changed');\n" * 100)
    calls = []
    real = workers.make
    monkeypatch.setattr(workers, "make", lambda task: calls.extend(task.dests) or real(task))
    report = run(tmp_path)
    assert report.ok
    assert calls and all(path.startswith("js/app.") for path in calls)  # names in the output
    assert "js/app.js" in report.written


def test_an_unchanged_build_takes_its_plan_from_the_record(tmp_path, monkeypatch):
    """Same sources, same settings: nothing is lexed or rewritten again, and the outputs are
    those of the long way. A changed setting, a changed source or a hashed output that no
    longer holds its recorded bytes sends the build the long way again."""
    make_site(tmp_path)
    write(tmp_path / "src" / "js" / "mod.js", b'import "./dep.js";\n' + b"// m\n" * 100)
    write(tmp_path / "src" / "js" / "dep.js", b"export const d = 1;\n" + b"// d\n" * 100)
    assert run(tmp_path).ok
    out = tmp_path / "out"
    first = tree(out)
    assert load(tmp_path)["settings"]  # the fingerprint of what shaped the outputs
    planned = []
    real_plan = pipeline._plan
    monkeypatch.setattr(pipeline, "_plan", lambda *a, **k: planned.append(1) or real_plan(*a, **k))
    report = run(tmp_path)
    assert report.ok and report.written == [] and planned == []
    assert tree(out) == first
    # Another setting: the long way, and the record says so.
    assert run(tmp_path, importmap={"dep": "js/dep.js"}).ok and planned == [1]
    assert run(tmp_path, importmap={"dep": "js/dep.js"}).ok and planned == [1]
    # A hashed output that no longer holds its recorded bytes is not taken for the plan.
    hashed = out / load(tmp_path)["files"]["js/mod.js"]["hashed"]
    hashed.write_bytes(hashed.read_bytes().replace(b"// m", b"// x"))
    assert run(tmp_path, importmap={"dep": "js/dep.js"}).ok and planned == [1, 1]
    # A changed source: the long way.
    write(tmp_path / "src" / "js" / "dep.js", b"export const d = 2;\n")
    assert run(tmp_path, importmap={"dep": "js/dep.js"}).ok and planned == [1, 1, 1]


def test_prune(tmp_path):
    make_site(tmp_path)
    run(tmp_path)
    old = load(tmp_path)["files"]["js/app.js"]["hashed"]
    write(tmp_path / "src" / "js" / "app.js", b"console.log('v2');\n" * 100)
    run(tmp_path)
    middle = load(tmp_path)["files"]["js/app.js"]["hashed"]
    write(tmp_path / "src" / "js" / "app.js", b"console.log('v3');\n" * 100)
    run(tmp_path)
    out = tmp_path / "out"
    assert (out / old).exists(), (
        "without --prune, older hashed files stay for clients still on them"
    )
    assert (out / middle).exists()
    report = run(tmp_path, prune=True)
    assert not (out / middle).exists(), "every earlier generation goes"
    assert not (out / old).exists() and not (out / (old + ".gz")).exists()
    assert old in report.removed
    os.remove(tmp_path / "src" / "tiny.txt")
    run(tmp_path, prune=True)
    assert not (out / "tiny.txt").exists()


def test_dry_run_writes_nothing(tmp_path):
    make_site(tmp_path)
    report = run(tmp_path, dry_run=True)
    assert not (tmp_path / "out").exists()
    assert "css/app.css" in report.written
    run(tmp_path)
    before = tree(tmp_path / "out")
    write(tmp_path / "src" / "tiny.txt", b"changed")
    report = run(tmp_path, dry_run=True, prune=True)
    assert "tiny.txt" in report.written
    assert tree(tmp_path / "out") == before


def test_interrupted_build_leaves_no_partial_file(tmp_path, monkeypatch):
    make_site(tmp_path)
    real = compress.compressor
    count = []

    def flaky(codec):
        inner = real(codec)

        def compressing(data):
            count.append(1)
            if len(count) == 4:
                raise KeyboardInterrupt
            return inner(data)

        return compressing

    monkeypatch.setattr(compress, "compressor", flaky)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path)
    out = tmp_path / "out"
    assert not [p for p in out.rglob("*") if p.name.endswith(".staticmw-tmp")]
    assert not (out / "staticmw.json").exists(), "no manifest for a build that did not finish"
    for variant in out.rglob("*.gz"):
        gzip.decompress(variant.read_bytes())  # every variant present is whole
    monkeypatch.undo()
    # a leftover from a killed build is cleaned up, and the next build completes
    write(out / "css" / ".app.css.x.staticmw-tmp", b"half")
    assert run(tmp_path).ok
    assert not [p for p in out.rglob("*") if p.name.endswith(".staticmw-tmp")]
    fresh = tmp_path / "fresh"
    make_site(fresh)
    run(fresh)
    assert tree(out) == tree(fresh / "out")


def test_bad_inputs(tmp_path):
    with pytest.raises(BuildError, match=r"src' does not exist \(resolved to"):
        run(tmp_path)
    make_site(tmp_path)
    write(tmp_path / "out", b"a file")
    with pytest.raises(BuildError, match=r"out' is a file, not a directory \(resolved to"):
        run(tmp_path)


# -- end to end: build, serve, fetch everything ----------------------------------------


def test_build_then_serve(tmp_path):
    make_site(tmp_path)
    assert run(tmp_path).ok
    out = tmp_path / "out"
    app = StaticMiddleware(fallback_app, out, prefix="/static/")
    files = load(tmp_path)["files"]
    for name, entry in files.items():
        for served_name, immutable in ((name, False), (entry["hashed"], True)):
            body = (out / served_name).read_bytes()
            plain = call(app, "/static/" + served_name)
            assert plain.status == 200 and plain.body == body
            control = plain.headers["cache-control"]
            assert control == (
                "public, max-age=31536000, immutable" if immutable else "public, max-age=60"
            )
            if immutable:
                assert plain.headers["etag"] == '"' + entry["hash"][:32] + '"'
            for codec, decode in (("gzip", gzip.decompress), ("br", brotli.decompress),
                                  ("zstd", zstandard.ZstdDecompressor().decompress)):  # fmt: skip
                variant = call(app, "/static/" + served_name, headers={"Accept-Encoding": codec})
                if (out / (served_name + encodings.WRITTEN_SUFFIX[codec])).exists():
                    assert variant.headers["content-encoding"] == codec
                    assert decode(variant.body) == body
                    assert variant.headers["vary"] == "Accept-Encoding"
                else:
                    assert "content-encoding" not in variant.headers and variant.body == body
    assert app.static_url("css/app.css") == "/static/" + files["css/app.css"]["hashed"]


# -- command line ---------------------------------------------------------------------


def test_cli(tmp_path, capsys):
    make_site(tmp_path)
    status = cli.main(
        ["build", str(tmp_path / "src"), "--out", str(tmp_path / "out"), "--jobs", "1"]
    )
    captured = capsys.readouterr()
    assert status == 0
    assert re.search(r"^files\s+9 ", captured.out, re.M)  # no --exclude: notes.tmp too
    assert re.search(r"^gzip\s+\d+", captured.out, re.M)
    status = cli.main(["build", str(tmp_path / "src"), "--out", str(tmp_path / "out"), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert status == 0 and report["ok"] and report["written"] == [] and report["files"] == 9
    write(tmp_path / "src" / "css" / "broken.css", b"a{background:url(gone.png)}")
    assert (
        cli.main(
            ["build", str(tmp_path / "src"), "--out", str(tmp_path / "out"), "--strict", "--quiet"]
        )
        == 1
    )
    assert "broken.css:1" in capsys.readouterr().err
    assert cli.main(["build", str(tmp_path / "nope"), "--out", str(tmp_path / "o2")]) == 2
    assert (
        cli.main(
            ["build", str(tmp_path / "src"), "--out", str(tmp_path / "o3"), "--codecs", "lzma"]
        )
        == 2
    )
    assert "unknown codec" in capsys.readouterr().err


def test_cli_names_the_missing_extra(tmp_path, capsys, monkeypatch):
    make_site(tmp_path)

    def unavailable(codec):
        raise compress.CodecUnavailable(f"{codec}: pip install 'staticmw[brotli]'")

    monkeypatch.setattr(compress, "compressor", unavailable)
    status = cli.main(
        ["build", str(tmp_path / "src"), "--out", str(tmp_path / "out"), "--codecs", "br"]
    )
    assert status == 2 and "staticmw[brotli]" in capsys.readouterr().err


def test_python_dash_m(tmp_path):
    make_site(tmp_path)
    command = [sys.executable, "-m", "staticmw", "build", str(tmp_path / "src")]
    command += ["--out", str(tmp_path / "out"), "--json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["files"] == 9


def test_progress_bar_only_on_a_terminal():
    import io

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    screen = Terminal()
    bar = cli._Bar(screen)
    for done in range(1, 5):
        bar("compress", done, 4)
    assert "compress  [" in screen.getvalue() and "4/4\n" in screen.getvalue()
    piped = io.StringIO()
    cli._Bar(piped)("compress", 1, 1)
    assert piped.getvalue() == ""


def test_sigint_mid_build(tmp_path):
    import random
    import signal
    import time

    # Random words: slow enough at brotli quality 11 that the signal lands mid-build.
    rng = random.Random(7)
    words = [
        "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 10)))
        for _ in range(5000)
    ]
    src = tmp_path / "src"
    for i in range(40):
        write(src / f"f{i:02d}.css", " ".join(rng.choice(words) for _ in range(60000)))
    command = [sys.executable, "-m", "staticmw", "build", str(src), "--out", str(tmp_path / "out")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # Interrupt once the build is under way (its first output exists), not during start-up.
    out = tmp_path / "out"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(out.glob("*.css")):
        time.sleep(0.05)
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode in (0, 130), err
    out = tmp_path / "out"
    assert not [p for p in out.rglob("*") if p.name.endswith(".staticmw-tmp")]
    for variant in out.rglob("*.gz"):
        gzip.decompress(variant.read_bytes())
    for variant in out.rglob("*.br"):
        brotli.decompress(variant.read_bytes())
    if process.returncode == 130:
        assert b"interrupted" in err
        assert not (out / "staticmw.json").exists()
    # whatever happened, the next build completes
    assert subprocess.run([*command, "--quiet"], timeout=300, check=False).returncode == 0
    assert (out / "staticmw.json").exists()


@pytest.mark.parametrize("protocol", [[], ["--asgi"]], ids=["wsgi", "asgi"])
def test_staticmw_serve(tmp_path, protocol):
    import http.client
    import signal

    site = tmp_path / "site"
    write(site / "index.html", b"<h1>home</h1>")
    write(site / "app.3f2a9c1b9d0e.css", CSS_BODY)
    write(site / "app.3f2a9c1b9d0e.css.gz", gzip.compress(CSS_BODY, 9, mtime=0))
    command = [sys.executable, "-m", "staticmw", "serve", str(site), "--port", "0", *protocol]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)/", line).group(1))

        def get(path, headers=None):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", path, headers=headers or {})
            response = conn.getresponse()
            body = response.read()
            conn.close()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, body

        status, headers, body = get("/")
        assert status == 200 and body == b"<h1>home</h1>"
        status, headers, body = get("/app.3f2a9c1b9d0e.css", {"Accept-Encoding": "gzip"})
        assert headers["content-encoding"] == "gzip" and gzip.decompress(body) == CSS_BODY
        assert headers["cache-control"] == "public, max-age=31536000, immutable"
        _, plain, _ = get("/app.3f2a9c1b9d0e.css")
        status, _, body = get("/app.3f2a9c1b9d0e.css", {"If-None-Match": plain["etag"]})
        assert status == 304 and body == b""
        status, _, body = get("/missing.txt")
        assert status == 404 and body == b"404 Not Found\n"
        status, _, _ = get("/../../etc/passwd")
        assert status == 404
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
    assert process.returncode == 0


def test_staticmw_serve_bad_directory(tmp_path, capsys):
    assert cli.main(["serve", str(tmp_path / "nope"), "--port", "0"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_sources_below_a_sub_path(tmp_path):
    write(tmp_path / "app" / "css" / "a.css", CSS_BODY)
    write(tmp_path / "admin" / "css" / "a.css", CSS_BODY + b"/* admin */")
    config = BuildConfig(
        sources=[f"{tmp_path / 'app'}=static", (str(tmp_path / "admin"), "admin/static/")],
        out=str(tmp_path / "out"),
        jobs=1,
    )
    report = pipeline.build(config)
    assert report.ok and not report.clashes
    names = sorted(json.loads((tmp_path / "out" / "staticmw.json").read_text())["files"])
    assert names == ["admin/static/css/a.css", "static/css/a.css"]
    with pytest.raises(BuildError, match="plain names"):
        pipeline.build(BuildConfig(sources=[f"{tmp_path / 'app'}=../up"], out=str(tmp_path / "o2")))


# -- outputs that cannot work, and what a dry run promises --------------------------


@pytest.mark.parametrize("where", ["same", "inside", "contains"])
def test_output_overlapping_a_source_is_refused(tmp_path, capsys, monkeypatch, where):
    make_site(tmp_path)
    src = tmp_path / "src"
    write(tmp_path / "build" / "staticmw.json", b"{}")  # an unrelated earlier build
    out = {"same": src, "inside": src / "build", "contains": tmp_path}[where]
    monkeypatch.chdir(tmp_path)
    before = tree(tmp_path)
    assert cli.main(["build", str(src), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "choose an output directory outside every source" in err
    assert {"same": " is source", "inside": " is inside source", "contains": " contains source"}[
        where
    ] in err
    assert tree(tmp_path) == before  # nothing written, nothing overwritten


def test_unwritable_output_is_one_line(tmp_path, capsys, monkeypatch):
    make_site(tmp_path)
    write(tmp_path / "a-file", b"x")
    status = cli.main(["build", str(tmp_path / "src"), "--out", str(tmp_path / "a-file" / "out")])
    err = capsys.readouterr().err
    assert status == 1
    assert err.count("\n") == 1 and "cannot create output" in err and "Not a directory" in err

    def denied(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(pipeline.os, "makedirs", denied)
    status = cli.main(["build", str(tmp_path / "src"), "--out", str(tmp_path / "locked")])
    err = capsys.readouterr().err
    assert status == 1 and err.count("\n") == 1 and "Permission denied" in err
    assert "Traceback" not in err


def _listing(report):
    return sorted(report.written), sorted(report.removed), report.unchanged


@pytest.mark.parametrize("prune", [False, True])
def test_dry_run_lists_exactly_what_the_build_then_does(tmp_path, prune):
    make_site(tmp_path)
    run(tmp_path)
    # an edit that renames a cascade, a new file, a removed file, an incompressible file
    write(tmp_path / "src" / "css" / "base.css", b"@import url(fonts.css);\n" + CSS_BODY * 2)
    write(tmp_path / "src" / "js" / "new.js", b"export const fresh = 1;\n" * 100)
    os.unlink(tmp_path / "src" / "tiny.txt")
    write(tmp_path / "src" / "img" / "noise.svg", os.urandom(3000).hex().encode())
    before = tree(tmp_path / "out")
    dry = run(tmp_path, dry_run=True, prune=prune)
    assert tree(tmp_path / "out") == before
    real = run(tmp_path, prune=prune)
    assert real.ok and dry.ok
    assert _listing(dry) == _listing(real)
    assert "css/base.css.gz" in dry.written and "css/base.css.gz" not in dry.removed
    assert "staticmw.json" in dry.written
    # and once built, a dry run promises nothing, as the next build does nothing
    again = _listing(run(tmp_path, dry_run=True, prune=prune))
    assert again[:2] == ([], [])
    assert again == _listing(run(tmp_path, prune=prune))


def test_a_failing_build_writes_nothing(tmp_path):
    make_site(tmp_path)
    write(tmp_path / "src" / "css" / "broken.css", b"a{background:url(gone.png)}" + CSS_BODY)
    report = run(tmp_path, strict=True)
    assert not report.ok
    assert not (tmp_path / "out").exists() or tree(tmp_path / "out") == {}
    run(tmp_path)  # not strict: builds
    before = tree(tmp_path / "out")
    write(tmp_path / "src" / "css" / "broken.css", b"b{background:url(gone2.png)}" + CSS_BODY)
    assert not run(tmp_path, strict=True).ok
    assert tree(tmp_path / "out") == before  # no new hashed file, no variant


def test_an_unreadable_source_is_reported_once(tmp_path):
    make_site(tmp_path)
    os.unlink(tmp_path / "src" / "css" / "base.css")
    os.symlink("nowhere.css", tmp_path / "src" / "css" / "base.css")  # listed, cannot be read
    report = run(tmp_path)
    assert not report.ok
    assert [e for e in report.errors if "cannot read" in e and "base.css" in e]
    assert not [w for w in report.warnings if "not found" in w]


# -- JavaScript modules ----------------------------------------------------------------

MODULE_BODY = b"export const pad = 1;\n" * 50


def test_module_imports_point_to_hashed_names_and_cascade(tmp_path):
    src = tmp_path / "src"
    write(
        src / "js" / "app.js", b'import { b } from "./lib/b.js";\nimport "chart";\n' + MODULE_BODY
    )
    write(src / "js" / "lib" / "b.js", b'export { c as b } from "./c.mjs";\n' + MODULE_BODY)
    write(src / "js" / "lib" / "c.mjs", b"export const c = 1;\n" + MODULE_BODY)
    write(src / "js" / "lazy.js", b'const m = import("./lib/c.mjs"); // import "./gone.js"\n')
    assert run(tmp_path).ok
    files = load(tmp_path)["files"]
    out = tmp_path / "out"
    app = (out / files["js/app.js"]["hashed"]).read_text()
    b_hashed = files["js/lib/b.js"]["hashed"].rpartition("/")[2]
    c_hashed = files["js/lib/c.mjs"]["hashed"].rpartition("/")[2]
    assert f'from "./lib/{b_hashed}"' in app and 'import "chart"' in app  # bare: left alone
    assert f'from "./{c_hashed}"' in (out / files["js/lib/b.js"]["hashed"]).read_text()
    lazy = (out / files["js/lazy.js"]["hashed"]).read_text()
    assert f'import("./lib/{c_hashed}")' in lazy and '// import "./gone.js"' in lazy
    # A change in the deepest module renames every module above it.
    first = {name: files[name]["hashed"] for name in ("js/app.js", "js/lib/b.js", "js/lazy.js")}
    write(src / "js" / "lib" / "c.mjs", b"export const c = 2;\n" + MODULE_BODY)
    assert run(tmp_path).ok
    files = load(tmp_path)["files"]
    for name, old in first.items():
        assert files[name]["hashed"] != old, name


def test_module_import_of_a_missing_file_names_file_and_line(tmp_path):
    write(tmp_path / "src" / "app.js", b"// entry\nimport { x } from './nope.js';\n")
    report = run(tmp_path)
    assert report.ok and any("app.js:2: './nope.js' not found" in w for w in report.warnings)
    strict = run(tmp_path, strict=True)
    assert not strict.ok and any("app.js:2" in e for e in strict.errors)


def test_a_url_naming_a_folder_of_the_build_is_left_as_it_is(tmp_path):
    """``new URL("./fonts/", import.meta.url)`` (how pdf.js is told where its fonts and wasm
    are) names a folder: nothing to hash and nothing missing, even under --strict."""
    module = (
        b'export const fonts = new URL("./fonts/", import.meta.url);\n'
        b'export const wasm = new URL("../wasm", import.meta.url);\n'
        b'export const gone = new URL("./nowhere/", import.meta.url);\n'
    )
    write(tmp_path / "src" / "build" / "pdf.mjs", module)
    write(tmp_path / "src" / "build" / "fonts" / "a.pfb", b"font")
    write(tmp_path / "src" / "wasm" / "deep" / "x.wasm", b"\0asm")
    strict = run(tmp_path, strict=True)
    missing = [e for e in strict.errors if "not found" in e]
    assert missing == [f"{tmp_path / 'src' / 'build' / 'pdf.mjs'}:3: './nowhere/' not found"]
    report = run(tmp_path)
    assert report.ok
    hashed = load(tmp_path)["files"]["build/pdf.mjs"]["hashed"]
    built = (tmp_path / "out" / hashed).read_bytes()
    assert b'new URL("./fonts/", import.meta.url)' in built
    assert b'new URL("../wasm", import.meta.url)' in built


def test_warnings_name_every_file_by_its_source_path(tmp_path):
    """A missing file and an undeclared bare import name the file the same way: the path
    of the source to edit."""
    write(tmp_path / "src" / "js" / "app.js", b'import "./nope.js";\nimport "chart";\n')
    report = run(tmp_path)
    source = tmp_path / "src" / "js" / "app.js"
    assert f"{source}:1: './nope.js' not found" in report.warnings
    bare = [w for w in report.warnings if "bare import 'chart'" in w]
    assert len(bare) == 1 and bare[0].startswith(f"{source}:2: bare import 'chart'")


def test_module_cycles_are_reported_not_followed(tmp_path):
    write(tmp_path / "src" / "a.js", b'import "./b.js";\n' + MODULE_BODY)
    write(tmp_path / "src" / "b.js", b'import "./a.js";\n' + MODULE_BODY)
    report = run(tmp_path)
    assert report.ok and any("references it back" in w for w in report.warnings)


def test_module_relative_asset_urls_point_to_hashed_names_and_cascade(tmp_path):
    """``new URL("./x", import.meta.url)`` names a file next to the module, as an import does."""
    src = tmp_path / "src"
    write(
        src / "js" / "app.js",
        b'const icon = new URL("../img/icon.png?v=1", import.meta.url);\n'
        b"const worker = new Worker(new URL('./work.js', import.meta.url), { type: 'module' });\n"
        b'const other = new URL("../img/icon.png", location.href);\n' + MODULE_BODY,
    )
    write(src / "js" / "work.js", MODULE_BODY)
    write(src / "img" / "icon.png", b"\x89PNG\r\n" + bytes(200))
    assert run(tmp_path).ok
    files = load(tmp_path)["files"]
    app = (tmp_path / "out" / files["js/app.js"]["hashed"]).read_text()
    icon = files["img/icon.png"]["hashed"].rpartition("/")[2]
    work = files["js/work.js"]["hashed"].rpartition("/")[2]
    assert f'new URL("../img/{icon}?v=1", import.meta.url)' in app
    assert f"new URL('./{work}', import.meta.url)" in app
    assert 'new URL("../img/icon.png", location.href)' in app  # not relative to the module
    before = files["js/app.js"]["hashed"]
    write(src / "img" / "icon.png", b"\x89PNG\r\n" + bytes(201))
    assert run(tmp_path).ok
    assert load(tmp_path)["files"]["js/app.js"]["hashed"] != before


def test_a_module_source_map_still_lines_up_after_the_rewrite(tmp_path):
    """Rewriting never adds or removes a line, and only the specifiers change on theirs, so a
    map's lines still match; the map comment points at the hashed map."""
    src = tmp_path / "src"
    source = (
        b'import { b } from "./b.js";\n'
        b"export const a = b + 1; // import './not.js'\n"
        b'const u = new URL("./b.js", import.meta.url);\n'
        b"//# sourceMappingURL=a.js.map\n"
    )
    write(src / "a.js", source)
    write(src / "b.js", MODULE_BODY)
    write(src / "a.js.map", b'{"version":3,"sources":["a.ts"],"mappings":"AAAA;AACA;AACA"}')
    assert run(tmp_path).ok
    files = load(tmp_path)["files"]
    out = tmp_path / "out"
    rewritten = (out / files["a.js"]["hashed"]).read_bytes().split(b"\n")
    original = source.split(b"\n")
    assert len(rewritten) == len(original)
    b_hashed = files["b.js"]["hashed"].encode()
    map_hashed = files["a.js.map"]["hashed"].encode()
    assert rewritten[0] == original[0].replace(b"./b.js", b"./" + b_hashed)
    assert rewritten[1] == original[1]
    assert rewritten[2] == original[2].replace(b"./b.js", b"./" + b_hashed)
    assert rewritten[3] == b"//# sourceMappingURL=" + map_hashed
    assert (out / files["a.js.map"]["hashed"]).read_bytes() == (src / "a.js.map").read_bytes()


# -- compression dictionaries (--dictionaries) --------------------------------------------


def module_version(number: int) -> bytes:
    lines = [f"export function f{i}(x) {{ return x * {i % 97} + {i}; }}" for i in range(1500)]
    lines[700] = f"export const VERSION = {number};"
    return ("\n".join(lines) + "\n").encode()


def deploy(tmp_path, number: int, **options):
    write(tmp_path / "src" / "js" / "app.js", module_version(number))
    rules = [
        f".c{i} {{ margin: {i % 13}px {i % 7}em; color: #{i * 2654435761 % 0xFFFFFF:06x}; }}"
        for i in range(1500)
    ]
    rules[800] = f".version::after {{ content: '{number}'; }}"
    write(tmp_path / "src" / "css" / "site.css", "\n".join(rules))
    write(tmp_path / "src" / "img" / "logo.png", b"\x89PNG\r\n" + bytes(300 + number))
    options.setdefault("dictionaries", 2)
    report = run(tmp_path, **options)
    assert report.ok, report.errors
    return report


def test_dictionaries_keep_the_last_versions_and_write_deltas_against_them(tmp_path):
    hashed = []
    for number in range(1, 5):
        deploy(tmp_path, number)
        hashed.append(load(tmp_path)["files"]["js/app.js"]["hashed"])
    out = tmp_path / "out"
    entry = load(tmp_path)["files"]["js/app.js"]
    assert entry["dictionary"] is True
    assert entry["versions"] == [hashed[2], hashed[1]]  # the last two, newest first
    assert len(entry["deltas"]) == 2
    new = (out / hashed[3]).read_bytes()
    for version in entry["versions"]:
        old = (out / version).read_bytes()
        delta = entry["deltas"][hashlib.sha256(old).hexdigest()]
        body = (out / delta["file"]).read_bytes()
        assert len(body) == delta["size"] < entry["encodings"]["br"] // 20
        assert deltas.undo(old, body) == new
    assert len(load(tmp_path)["files"]["css/site.css"]["deltas"]) == 2
    image = load(tmp_path)["files"]["img/logo.png"]
    assert not {"dictionary", "versions", "deltas"} & set(image)
    # Rebuilding unchanged writes nothing, and keeps the versions and deltas.
    again = deploy(tmp_path, 4)
    assert again.written == [] and load(tmp_path)["files"]["js/app.js"] == entry


def test_prune_keeps_what_the_last_versions_need_and_nothing_more(tmp_path):
    for number in range(1, 5):
        deploy(tmp_path, number)
    out = tmp_path / "out"
    before = set(tree(out))
    module = re.compile(r"js/app\.(?:[0-9a-f]{12}\.)?js")
    assert len([n for n in before if module.fullmatch(n)]) == 5  # four versions, plain name
    report = deploy(tmp_path, 4, prune=True)
    after = set(tree(out))
    entry = load(tmp_path)["files"]["js/app.js"]
    kept_modules = {n for n in after if module.fullmatch(n)}
    assert kept_modules == {"js/app.js", entry["hashed"], *entry["versions"]}
    kept_deltas = {n for n in after if n.endswith(".dcz")}
    assert kept_deltas == {
        d["file"] for e in load(tmp_path)["files"].values() for d in e.get("deltas", {}).values()
    }
    # The oldest version, its variants and deltas made for earlier builds went.
    assert report.removed and all(name not in after for name in report.removed)
    # The versions kept keep their variants: a page still on one gets it compressed.
    for version in entry["versions"]:
        assert {version + ".gz", version + ".br"} <= after, version
        assert not {version + ".gz", version + ".br"} & set(report.removed)


def test_without_dictionaries_nothing_changes(tmp_path):
    deploy(tmp_path, 1, dictionaries=0)
    deploy(tmp_path, 2, dictionaries=0)
    entry = load(tmp_path)["files"]["js/app.js"]
    assert not {"dictionary", "versions", "deltas"} & set(entry)
    assert not list((tmp_path / "out").rglob("*.dcz"))


def test_turning_dictionaries_on_uses_the_version_already_there(tmp_path):
    deploy(tmp_path, 1, dictionaries=0)
    deploy(tmp_path, 2)
    entry = load(tmp_path)["files"]["js/app.js"]
    assert len(entry["versions"]) == 1 and len(entry["deltas"]) == 1


def test_a_dry_run_makes_deltas_in_memory_and_writes_none(tmp_path):
    deploy(tmp_path, 1)
    write(tmp_path / "src" / "js" / "app.js", module_version(2))
    report = run(tmp_path, dictionaries=2, dry_run=True)
    assert report.ok and any(name.endswith(".dcz") for name in report.written)
    assert not list((tmp_path / "out").rglob("*.dcz"))


def test_a_delta_no_smaller_than_brotli_is_not_kept(tmp_path):
    write(tmp_path / "src" / "js" / "noise.js", os.urandom(20000).hex())
    run(tmp_path, dictionaries=2)
    write(tmp_path / "src" / "js" / "noise.js", os.urandom(20000).hex())  # all new
    report = run(tmp_path, dictionaries=2)
    entry = load(tmp_path)["files"]["js/noise.js"]
    assert report.ok and entry["versions"] and entry["deltas"] == {}
    assert not list((tmp_path / "out").rglob("*.dcz"))
    assert not [name for name in report.written if name.endswith(".dcz")]


def test_the_command_line_option(tmp_path, capsys):
    write(tmp_path / "src" / "js" / "app.js", module_version(1))
    argv = ["build", str(tmp_path / "src"), "--out", str(tmp_path / "out"), "--quiet"]
    with pytest.raises(SystemExit) as refused:  # as --jobs 0 is: the one option table
        cli.main([*argv, "--dictionaries", "-1"])
    assert refused.value.code == 2
    assert "argument --dictionaries: -1 is too small: use 0 or more" in capsys.readouterr().err
    assert cli.main([*argv, "--dictionaries", "3"]) == 0
    write(tmp_path / "src" / "js" / "app.js", module_version(2))
    assert cli.main([*argv, "--dictionaries", "3"]) == 0
    assert len(load(tmp_path)["files"]["js/app.js"]["deltas"]) == 1


def test_dictionaries_without_zstandard_is_a_clear_error(tmp_path, monkeypatch, capsys):
    write(tmp_path / "src" / "js" / "app.js", module_version(1))
    monkeypatch.setitem(sys.modules, "zstandard", None)
    argv = ["build", str(tmp_path / "src"), "--out", str(tmp_path / "out"), "--codecs", "gzip"]
    assert cli.main([*argv, "--dictionaries", "1"]) == 2
    assert "pip install 'staticmw[zstd]'" in capsys.readouterr().err
    assert not (tmp_path / "out" / "staticmw.json").exists()


# -- build inputs: the serving rules, applied before anything is written ---------------------


def test_symlinks_out_of_the_source_are_skipped_and_reported_once(tmp_path):
    make_site(tmp_path)
    write(tmp_path / "outside" / "secret.txt", b"TOP SECRET\n")
    write(tmp_path / "outside" / "dir" / "x.txt", b"OUTSIDE DIR\n")
    src = tmp_path / "src"
    os.symlink(tmp_path / "outside" / "secret.txt", src / "leak.txt")
    os.symlink(tmp_path / "outside" / "dir", src / "linked-dir")
    os.symlink("css/app.css", src / "alias.css")  # stays inside the source: built
    report = run(tmp_path)
    assert report.ok
    built = tree(tmp_path / "out")
    assert not [name for name, data in built.items() if b"TOP SECRET" in data]
    assert not [name for name, data in built.items() if b"OUTSIDE DIR" in data]
    assert "alias.css" in load(tmp_path)["files"]
    assert len([w for w in report.warnings if "leak.txt" in w]) == 1
    assert len([w for w in report.warnings if "linked-dir" in w]) == 1
    # Asked for, links are followed anywhere.
    followed = run(tmp_path, follow_symlinks=True)
    assert followed.ok and "leak.txt" in load(tmp_path)["files"]
    assert "linked-dir/x.txt" in load(tmp_path)["files"]


def test_a_symlink_loop_is_walked_once_when_links_are_followed(tmp_path):
    make_site(tmp_path)
    os.symlink("..", tmp_path / "src" / "css" / "up")
    report = run(tmp_path, follow_symlinks=True)
    assert report.ok
    assert not [name for name in load(tmp_path)["files"] if "/up/" in name]


@pytest.mark.parametrize(
    "name",
    ["a:b.css", "x?.js", "pipe|.txt", "ctl\x01.txt", "dot.", "space ", "con.txt", 'q".txt'],
)
def test_names_the_server_would_refuse_are_not_built(tmp_path, name):
    make_site(tmp_path)
    write(tmp_path / "src" / name, b"x{}\n")
    report = run(tmp_path)
    assert report.ok
    assert name not in load(tmp_path)["files"]
    assert [w for w in report.warnings if "server refuses" in w and repr(name)[1:-1] in repr(w)]
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(name[:2])]
    strict = run(tmp_path, strict=True)
    assert not strict.ok and [e for e in strict.errors if "server refuses" in e]


def test_a_name_too_long_once_hashed_is_not_built(tmp_path):
    make_site(tmp_path)
    long_name = "n" * 240 + ".js"  # fits the file system; its hashed delta name would not
    write(tmp_path / "src" / long_name, b"export const n = 1;\n")
    report = run(tmp_path)
    assert report.ok and long_name not in load(tmp_path)["files"]
    assert [w for w in report.warnings if "too long once hashed" in w]


# -- deploys: what a page still open may ask for ------------------------------------


def _two_versions(tmp_path, **options):
    """Build a stylesheet twice, changed between; the two hashed names."""
    hashed = []
    for number in (1, 2):
        write(tmp_path / "src" / "app.css", f"body {{ margin: {number}px; }}\n" * 80)
        report = run(tmp_path, **options)
        assert report.ok, report.errors
        hashed.append(load(tmp_path)["files"]["app.css"]["hashed"])
    return hashed


def test_an_earlier_version_kept_is_served_as_it_was(tmp_path):
    """Its content-hash ETag survives the next build: an mtime ETag would differ between
    the machines behind one CDN."""
    write(tmp_path / "src" / "app.css", "body { margin: 1px; }\n" * 80)
    assert run(tmp_path).ok
    first = load(tmp_path)["files"]["app.css"]["hashed"]
    app = StaticMiddleware(fallback_app, tmp_path / "out", "/static/")
    etag = call(app, "/static/" + first).headers["etag"]
    old, new = _two_versions(tmp_path)
    assert old == first and new != old
    assert first in load(tmp_path)["retained"]
    again = StaticMiddleware(fallback_app, tmp_path / "out", "/static/")
    result = call(again, "/static/" + first)
    assert result.status == 200 and result.headers["etag"] == etag
    assert "immutable" in result.headers["cache-control"]


def test_a_removal_that_fails_is_not_reported_as_done(tmp_path, monkeypatch):
    old, _ = _two_versions(tmp_path)
    real_unlink = os.unlink

    def unlink(path, *args, **kwargs):
        if str(path).endswith(old):
            raise PermissionError(13, "Permission denied", str(path))
        real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(pipeline.os, "unlink", unlink)
    write(tmp_path / "src" / "app.css", "body { margin: 3px; }\n" * 80)
    report = run(tmp_path, prune=True)
    assert old not in report.removed
    assert any(old in warning and "cannot remove" in warning for warning in report.warnings)
    assert (tmp_path / "out" / old).exists()
    # Still recorded, so a later --prune removes it.
    assert old in load(tmp_path)["retained"]
    monkeypatch.setattr(pipeline.os, "unlink", real_unlink)
    assert old in run(tmp_path, prune=True).removed
    assert not (tmp_path / "out" / old).exists()


def test_a_build_killed_while_pruning_leaves_every_listed_name_servable(tmp_path, monkeypatch):
    """The new manifest is written before anything of an earlier build is removed."""
    old, new = _two_versions(tmp_path)

    real_remove = pipeline._remove

    def killed(run, keys):
        if keys:
            raise SystemExit("killed")
        return real_remove(run, keys)

    monkeypatch.setattr(pipeline, "_remove", killed)
    write(tmp_path / "src" / "app.css", "body { margin: 3px; }\n" * 80)
    with pytest.raises(SystemExit):
        run(tmp_path, prune=True)
    listed = load(tmp_path)
    newest = listed["files"]["app.css"]["hashed"]
    assert newest not in (old, new)
    app = StaticMiddleware(fallback_app, tmp_path / "out", "/static/")
    assert call(app, "/static/" + newest).status == 200
    # What the killed build was about to remove is on record for the next one.
    assert {old, new} <= set(listed["retained"])


def _release(tmp_path, number: int, out: str = "out", **options):
    """Build release *number* of a stylesheet and a module into *out*; the manifest."""
    write(tmp_path / "src" / "app.css", f"body {{ margin: {number}px; }}\n" * 80)
    write(tmp_path / "src" / "app.js", module_version(number))
    config = BuildConfig(
        sources=[str(tmp_path / "src")], out=str(tmp_path / out), jobs=1, **options
    )
    report = pipeline.build(config)
    assert report.ok, report.errors
    return json.loads((tmp_path / out / "staticmw.json").read_text())


def test_prune_keeps_what_the_last_builds_made(tmp_path):
    releases = [_release(tmp_path, n, prune=True, keep=2) for n in range(1, 5)]
    out = tmp_path / "out"
    hashed = [r["files"]["app.css"]["hashed"] for r in releases]
    assert [r["build"] for r in releases] == [1, 2, 3, 4]
    assert not (out / hashed[0]).exists()  # made by build 1, used by none since
    for name in hashed[1:]:
        assert (out / name).exists() and (out / (name + ".gz")).exists()
    # Each kept output is on record with the last build that made it, so pruning is exact.
    assert releases[-1]["kept"][hashed[1]] == 2 and releases[-1]["kept"][hashed[2]] == 3
    # Rebuilding the same release is not a new build: nothing more goes.
    again = _release(tmp_path, 4, prune=True, keep=2)
    assert again == releases[-1] and (out / hashed[1]).exists()


def test_a_fresh_output_gets_earlier_builds_back_from_the_history(tmp_path):
    history = str(tmp_path / "cache")
    first = _release(tmp_path, 1, "deploy1", history=history, dictionaries=1)
    old = first["files"]["app.js"]["hashed"]
    app = StaticMiddleware(fallback_app, tmp_path / "deploy1", "/static/")
    etag = call(app, "/static/" + old).headers["etag"]
    # The next deploy builds into an empty directory, with the same history.
    second = _release(tmp_path, 2, "deploy2", history=history, dictionaries=1, prune=True, keep=1)
    out = tmp_path / "deploy2"
    app = StaticMiddleware(fallback_app, out, "/static/")
    result = call(app, "/static/" + old)
    assert result.status == 200 and result.headers["etag"] == etag
    # --dictionaries had its earlier version, so a page on it gets a delta.
    entry = second["files"]["app.js"]
    assert entry["versions"] == [old] and len(entry["deltas"]) == 1
    # Keeping one build back: build 2 used the first release as its dictionary, so
    # build 3 keeps it; build 4 lets it go, here and in the history.
    third = _release(tmp_path, 3, "deploy3", history=history, prune=True, keep=1)
    assert (tmp_path / "deploy3" / old).exists()
    fourth = _release(tmp_path, 4, "deploy4", history=history, prune=True, keep=1)
    for gone in (old, first["files"]["app.css"]["hashed"], second["files"]["app.css"]["hashed"]):
        assert not (tmp_path / "deploy4" / gone).exists()
        assert not (tmp_path / "cache" / gone).exists()
    for kept in (third["files"]["app.css"]["hashed"], fourth["files"]["app.css"]["hashed"]):
        assert (tmp_path / "deploy4" / kept).exists()
        assert (tmp_path / "cache" / kept).exists()


def test_restoring_from_the_history_is_a_summary_line_not_a_warning(tmp_path, capsys):
    """Bringing earlier outputs back is the expected path of every deploy: counted in the
    report and the summary, silent under --quiet, never a warning."""
    history = str(tmp_path / "cache")
    _release(tmp_path, 1, "deploy1", history=history)
    write(tmp_path / "src" / "app.css", "body { margin: 2px; }\n" * 80)
    args = ["build", str(tmp_path / "src"), "--out", str(tmp_path / "deploy2")]
    assert cli.main([*args, "--history", history]) == 0
    out, err = capsys.readouterr()
    restored = re.search(r"^history   (\d+) earlier outputs restored$", out, re.MULTILINE)
    assert "warning" not in err and restored and int(restored.group(1)) > 0, (out, err)
    assert cli.main([*args[:-1], str(tmp_path / "deploy3"), "--history", history, "-q"]) == 0
    assert capsys.readouterr() == ("", "")
    assert cli.main([*args[:-1], str(tmp_path / "deploy4"), "--history", history, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["restored"] > 0


def test_keep_without_prune_says_it_keeps_everything(tmp_path, capsys):
    write(tmp_path / "src" / "app.css", "body {}\n")
    args = ["build", str(tmp_path / "src"), "--out", str(tmp_path / "out"), "--keep", "2"]
    assert cli.main(args) == 0
    assert capsys.readouterr().err == (
        "warning: keep=2 has no effect without prune: nothing is removed, so every earlier "
        "output stays (add --prune to remove what is older)\n"
    )
    assert cli.main([*args, "--prune"]) == 0
    assert "warning" not in capsys.readouterr().err


@pytest.mark.parametrize("where", ["out", "out/cache"])
def test_a_history_that_overlaps_the_output_is_refused(tmp_path, where):
    write(tmp_path / "src" / "app.css", "body {}")
    config = BuildConfig(
        sources=[str(tmp_path / "src")], out=str(tmp_path / "out"), history=str(tmp_path / where)
    )
    with pytest.raises(BuildError, match=r"history .* overlaps output"):
        pipeline.build(config)


def test_the_history_restores_only_what_its_record_vouches_for(tmp_path):
    """A file planted in the history, a listed name that is a hard link to a file outside,
    a variant of other bytes, a name that would lead out: none comes back. What is right
    comes back, linked when it has one name, copied when it has more."""
    history = tmp_path / "cache"
    first = _release(tmp_path, 1, "deploy1", history=str(history), dictionaries=1)
    second = _release(tmp_path, 2, "deploy2", history=str(history), dictionaries=1)
    css = second["files"]["app.css"]["hashed"]
    js = second["files"]["app.js"]["hashed"]
    old_js = first["files"]["app.js"]["hashed"]
    delta = next(iter(second["files"]["app.js"]["deltas"].values()))["file"]
    shutil.rmtree(tmp_path / "deploy1")
    shutil.rmtree(tmp_path / "deploy2")
    (history / "evil.html").write_text("<script>alert(1)</script>")
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET_KEY=hunter2\n")
    (history / (css + ".gz")).unlink()
    os.link(secret, history / (css + ".gz"))  # a listed name, linked to a file outside
    (history / (js + ".br")).unlink(missing_ok=True)
    (history / (js + ".gz")).write_bytes(gzip.compress(b"export const other = 1;\n"))
    shutil.copy(history / old_js, tmp_path / "outside-copy")
    os.link(history / old_js, tmp_path / "second-name")  # right bytes, but two names
    record = json.loads((history / "staticmw.json").read_text())
    record["earlier"].append({"name": "x.css", "hashed": "../escape.css", "hash": "00", "size": 1})
    (history / "staticmw.json").write_text(json.dumps(record))
    third = _release(tmp_path, 2, "deploy3", history=str(history), dictionaries=1)
    out = tmp_path / "deploy3"
    assert not (out / "evil.html").exists() and not (tmp_path / "escape.css").exists()
    assert b"SECRET" not in (out / (css + ".gz")).read_bytes()  # made again by the build
    assert gzip.decompress((out / (js + ".gz")).read_bytes()) == (out / js).read_bytes()
    # The right old version came back as a copy of its own, not a name of the outside file.
    assert (out / old_js).read_bytes() == (tmp_path / "outside-copy").read_bytes()
    assert os.stat(out / old_js).st_ino != os.stat(tmp_path / "second-name").st_ino
    assert (out / delta).exists() and third["files"]["app.js"]["versions"] == [old_js]
    app = StaticMiddleware(fallback_app, out, "/static/")
    assert call(app, "/static/evil.html").passed_through
    assert call(app, "/static/" + old_js).status == 200


def test_a_history_whose_record_has_the_wrong_shape_stops_the_build(tmp_path):
    history = tmp_path / "cache"
    _release(tmp_path, 1, "deploy1", history=str(history))
    (history / "staticmw.json").write_text('{"version": 1, "files": {"a": {"hashed": [1]}}}')
    write(tmp_path / "src" / "app.css", "body {}")
    config = BuildConfig(
        sources=[str(tmp_path / "src")], out=str(tmp_path / "deploy2"), history=str(history)
    )
    with pytest.raises(BuildError, match=r"cache.staticmw\.json.*remove it"):
        pipeline.build(config)


def test_an_unchanged_build_into_a_fresh_output_compresses_nothing(tmp_path, monkeypatch):
    """The history carries the import map and the variants of rewritten files' plain names,
    each vouched for by the record: a deploy with nothing changed, built into an empty
    directory, lexes and compresses nothing and ends with the very same files. A planted
    import map is refused, and the build then makes it again."""
    src = tmp_path / "src"
    write(src / "css" / "app.css", b'@import "base.css";\n' + CSS_BODY)
    write(src / "css" / "base.css", CSS_BODY)
    write(src / "js" / "app.js", b'import { b } from "./b.js";\n' + b"// pad\n" * 200)
    write(src / "js" / "b.js", b"export const b = 1;\n" + b"// pad\n" * 200)
    history = str(tmp_path / "cache")

    def build_into(out):
        config = BuildConfig(sources=[str(src)], out=str(tmp_path / out), history=history, jobs=1)
        return pipeline.build(config)

    assert build_into("deploy1").ok
    first = tree(tmp_path / "deploy1")
    assert "importmap.json" in first and "css/app.css.br" in first
    made, planned = [], []
    real_make, real_plan = workers.make, pipeline._plan
    monkeypatch.setattr(workers, "make", lambda task: made.append(task) or real_make(task))
    monkeypatch.setattr(pipeline, "_plan", lambda *a, **k: planned.append(1) or real_plan(*a, **k))
    assert build_into("deploy2").ok
    assert made == [] and planned == []
    assert tree(tmp_path / "deploy2") == first
    # An import map planted in the history does not come back; the long way makes it.
    (tmp_path / "cache" / "importmap.json").write_text('{"version": 1, "bare": {}, "modules": {}}')
    assert build_into("deploy3").ok
    assert planned == [1]
    assert tree(tmp_path / "deploy3") == first


def test_variants_a_killed_build_left_beside_the_plain_name_are_not_kept(tmp_path):
    """A build of version 2 killed after writing the plain name and a variant leaves the
    record of version 1: building version 1 again must not keep that variant."""
    src = tmp_path / "src"
    v1 = b'@import "b.css";\n' + CSS_BODY
    write(src / "css" / "app.css", v1)
    write(src / "css" / "b.css", CSS_BODY)
    config = BuildConfig(sources=[str(src)], out=str(tmp_path / "out"), codecs=["gzip"], jobs=1)
    assert pipeline.build(config).ok
    out = tmp_path / "out" / "css"
    v2 = v1.replace(b"#333", b"#444")
    (out / "app.css").write_bytes(v2)  # what the killed build got to write
    (out / "app.css.gz").write_bytes(gzip.compress(v2))
    assert pipeline.build(config).ok
    assert (out / "app.css").read_bytes() == v1
    assert gzip.decompress((out / "app.css.gz").read_bytes()) == v1


def test_in_place_variants_older_than_the_collected_copy_are_not_kept(tmp_path):
    """In place (collectstatic), a variant written before the plain name was copied in again
    may be of other bytes: it is made again; one written after is kept."""
    out = tmp_path / "out"
    v1 = b'@import "b.css";\n' + CSS_BODY
    write(out / "css" / "app.css", v1)
    write(out / "css" / "b.css", CSS_BODY)
    collected = {name: str(out / name) for name in ("css/app.css", "css/b.css")}
    config = BuildConfig(
        sources=[str(out)], out=str(out), collected=collected, codecs=["gzip"], jobs=1
    )
    assert pipeline.build(config).ok
    variant = out / "css" / "app.css.gz"
    kept = variant.stat().st_ino
    assert pipeline.build(config).ok and variant.stat().st_ino == kept  # written after: kept
    variant.write_bytes(gzip.compress(v1.replace(b"#333", b"#444")))
    os.utime(variant, ns=(1, 1))  # older than the copy collectstatic made
    assert pipeline.build(config).ok
    assert gzip.decompress(variant.read_bytes()) == v1
