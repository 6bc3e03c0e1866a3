from __future__ import annotations

import contextlib
import json
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from staticmw import (
    ConfigurationError,
    Manifest,
    ManifestError,
    NotInManifest,
    StaticMiddleware,
    StaticURLs,
)
from staticmw.build.atomic import atomic_write
from staticmw.manifest.formats import dump_django, dump_ours, parse

from ..conftest import OLD
from ..helpers import call, fallback_app, write

IMMUTABLE = "public, max-age=31536000, immutable"


def test_parse_ours():
    data = json.loads(
        dump_ours(
            {
                "css/app.css": {
                    "hashed": "css/app.abc.css",
                    "hash": "ab" * 32,
                    "size": 5,
                    "encodings": {"br": 3},
                }
            }
        )
    )
    manifest = parse(data)
    assert manifest.format == "staticmw"
    assert manifest.lookup("/css/app.css") == "css/app.abc.css"
    entry = manifest.entry("css/app.abc.css")
    assert entry.content_hash == "ab" * 32 and entry.size == 5 and entry.encodings == {"br": 3}
    assert manifest.entry("css/app.css") is None


def test_parse_django():
    data = json.loads(dump_django({"css/app.css": "css/app.0123456789ab.css"}))
    assert data["version"] == "1.1" and len(data["hash"]) == 12
    manifest = parse(data)
    assert manifest.format == "django"
    assert manifest.lookup("css/app.css") == "css/app.0123456789ab.css"
    assert manifest.entry("css/app.0123456789ab.css") is not None


def test_parse_vite():
    manifest = parse(
        {
            "src/main.js": {
                "file": "assets/main-BkG8lq0x.js",
                "css": ["assets/main-C3x2.css"],
                "isEntry": True,
            },
            "logo.svg": {"file": "assets/logo-Dq1w.svg", "assets": ["assets/font-9x.woff2"]},
        }
    )
    assert manifest.format == "vite"
    assert manifest.lookup("src/main.js") == "assets/main-BkG8lq0x.js"
    for name in ("assets/main-BkG8lq0x.js", "assets/main-C3x2.css", "assets/font-9x.woff2"):
        assert manifest.entry(name) is not None


def test_parse_webpack():
    manifest = parse(
        {
            "main.js": "/static/main.1a2b3c.js",
            "img.png": "https://cdn.x/static/img.9f9f.png",
            "x.css": "x.55.css",
        },
        public_prefix="/static/",
    )
    assert manifest.format == "webpack"
    assert manifest.lookup("main.js") == "main.1a2b3c.js"
    assert manifest.lookup("img.png") == "img.9f9f.png"
    assert manifest.lookup("x.css") == "x.55.css"


@pytest.mark.parametrize("data", [[], {"paths": {"a": 5}}, {"a": {"no-file": 1}}, {"a": 1}, "x"])
def test_parse_rejects_unknown_shapes(data):
    with pytest.raises(ManifestError):
        parse(data)


def test_load_errors_name_the_file(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ManifestError, match=r"bad\.json"):
        Manifest.load(tmp_path / "bad.json")
    with pytest.raises(ManifestError, match=r"missing\.json"):
        Manifest.load(tmp_path / "missing.json")


def test_atomic_write_skips_identical_content(tmp_path):
    target = tmp_path / "m.json"
    assert atomic_write(str(target), b"one")
    assert not atomic_write(str(target), b"one")
    assert atomic_write(str(target), b"two") and target.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]


# -- the middleware reading manifests -----------------------------------------------


