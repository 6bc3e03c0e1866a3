from __future__ import annotations

import pytest

from staticmw.http.mediatypes import MediaTypes, is_valid_media_type


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("app.css", "text/css; charset=utf-8"),
        ("index.HTML", "text/html; charset=utf-8"),
        ("mod.mjs", "text/javascript; charset=utf-8"),
        ("app.js", "text/javascript; charset=utf-8"),
        ("data.json", "application/json; charset=utf-8"),
        ("app.js.map", "application/json; charset=utf-8"),
        ("site.webmanifest", "application/manifest+json; charset=utf-8"),
        ("logo.svg", "image/svg+xml; charset=utf-8"),
        ("lib.wasm", "application/wasm"),
        ("photo.avif", "image/avif"),
        ("photo.jxl", "image/jxl"),
        ("font.woff2", "font/woff2"),
        ("font.ttf", "font/ttf"),
        ("font.otf", "font/otf"),
        ("clip.mp4", "video/mp4"),
        ("clip.webm", "video/webm"),
        ("archive.tar.gz", "application/gzip"),
        ("README", "application/octet-stream"),
        (".htaccess", "application/octet-stream"),
        ("weird.unknownext", "application/octet-stream"),
    ],
)
def test_builtin_table(name, expected):
    assert MediaTypes().content_type(name) == expected


def test_overrides_by_extension_and_whole_name():
    types = MediaTypes(
        {".foo": "text/x-foo", "LICENSE": "text/plain", ".js": "application/javascript"}
    )
    assert types.content_type("a.FOO") == "text/x-foo; charset=utf-8"
    assert types.content_type("license") == "text/plain; charset=utf-8"
    assert types.bare_type("x.js") == "application/javascript"


def test_charset_setting():
    assert (
        MediaTypes(charset="iso-8859-1").content_type("a.txt") == "text/plain; charset=iso-8859-1"
    )
    assert MediaTypes(charset=None).content_type("a.txt") == "text/plain"
    # a type given with its own parameters is left alone
    assert (
        MediaTypes({".t": "text/plain; charset=ascii"}).content_type("a.t")
        == "text/plain; charset=ascii"
    )


def test_media_type_syntax():
    assert is_valid_media_type("text/plain")
    assert is_valid_media_type('text/plain; charset="utf-8"')
    assert not is_valid_media_type("text")
    assert not is_valid_media_type("text/plain\r\nX: y")


def test_override_keys_without_a_dot_are_an_extension_and_a_name():
    types = MediaTypes({"ts": "text/x-typescript", "LICENSE": "text/plain", "README.md": "a/b"})
    assert types.bare_type("app.ts") == "text/x-typescript"  # not silently a whole name only
    assert types.bare_type("ts") == "text/x-typescript"
    assert types.bare_type("LICENSE") == "text/plain"
    assert types.bare_type("README.md") == "a/b"
    assert types.bare_type("other.md") != "a/b"  # a name with a dot is a whole name only