@pytest.fixture
def built(tmp_path):
    root = tmp_path / "out"
    write(root / "css" / "app.css", b"body{}" * 10, OLD)
    write(root / "css" / "app.1234567890ab.css", b"body{}" * 10, OLD)
    write(root / "css" / "app.1234567890ab.css.gz", b"G" * 20, OLD)
    write(root / "LICENSE.aaaaaaaaaaaa", b"MIT", OLD)
    entries = {
        "css/app.css": {
            "hashed": "css/app.1234567890ab.css",
            "hash": "c0ffee" * 10,
            "size": 60,
            "encodings": {"gzip": 20},
        },
        "LICENSE": {
            "hashed": "LICENSE.aaaaaaaaaaaa",
            "hash": "1ce" * 20,
            "size": 999,
            "encodings": {},
        },
    }
    write(root / "staticmw.json", dump_ours(entries), OLD)
    return root


def test_hashed_names_from_manifest(built):
    app = StaticMiddleware(fallback_app, built, prefix="/static/")
    identity = call(app, "/static/css/app.1234567890ab.css")
    assert identity.headers["cache-control"] == IMMUTABLE
    assert identity.headers["etag"] == '"' + ("c0ffee" * 10)[:32] + '"'
    gzipped = call(app, "/static/css/app.1234567890ab.css", headers={"Accept-Encoding": "gzip"})
    assert gzipped.headers["etag"] == '"' + ("c0ffee" * 10)[:32] + '-gzip"'
    # the manifest's size disagrees with the disk: no content-hash ETag, still immutable
    license_ = call(app, "/static/LICENSE.aaaaaaaaaaaa")
    assert license_.headers["cache-control"] == IMMUTABLE
    assert "1ce1ce" not in license_.headers["etag"]
    # the logical name keeps short caching and a stat ETag
    plain = call(app, "/static/css/app.css")
    assert plain.headers["cache-control"] == "public, max-age=60"
    # the manifest itself is not served
    assert call(app, "/static/staticmw.json").passed_through


def test_manifest_option(built, tmp_path):
    (built / "staticmw.json").rename(built / "assets.json")
    auto = StaticMiddleware(fallback_app, built, prefix="/static/")
    assert (
        call(auto, "/static/LICENSE.aaaaaaaaaaaa").headers["cache-control"] == "public, max-age=60"
    )
    explicit = StaticMiddleware(fallback_app, built, prefix="/static/", manifest="assets.json")
    assert call(explicit, "/static/LICENSE.aaaaaaaaaaaa").headers["cache-control"] == IMMUTABLE
    assert call(explicit, "/static/assets.json").passed_through
    (built / "assets.json").rename(built / "staticmw.json")
    off = StaticMiddleware(fallback_app, built, prefix="/static/", manifest=False)
    assert (
        call(off, "/static/LICENSE.aaaaaaaaaaaa").headers["cache-control"] == "public, max-age=60"
    )


def test_vite_and_django_manifests_are_detected(tmp_path):
    vite = tmp_path / "dist"
    write(vite / "assets" / "main-BkG8lq0x.js", b"js", OLD)
    write(
        vite / ".vite" / "manifest.json",
        json.dumps({"main.js": {"file": "assets/main-BkG8lq0x.js"}}),
        OLD,
    )
    app = StaticMiddleware(fallback_app, vite, prefix="/")
    assert call(app, "/assets/main-BkG8lq0x.js").headers["cache-control"] == IMMUTABLE
    assert app.static_url("main.js") == "/assets/main-BkG8lq0x.js"
    django = tmp_path / "collected"
    write(django / "admin" / "base.css", b"x", OLD)
    write(django / "admin" / "base.Z9.css", b"x", OLD)
    write(django / "staticfiles.json", dump_django({"admin/base.css": "admin/base.Z9.css"}), OLD)
    app = StaticMiddleware(fallback_app, django, prefix="/static/")
    assert call(app, "/static/admin/base.Z9.css").headers["cache-control"] == IMMUTABLE
    assert app.static_url("admin/base.css") == "/static/admin/base.Z9.css"


def test_webpack_manifest_by_option(tmp_path):
    root = tmp_path / "public"
    write(root / "main.77.js", b"js", OLD)
    write(root / "manifest.json", json.dumps({"main.js": "/static/main.77.js"}), OLD)
    app = StaticMiddleware(fallback_app, root, prefix="/static/", manifest="manifest.json")
    assert call(app, "/static/main.77.js").headers["cache-control"] == IMMUTABLE
    assert app.static_url("main.js") == "/static/main.77.js"


def test_bad_manifests_fail_at_construction(built, caplog):
    with caplog.at_level(logging.WARNING, logger="staticmw"):
        StaticMiddleware(fallback_app, built, manifest="nope.json")  # a first build to come
    assert "nope.json is not there yet" in caplog.text
    with pytest.raises(ConfigurationError, match="not a file"):
        StaticMiddleware(fallback_app, built, manifest="css")
    (built / "staticmw.json").write_text("[1, 2]")
    with pytest.raises(ConfigurationError, match=r"staticmw\.json"):
        StaticMiddleware(fallback_app, built)
    with pytest.raises(ConfigurationError, match="manifest"):
        StaticMiddleware(fallback_app, built, manifest=3)


# -- cache-busted URLs --------------------------------------------------------------


def test_static_url(built, caplog):
    app = StaticMiddleware(fallback_app, built, prefix="static")
    assert app.static_url("css/app.css") == "/static/css/app.1234567890ab.css"
    assert app.static_url("/css/app.css") == "/static/css/app.1234567890ab.css"
    with caplog.at_level(logging.WARNING, logger="staticmw"):
        assert app.static_url("js/missing file.js") == "/static/js/missing%20file.js"
    assert "not in the manifest" in caplog.text
    cdn = StaticMiddleware(
        fallback_app, built, prefix="/static/", static_host="https://cdn.example.com/"
    )
    assert (
        cdn.static_url("css/app.css") == "https://cdn.example.com/static/css/app.1234567890ab.css"
    )
    strict = StaticMiddleware(fallback_app, built, prefix="/static/", manifest_strict=True)
    with pytest.raises(NotInManifest):
        strict.static_url("nope.css")


def test_static_url_takes_a_url_path_without_doubling_the_prefix(built):
    app = StaticMiddleware(fallback_app, built, prefix="/static/")
    hashed = "/static/css/app.1234567890ab.css"
    assert app.static_url("/static/css/app.css") == hashed
    assert app.static_url("/static/css/app.css") != "/static/static/css/app.css"
    # a name below another mount's prefix goes to that mount
    vendor = built.parent / "vendor"
    write(vendor / "lib.js", b"export {}", OLD)
    app.add_files(vendor, prefix="/vendor/")
    assert app.static_url("/vendor/lib.js") == "/vendor/lib.js"


def test_static_url_finds_files_in_added_roots(built, tmp_path, caplog):
    vendor = tmp_path / "vendor"
    write(vendor / "lib.js", b"export {}", OLD)
    write(vendor / "sub" / "x.css", b"a{}", OLD)
    app = StaticMiddleware(fallback_app, built, prefix="/static/")
    app.add_files(vendor, prefix="/vendor/")
    with caplog.at_level(logging.WARNING, logger="staticmw"):
        assert app.static_url("lib.js") == "/vendor/lib.js"
        assert app.static_url("sub/x.css") == "/vendor/sub/x.css"
    # a root without a manifest has nothing to warn about
    assert "not in the manifest" not in caplog.text
    # the manifest still wins, and a name found nowhere falls back to the first root
    assert app.static_url("css/app.css") == "/static/css/app.1234567890ab.css"
    with caplog.at_level(logging.WARNING, logger="staticmw"):
        assert app.static_url("nowhere.js") == "/static/nowhere.js"
    assert "not in the manifest" in caplog.text
    strict = StaticMiddleware(fallback_app, built, prefix="/static/", manifest_strict=True)
    strict.add_files(vendor, prefix="/vendor/")
    assert strict.static_url("lib.js") == "/vendor/lib.js"
    with pytest.raises(NotInManifest):
        strict.static_url("nowhere.js")


def test_static_url_without_a_middleware(built):
    urls = StaticURLs(built / "staticmw.json", prefix="/assets/", static_host="//cdn.example.com")
    assert urls("css/app.css") == "//cdn.example.com/assets/css/app.1234567890ab.css"
    assert urls("other.css") == "//cdn.example.com/assets/other.css"
    with pytest.raises(NotInManifest):
        StaticURLs(built / "staticmw.json", strict=True)("other.css")


@pytest.mark.parametrize(
    "host", ["cdn.example.com", "ftp://cdn.example.com", "https://", "https://x/?q=1", 5]
)
def test_bad_static_host(built, host):
    with pytest.raises(ConfigurationError, match="static_host"):
        StaticMiddleware(fallback_app, built, static_host=host)


def test_jinja2_usage_from_the_readme(built):
    import jinja2

    application = StaticMiddleware(fallback_app, built, prefix="/static/")
    env = jinja2.Environment(autoescape=True)
    env.globals["static"] = application.static_url
    html = env.from_string(
        """<link rel="stylesheet" href="{{ static('css/app.css') }}">"""
    ).render()
    assert html == '<link rel="stylesheet" href="/static/css/app.1234567890ab.css">'
    standalone = StaticURLs(
        built / "staticmw.json", prefix="/static/", static_host="https://cdn.example.com"
    )
    env.globals["static"] = standalone
    assert (
        "https://cdn.example.com/static/css/app.1234567890ab.css"
        in env.from_string("{{ static('css/app.css') }}").render()
    )


# -- hostile manifests: a bad entry costs that entry, never the server ----------------------

_HOSTILE_NAMES = st.one_of(
    st.sampled_from(
        [
            "app.1.js", "js/app.1.js", "../../etc/passwd", "/abs.js", "a\x00b.js", "a/../b.js",
            "c:x.js", "con.txt", "a?.js", "trail.", "sp ", "", ".env", "js//x.js", "ok.css",
        ]
    ),
    st.text(max_size=20),
)  # fmt: skip


def _delta_for(hashed: str, digest: str) -> str:
    from staticmw.http.dictionaries import delta_name

    return delta_name(hashed.rsplit("/", 1)[-1], digest)


@st.composite
def _hostile_ours(draw):
    files = {}
    for logical in draw(st.lists(_HOSTILE_NAMES, max_size=6)):
        hashed = draw(st.one_of(_HOSTILE_NAMES, st.integers(), st.none()))
        digest = draw(st.sampled_from(["00" * 32, "ab" * 32, "xyz", "00" * 31]))
        delta_file = draw(
            st.one_of(
                st.just(_delta_for(hashed, digest) if isinstance(hashed, str) else "x"),
                st.just("util.1.js.0123456789abcdef.dcz"),
                _HOSTILE_NAMES,
            )
        )
        files[logical] = {
            "hashed": hashed,
            "size": draw(st.one_of(st.integers(0, 100), st.text(max_size=3))),
            "encodings": draw(st.one_of(st.just({"gzip": 3}), st.just([]), st.none())),
            "dictionary": draw(st.booleans()),
            "deltas": draw(
                st.one_of(
                    st.none(),
                    st.just({digest: {"file": delta_file, "size": 1}}),
                    st.just({digest: "x"}),
                )
            ),
        }
    return {"version": 1, "codecs": [], "retained": [], "files": files}


@given(
    st.one_of(
        _hostile_ours(),
        st.builds(lambda d: {"paths": d}, st.dictionaries(_HOSTILE_NAMES, _HOSTILE_NAMES)),
        st.dictionaries(_HOSTILE_NAMES, _HOSTILE_NAMES, min_size=1),
        st.dictionaries(
            _HOSTILE_NAMES, st.fixed_dictionaries({"file": _HOSTILE_NAMES}), min_size=1
        ),
    )
)
def test_any_manifest_loads_to_servable_names_or_a_clear_error(tmp_path_factory, data):
    from staticmw import StaticFiles
    from staticmw.http.request import Request
    from staticmw.serve.paths import split_request_path

    try:
        loaded = parse(data, "/static/")
    except ManifestError:
        return
    for hashed, entry in loaded.hashed.items():
        path = hashed.split("?", 1)[0].split("#", 1)[0]
        assert split_request_path(path, serve_hidden=True) is not None, hashed
        for digest, (name, _) in entry.deltas.items():
            assert name == _delta_for(hashed, digest.hex())
    # Served: every listed name answers without raising, and never with a 5xx.
    root = tmp_path_factory.mktemp("hostile")
    (root / "staticmw.json").write_text(json.dumps(data))
    for hashed in loaded.hashed:
        target = root / hashed.split("?", 1)[0]
        assert target.resolve().is_relative_to(root.resolve())
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(b"x")
    static = StaticFiles(root=root, prefix="/static/")
    for hashed in [*loaded.hashed, *loaded.names]:
        request = Request("GET", "/static/" + hashed.encode().decode("latin-1"))
        request.accept_encoding = "gzip, br, dcz"
        request.available_dictionary = ":" + "A" * 43 + "=:"
        answer = static.answer(request)
        assert answer is None or answer[0].status < 500
        static.static_url(hashed)


def test_build_record_reads_back_what_dump_ours_wrote(tmp_path):
    from staticmw.manifest.formats import dump_ours, read_build_record

    path = tmp_path / "staticmw.json"
    entries = {"app.css": {"hashed": "app.0123456789ab.css", "hash": "ab", "size": 3}}
    old = {"name": "app.css", "hashed": "app.aaaaaaaaaaaa.css", "hash": "aa", "size": 4}
    path.write_bytes(dump_ours(entries, ["gzip", "br"], ["app.aaaaaaaaaaaa.css"], [old]))
    record = read_build_record(str(path))
    assert record.files == entries
    assert record.codecs == {"gzip", "br"} and record.retained == {"app.aaaaaaaaaaaa.css"}
    assert record.earlier == {"app.aaaaaaaaaaaa.css": old}
    # The earlier version is served as what it is, though no name leads to it.
    loaded = Manifest.load(path)
    assert loaded.lookup("app.css") == "app.0123456789ab.css"
    assert loaded.entry("app.aaaaaaaaaaaa.css").content_hash == "aa"
    # Anything else reads as no record: the next build redoes what it would have skipped.
    for text in (b"{", b"[]", b'{"files": []}', b'{"paths": {}}'):
        path.write_bytes(text)
        assert read_build_record(str(path)) == ({}, set(), set(), {}, 0, {}, "", None)
    path.write_bytes(b'{"files": {"b": {}}, "codecs": ["gzip"], "retained": ["x"]}')
    assert read_build_record(str(path)) == ({"b": {}}, {"gzip"}, {"x"}, {}, 0, {}, "", None)
    # A record of this shape with anything of another shape is not to be acted on.
    for text in (
        b'{"files": {"a": 1}}',
        b'{"files": {}, "codecs": "gzip"}',
        b'{"files": {}, "retained": [1, "x"]}',
        b'{"files": {"a": {"encodings": [1]}}}',
        b'{"files": {"a": {"deltas": {"00": {"file": [1], "size": 1}}}}}',
        b'{"files": {}, "earlier": [1]}',
        b'{"files": {}, "kept": {"a": "b"}}',
    ):
        path.write_bytes(text)
        with pytest.raises(ManifestError, match="remove it"):
            read_build_record(str(path))
    assert read_build_record(str(tmp_path / "missing.json")) == (
        {},
        set(),
        set(),
        {},
        0,
        {},
        "",
        None,
    )


# -- any JSON at all, in every field: one validation, never an exception -------------------

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _HOSTILE_NAMES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_HOSTILE_NAMES, inner, max_size=3),
    max_leaves=12,
)


def _anything_in_every_field():
    """Our format with any JSON where each field goes (each entry's fields too)."""
    entry = st.one_of(
        _JSON,
        st.fixed_dictionaries(
            {},
            optional={
                key: _JSON
                for key in ("hashed", "hash", "size", "encodings", "dictionary", "deltas", "name")
            },
        ),
        st.fixed_dictionaries(
            {"hashed": st.just("app.1.css"), "deltas": _JSON, "encodings": _JSON}
        ),
    )
    return st.fixed_dictionaries(
        {
            "version": st.one_of(st.just(1), _JSON),
            "files": st.one_of(_JSON, st.dictionaries(_HOSTILE_NAMES, entry, max_size=3)),
        },
        optional={
            "earlier": st.one_of(_JSON, st.lists(entry, max_size=3)),
            "retained": _JSON,
            "kept": _JSON,
            "codecs": _JSON,
            "build": _JSON,
        },
    )


ANY_MANIFEST = st.one_of(
    _JSON,
    _anything_in_every_field(),
    st.builds(lambda d: {"paths": d}, st.one_of(_JSON, st.dictionaries(_HOSTILE_NAMES, _JSON))),
    st.dictionaries(
        _HOSTILE_NAMES,
        st.one_of(
            _JSON, st.fixed_dictionaries({"file": _JSON}, optional={"css": _JSON, "assets": _JSON})
        ),
        min_size=1,
    ),
)


@given(ANY_MANIFEST)
def test_any_json_parses_to_a_manifest_or_a_manifest_error(tmp_path_factory, data):
    """Served manifests and the build's record alike: a result or ManifestError, nothing else."""
    from staticmw.manifest.formats import BuildRecord, read_build_record

    path = tmp_path_factory.mktemp("any") / "staticmw.json"
    path.write_text(json.dumps(data))
    for read in (lambda: parse(data, "/static/"), lambda: read_build_record(str(path))):
        with contextlib.suppress(ManifestError):
            assert isinstance(read(), (Manifest, BuildRecord))


def test_deep_nesting_is_a_manifest_error_not_a_crash(tmp_path, caplog):
    from staticmw.manifest.formats import ManifestFile, read_build_record

    deep = "[" * 50_000 + "]" * 50_000
    path = tmp_path / "staticmw.json"
    path.write_text(deep)
    with pytest.raises(ManifestError, match=r"staticmw\.json.*nested too deeply"):
        Manifest.load(path)
    assert read_build_record(str(path)) == ({}, set(), set(), {}, 0, {}, "", None)
    # A live manifest rewritten so: the last good one stays, logged once.
    write(path, dump_ours({"a.css": {"hashed": "a.1.css"}}), OLD)
    live = ManifestFile(path, interval=0)
    path.write_text('{"version": 1, "files": {}, "earlier": [1]}' + " " * 10)
    with caplog.at_level(logging.ERROR, logger="staticmw.manifest"):
        first = live.current()
        path.write_text(deep)
        second = live.current()
        live.current()
    assert first.lookup("a.css") == second.lookup("a.css") == "a.1.css"
    assert caplog.text.count("still using the manifest read before") == 1 + 1


HOSTILE_RECORDS = [
    "[" * 50_000 + "]" * 50_000,
    '{"version": 1, "files": {"a.css": {"hashed": [1]}}}',
    '{"version": 1, "files": {"a.css": [1]}, "earlier": [1]}',
    '{"version": 1, "files": {"a.css": {"hashed": "a.1.css", "encodings": 5}}}',
    '{"version": 1, "files": {"a.css": {"deltas": {"00": {"file": [1], "size": 1}}}}}',
    '{"version": 1, "files": {}, "kept": [1], "retained": [[1]]}',
]


@pytest.mark.parametrize("record", HOSTILE_RECORDS)
def test_build_and_compress_over_a_hostile_record_end_clearly(tmp_path, capsys, record):
    """``staticmw build`` stops with an error that names the record, or builds as if there
    were none (a record that is not JSON); ``staticmw compress`` compresses again what a
    record it cannot read covered. Neither ends in a traceback."""
    from staticmw.cli import commands as cli

    write(tmp_path / "src" / "a.css", "body { color: red }\n" * 40)
    out = tmp_path / "out"
    out.mkdir()
    (out / "staticmw.json").write_text(record)
    code = cli.main(["build", str(tmp_path / "src"), "--out", str(out), "-q"])
    printed = capsys.readouterr()
    if record.startswith("["):
        assert code == 0 and json.loads((out / "staticmw.json").read_text())["files"]
    else:
        assert code != 0 and "staticmw.json" in printed.err and "remove it" in printed.err
        assert "Traceback" not in printed.err and not (out / "a.css").exists()
    folder = tmp_path / "compress"
    write(folder / "a.css", "body { color: red }\n" * 40)
    (folder / "staticmw.json").write_text(record)
    (folder / ".staticmw-compressed.json").write_text(record.replace("files", "a.css"))
    assert cli.main(["compress", str(folder), "-q"]) == 0
    assert (folder / "a.css.gz").exists()


def test_a_large_manifest_is_read_again_off_the_thread_that_noticed_it(tmp_path, monkeypatch):
    """A rewritten manifest over the inline size is parsed on a thread of its own; until it
    is, the last good one answers (an event loop never waits on the parse)."""
    from staticmw.manifest import formats as module

    monkeypatch.setattr(module, "INLINE_BYTES", 1024)
    path = tmp_path / "staticmw.json"
    files = {f"f{n}.css": {"hashed": f"f{n}.1.css"} for n in range(100)}
    write(path, dump_ours(files), OLD)
    live = module.ManifestFile(path, interval=0)
    parsed_on: list = []
    real_load = module.Manifest.load

    def load(*args, **kwargs):
        parsed_on.append(__import__("threading").get_ident())
        return real_load(*args, **kwargs)

    monkeypatch.setattr(module.Manifest, "load", load)
    atomic_write(str(path), dump_ours({**files, "f0.css": {"hashed": "f0.2.css"}}))
    first = live.current()
    assert first.lookup("f0.css") == "f0.1.css"  # the last good one, at once
    assert live.loading is not None
    live.loading.join()
    assert live.current().lookup("f0.css") == "f0.2.css"
    assert parsed_on and __import__("threading").get_ident() not in parsed_on
    # Small ones are still read where they are noticed.
    monkeypatch.setattr(module, "INLINE_BYTES", 10**9)
    small = module.ManifestFile(path, interval=0)
    atomic_write(str(path), dump_ours({**files, "f0.css": {"hashed": "f0.3.css"}}))
    assert small.current().lookup("f0.css") == "f0.3.css" and small.loading is None


# What serving must refuse: each shape but the one whose only fault is in fields the build
# alone reads (an empty list of files is a manifest, of nothing).
SERVED_HOSTILE = [*HOSTILE_RECORDS[:-1], '{"version": 1, "files": {}, "earlier": [1]}', "[1]"]


@pytest.mark.parametrize("hostile", SERVED_HOSTILE)
def test_a_hostile_live_manifest_is_refused_while_serving(built, hostile, caplog):
    """Rewritten under a running middleware, any shape of JSON leaves the last good manifest
    in use: static requests and ``static_url`` answer as before, and it is logged once."""
    app = StaticMiddleware(fallback_app, built, prefix="/static/", recheck_interval=0)
    url = app.static_url("css/app.css")
    assert call(app, url).status == 200
    with caplog.at_level(logging.ERROR, logger="staticmw.manifest"):
        (built / "staticmw.json").write_text(hostile)
        for _ in range(3):
            assert app.static_url("css/app.css") == url
            assert call(app, url).status == 200
    assert caplog.text.count("still using the manifest read before") == 1
