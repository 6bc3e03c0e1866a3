"""End-to-end behaviour of the middleware, in-process."""

from __future__ import annotations

import gzip
import os
import re
import time

import pytest
from werkzeug.http import http_date, parse_date

from staticmw import ConfigurationError, StaticMiddleware

from ..conftest import CSS, JS, OLD
from ..helpers import APP_BODY, call, fallback_app, write

# -- pass-through -----------------------------------------------------------------


def test_unknown_paths_pass_through_untouched(make):
    seen = {}

    def app(environ, start_response):
        seen.update(environ)
        start_response("200 OK", [("X-App", "1")])
        return [b"app"]

    mw = StaticMiddleware(app, make().roots[0][1], prefix="/static/")
    for path in ("/", "/other/app.css", "/static/missing.css", "/static/docs/", "/staticx/app.css"):
        seen.clear()
        before = {"PATH_INFO": path}
        result = call(mw, path)
        assert result.passed_through and result.body == b"app"
        assert seen["PATH_INFO"] == before["PATH_INFO"]
        assert seen["SCRIPT_NAME"] == ""


def test_environ_reaches_the_app_untouched(make):
    seen = []

    def app(environ, start_response):
        seen.append(dict(environ))
        start_response("404 Not Found", [])
        return []

    mw = StaticMiddleware(app, make().roots[0][1], prefix="/static/", index_file=True)
    for path in ("/static/missing.css", "/static/../x", "/static/nodir/", "/elsewhere"):
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": "q=1",
            "HTTP_ACCEPT_ENCODING": "gzip",
            "HTTP_RANGE": "bytes=0-1",
        }
        original = dict(environ)
        mw(environ, lambda *a: None)
        assert seen.pop() == original
        assert environ == original


def test_get_headers(make):
    result = call(make(), "/static/app.css")
    assert result.status == 200
    assert result.body == CSS
    h = result.headers
    assert h["content-type"] == "text/css; charset=utf-8"
    assert h["content-length"] == str(len(CSS))
    assert h["last-modified"] == http_date(int(OLD))
    assert re.fullmatch(r'"[0-9a-f]+-[0-9a-f]+"', h["etag"])
    assert h["cache-control"] == "public, max-age=60"
    assert h["accept-ranges"] == "bytes"
    assert h["vary"] == "Accept-Encoding"
    assert h["access-control-allow-origin"] == "*"
    assert h["x-content-type-options"] == "nosniff"
    assert "content-encoding" not in h


def test_small_files_go_out_as_a_list_of_their_own(make):
    """A WSGI server may send a list in one write and stream anything else (Granian does):
    a small file answered from memory is a list, a new one each time, so an outer
    middleware that changes it changes nothing held."""
    app = make()
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/static/hello.txt",
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    bodies = []
    for _ in range(3):  # the first answers build what the later ones send from memory
        bodies.append(app(dict(environ), lambda status, headers, exc_info=None: None))
    assert all(type(body) is list for body in bodies[1:])
    assert b"".join(bodies[-1]) == b"hello world\n"
    bodies[-1].append(b"appended by an outer middleware")
    again = app(dict(environ), lambda status, headers, exc_info=None: None)
    assert b"".join(again) == b"hello world\n"


def test_no_vary_without_variants(make):
    result = call(make(), "/static/hello.txt")
    assert result.body == b"hello world\n"
    assert "vary" not in result.headers


def test_head_equals_get_without_body(make):
    app = make()
    for headers in (
        {},
        {"Accept-Encoding": "gzip"},
        {"Range": "bytes=0-9"},
        {"Range": "bytes=0-1,5-6"},
    ):
        get = call(app, "/static/app.css", headers=headers)
        head = call(app, "/static/app.css", method="HEAD", headers=headers)
        assert head.status_line == get.status_line
        assert head.header_list == get.header_list
        assert head.body == b""


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "BREW"])
def test_other_methods_get_405(make, method):
    result = call(make(), "/static/app.css", method=method, headers={"If-Match": '"nope"'})
    assert result.status == 405
    assert result.headers["allow"] == "GET, HEAD"
    # missing files still belong to the app
    assert call(make(), "/static/missing.css", method=method).passed_through


# -- content coding ---------------------------------------------------------------


def test_variants_follow_accept_encoding(make):
    app = make()
    identity = call(app, "/static/app.css")
    gzipped = call(app, "/static/app.css", headers={"Accept-Encoding": "gzip"})
    brotli = call(app, "/static/app.css", headers={"Accept-Encoding": "gzip, br"})
    assert gzipped.headers["content-encoding"] == "gzip"
    assert gzip.decompress(gzipped.body) == CSS
    assert gzipped.headers["content-type"] == "text/css; charset=utf-8"
    assert gzipped.headers["content-length"] == str(len(gzipped.body))
    assert brotli.headers["content-encoding"] == "br"  # smaller of equal q
    tags = {identity.headers["etag"], gzipped.headers["etag"], brotli.headers["etag"]}
    assert len(tags) == 3, "each representation needs its own strong ETag"
    for r in (identity, gzipped, brotli):
        assert r.headers["vary"] == "Accept-Encoding"
    refused = call(app, "/static/app.css", headers={"Accept-Encoding": "br;q=0, gzip;q=0"})
    assert "content-encoding" not in refused.headers


def test_zstd_variants(site, make):
    write(site / "z.js", JS, OLD)
    write(site / "z.js.zstd", b"Z" * 10, OLD)
    app = make()
    result = call(app, "/static/z.js", headers={"Accept-Encoding": "zstd"})
    assert result.headers["content-encoding"] == "zstd" and result.body == b"Z" * 10
    write(site / "y.js", JS, OLD)
    write(site / "y.js.zst", b"Y" * 10, OLD)
    assert call(app, "/static/y.js", headers={"Accept-Encoding": "zstd"}).body == b"Y" * 10


def test_sidecars_hidden_behind_their_original(make):
    app = make()
    assert call(app, "/static/app.css.gz").passed_through
    assert call(app, "/static/app.css.br").passed_through
    orphan = call(app, "/static/only.txt.gz")
    assert orphan.status == 200
    assert orphan.headers["content-type"] == "application/gzip"
    assert "content-encoding" not in orphan.headers
    assert gzip.decompress(orphan.body) == b"only compressed\n"


def test_sidecar_symlink_out_of_root_is_ignored(site, tmp_path, make):
    write(site / "lib.js", JS, OLD)
    write(tmp_path / "evil.gz", b"EVIL", OLD)
    os.symlink(tmp_path / "evil.gz", site / "lib.js.gz")
    result = call(make(), "/static/lib.js", headers={"Accept-Encoding": "gzip"})
    assert result.body == JS and "content-encoding" not in result.headers


def test_304_and_variant_etags(make):
    app = make()
    br = call(app, "/static/app.css", headers={"Accept-Encoding": "br"})
    identity = call(app, "/static/app.css")
    revalidate = call(
        app,
        "/static/app.css",
        headers={"Accept-Encoding": "br", "If-None-Match": br.headers["etag"]},
    )
    assert revalidate.status == 304 and revalidate.body == b""
    for name in ("etag", "cache-control", "vary", "last-modified", "access-control-allow-origin"):
        assert revalidate.headers[name] == br.headers[name]
    for name in ("content-type", "content-length", "content-encoding", "accept-ranges"):
        assert name not in revalidate.headers
    # the identity tag does not validate the brotli representation
    other = call(
        app,
        "/static/app.css",
        headers={"Accept-Encoding": "br", "If-None-Match": identity.headers["etag"]},
    )
    assert other.status == 200 and other.headers["content-encoding"] == "br"


# -- preconditions ----------------------------------------------------------------


def test_preconditions(make):
    app = make()
    etag = call(app, "/static/hello.txt").headers["etag"]
    lm = http_date(int(OLD))

    def status(**headers):
        return call(app, "/static/hello.txt", headers=headers).status

    assert status(If_None_Match=etag) == 304
    assert status(If_None_Match=f'"x", W/{etag}') == 304
    assert status(If_None_Match="*") == 304
    assert status(If_None_Match='"x"') == 200
    assert status(If_Modified_Since=lm) == 304
    assert status(If_Modified_Since=http_date(int(OLD) - 5)) == 200
    assert status(If_None_Match='"x"', If_Modified_Since=lm) == 200  # IMS ignored with INM
    assert status(If_Match=etag) == 200
    assert status(If_Match='"x"') == 412
    assert status(If_Match="*") == 200
    assert status(If_Unmodified_Since=http_date(int(OLD) - 5)) == 412
    assert status(If_Unmodified_Since=lm) == 200
    assert status(If_Match='"x"', If_None_Match=etag) == 412
    failed = call(app, "/static/hello.txt", headers={"If-Match": '"x"'})
    assert failed.body == b"" and failed.headers["etag"] == etag
    assert "content-type" not in failed.headers


def test_304_for_head(make):
    app = make()
    etag = call(app, "/static/hello.txt").headers["etag"]
    assert (
        call(app, "/static/hello.txt", method="HEAD", headers={"If-None-Match": etag}).status == 304
    )


# -- ranges -----------------------------------------------------------------------


def test_single_range(make):
    app = make()
    result = call(app, "/static/app.css", headers={"Range": "bytes=10-19"})
    assert result.status == 206
    assert result.body == CSS[10:20]
    assert result.headers["content-range"] == f"bytes 10-19/{len(CSS)}"
    assert result.headers["content-length"] == "10"
    assert result.headers["content-type"] == "text/css; charset=utf-8"
    last = call(app, "/static/app.css", headers={"Range": "bytes=-1"})
    assert last.body == CSS[-1:]
    big = call(app, "/static/app.css", headers={"Range": "bytes=100-"})
    assert big.body == CSS[100:]  # larger than the in-memory threshold: streamed


def test_multiple_ranges(make):
    result = call(make(), "/static/hello.txt", headers={"Range": "bytes=0-1,6-10"})
    assert result.status == 206
    content_type = result.headers["content-type"]
    boundary = content_type.split("boundary=")[1]
    assert content_type.startswith("multipart/byteranges; ")
    assert result.headers["content-length"] == str(len(result.body))
    parts = result.body.split(b"--" + boundary.encode())
    assert parts[0] == b"" and parts[-1] == b"--\r\n"
    bodies = [p.split(b"\r\n\r\n", 1)[1].removesuffix(b"\r\n") for p in parts[1:-1]]
    assert bodies == [b"he", b"world"]
    assert b"Content-Range: bytes 0-1/12" in parts[1]
    assert b"Content-Range: bytes 6-10/12" in parts[2]
    assert b"Content-Type: text/plain; charset=utf-8" in parts[1]


def test_unsatisfiable_and_ignored_ranges(make):
    app = make()
    bad = call(app, "/static/hello.txt", headers={"Range": "bytes=500-600"})
    assert bad.status == 416 and bad.headers["content-range"] == "bytes */12" and bad.body == b""
    assert call(app, "/static/hello.txt", headers={"Range": "bytes=-0"}).status == 416
    for ignored in ("items=0-5", "bytes=abc", "bytes=5-2"):
        r = call(app, "/static/hello.txt", headers={"Range": ignored})
        assert r.status == 200 and r.body == b"hello world\n"
    empty = call(app, "/static/empty.txt", headers={"Range": "bytes=0-"})
    assert empty.status == 200 and empty.body == b""


def test_range_with_preconditions(make):
    app = make()
    ok = call(app, "/static/hello.txt")
    etag = ok.headers["etag"]
    lm = ok.headers["last-modified"]

    def run(**headers):
        return call(app, "/static/hello.txt", headers={"Range": "bytes=0-4", **headers})

    assert run(If_None_Match=etag).status == 304  # preconditions come first
    assert run(If_Match='"x"').status == 412
    assert run(If_Range=etag).status == 206
    assert run(If_Range='"other"').status == 200
    assert run(If_Range="W/" + etag).status == 200
    assert run(If_Range=lm).status == 206
    assert run(If_Range=http_date(int(OLD) + 10)).status == 200  # only an exact date


def test_range_applies_to_the_encoded_representation(make):
    app = make()
    full = call(app, "/static/app.css", headers={"Accept-Encoding": "gzip"})
    part = call(app, "/static/app.css", headers={"Accept-Encoding": "gzip", "Range": "bytes=0-9"})
    assert part.status == 206
    assert part.body == full.body[:10]
    assert part.headers["content-encoding"] == "gzip"
    assert part.headers["etag"] == full.headers["etag"]


# -- validators and caching --------------------------------------------------------


def test_future_mtime_clamped_to_now(site, make):
    write(site / "future.txt", b"from the future", time.time() + 86400 * 365)
    result = call(make(), "/static/future.txt")
    last_modified = parse_date(result.headers["last-modified"]).timestamp()
    assert last_modified <= time.time() + 1


def test_unknown_mtime_sends_no_last_modified(site, make):
    write(site / "nix.txt", b"reproducible", 1)
    result = call(make(), "/static/nix.txt")
    assert "last-modified" not in result.headers and result.headers["etag"]


@pytest.mark.parametrize(
    ("name", "immutable"),
    [
        ("app.3f2a9c1b9d0e.css", True),
        ("app-3f2a9c1b.js", True),
        ("app.3f2a9c1b9d0e4f5a6b7c8d9e0f1a2b3c.css", True),
        ("app.3f2a9c1.css", False),  # 7 hex: too short
        ("app.3F2A9C1B.css", False),  # upper case is not a hash here
        ("app.css", False),
        ("jquery-3.6.0.min.js", False),
    ],
)
def test_immutable_names(site, make, name, immutable):
    write(site / name, b"x", OLD)
    control = call(make(), "/static/" + name).headers["cache-control"]
    if immutable:
        assert control == "public, max-age=31536000, immutable"
    else:
        assert control == "public, max-age=60"


def test_immutable_test_option(make):
    by_regex = make(immutable_file_test=r"hello\.txt$")
    assert "immutable" in call(by_regex, "/static/hello.txt").headers["cache-control"]
    by_callable = make(immutable_file_test=lambda path, url: url.endswith(".js"))
    assert "immutable" in call(by_callable, "/static/app.js").headers["cache-control"]
    assert "immutable" not in call(by_callable, "/static/hello.txt").headers["cache-control"]


def test_max_age_option(make):
    assert "cache-control" not in call(make(max_age=None), "/static/hello.txt").headers
    assert (
        call(make(max_age=0), "/static/hello.txt").headers["cache-control"] == "public, max-age=0"
    )
    assert (
        call(make(max_age=3600), "/static/hello.txt").headers["cache-control"]
        == "public, max-age=3600"
    )
    hashed = call(make(max_age=None), "/static/app.3f2a9c1b9d0e.css")
    assert hashed.headers["cache-control"].endswith("immutable")


# -- options ----------------------------------------------------------------------


def test_index_files(make):
    app = make(index_file=True)
    result = call(app, "/static/docs/")
    assert result.status == 200 and result.body == b"<h1>docs</h1>\n"
    assert result.headers["content-type"] == "text/html; charset=utf-8"
    redirect = call(app, "/static/docs", query="a=1&b=%20")
    assert redirect.status == 301
    assert redirect.headers["location"] == "docs/?a=1&b=%20"
    assert call(app, "/static/nodir/").passed_through  # no index: never a listing
    assert call(app, "/static/nodir").passed_through
    assert call(app, "/static/hello.txt/").passed_through
    assert call(app, "/static/docs", method="POST").passed_through
    assert call(make(), "/static/docs/").passed_through  # off by default
    named = make(index_file="index.html")
    assert call(named, "/static/docs/").status == 200


def test_index_redirect_for_the_bare_prefix(site, make):
    write(site / "index.html", b"<h1>home</h1>", OLD)
    app = make(index_file=True)
    redirect = call(app, "/static")
    assert redirect.status == 301 and redirect.headers["location"] == "static/"
    assert call(app, "/static/").body == b"<h1>home</h1>"


def test_index_redirect_location_is_safe(site, make):
    write(site / "we ird#dir" / "index.html", b"x", OLD)
    result = call(make(index_file=True), "/static/we ird#dir", query="x=\r\nSet-Cookie: a")
    location = result.headers["location"]
    assert location.startswith("we%20ird%23dir/?")
    assert "\r" not in location and "\n" not in location


def test_mimetypes_and_charset(make):
    app = make(
        mimetypes={".txt": "text/x-custom", "empty.txt": "application/x-empty"}, charset="latin-1"
    )
    assert (
        call(app, "/static/hello.txt").headers["content-type"] == "text/x-custom; charset=latin-1"
    )
    assert call(app, "/static/empty.txt").headers["content-type"] == "application/x-empty"


def test_cors_and_extra_headers(make):
    seen = []

    def add(headers, path, url):
        seen.append((path, url))
        headers["X-Frame-Options"] = "DENY"

    app = make(allow_all_origins=False, add_headers_function=add)
    result = call(app, "/static/app.css", headers={"Accept-Encoding": "gzip"})
    assert "access-control-allow-origin" not in result.headers
    assert result.headers["x-frame-options"] == "DENY"
    assert all(url == "/static/app.css" and path.endswith("app.css") for path, url in seen)
    etag = result.headers["etag"]
    revalidated = call(
        app, "/static/app.css", headers={"Accept-Encoding": "gzip", "If-None-Match": etag}
    )
    assert revalidated.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize("prefix", ["static", "/static", "/static/", "static/"])
def test_prefix_forms(site, prefix):
    app = StaticMiddleware(fallback_app, site, prefix=prefix)
    assert call(app, "/static/hello.txt").body == b"hello world\n"


def test_root_prefix_and_several_roots(site, tmp_path):
    write(tmp_path / "vendor" / "lib.js", b"vendor lib", OLD)
    write(site / "vendor" / "fallback.js", b"from main root", OLD)
    app = StaticMiddleware(fallback_app, site, prefix="/static/")
    app.add_files(tmp_path / "vendor", prefix="/static/vendor/")
    assert call(app, "/static/vendor/lib.js").body == b"vendor lib"
    assert call(app, "/static/vendor/fallback.js").body == b"from main root"
    assert [p for p, _ in app.roots] == ["/static/vendor/", "/static/"]
    at_root = StaticMiddleware(fallback_app, site)
    assert call(at_root, "/hello.txt").body == b"hello world\n"
    assert call(at_root, "/api/thing").passed_through


def test_unicode_names(site, make):
    write(site / "caf\u00e9" / "na\u00efve.txt", b"unicode", OLD)
    assert call(make(), "/static/caf\u00e9/na\u00efve.txt").body == b"unicode"
    # invalid UTF-8 bytes in the path: not ours
    assert call(make(), "/static/caf\xe9/x", raw=True).passed_through


def test_hidden_files(make):
    assert call(make(), "/static/.env").passed_through
    assert call(make(), "/static/.git/config").passed_through
    assert call(make(serve_hidden=True), "/static/.env").body == b"SECRET=1\n"


def test_symlinks(site, tmp_path, make):
    os.symlink(tmp_path / "secret.txt", site / "leak.txt")
    os.symlink(site / "hello.txt", site / "alias.txt")
    assert call(make(), "/static/leak.txt").passed_through
    assert call(make(), "/static/alias.txt").body == b"hello world\n"
    assert call(make(follow_symlinks=True), "/static/leak.txt").body == b"TOP SECRET\n"


@pytest.mark.parametrize(
    "path",
    [
        "/static/../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/..%2fsecret.txt",
        "/static/..\\secret.txt",
        "/static//etc/passwd",
        "/static/./hello.txt",
        "/static/hello.txt%00.css",
        "/static/hello.txt\x00",
        "/static/hello.txt::$DATA",
        "/static/HELLO~1.TXT",
        "/static/c:/windows/win.ini",
        "/static/con",
        "/static/hello.txt.",
        "/static/hello.txt ",
        "/static/../static2/other.txt",
    ],
)
def test_traversal_attempts(make, path):
    result = call(make(), path)
    assert result.passed_through
    assert result.body.startswith(APP_BODY)
    assert b"SECRET" not in result.body and b"sibling root" not in result.body


# -- configuration errors ------------------------------------------------------------


def test_a_prefix_that_is_a_url_is_refused_with_the_way_to_a_cdn(site):
    """``prefix="http://cdn/static"`` would mount ``/http:/cdn/static/``, which no request
    reaches: refused, naming the path to serve and the static_host to set."""
    for prefix, path, host in (
        ("http://cdn.example.com/static", "'/static'", "'http://cdn.example.com'"),
        ("//cdn.example.com/assets/", "'/assets/'", "'https://cdn.example.com'"),
    ):
        with pytest.raises(ConfigurationError) as caught:
            StaticMiddleware(fallback_app, root=site, prefix=prefix)
        assert str(caught.value) == (
            f"prefix {prefix!r} is a URL: give the path the application serves as the prefix "
            f"({path}), and static_host={host} to put static_url() links on that host"
        )
    # A colon inside a path segment is no URL.
    assert StaticMiddleware(fallback_app, root=site, prefix="a:b").path_prefixes == ("/a:b/",)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_age": -1}, "max_age"),
        ({"max_age": "60"}, "max_age"),
        ({"max_age": True}, "max_age"),
        ({"index_file": "../index.html"}, "index_file"),
        ({"index_file": 3}, "index_file"),
        ({"autorefresh": "yes"}, "autorefresh"),
        ({"follow_symlinks": 1}, "follow_symlinks"),
        ({"serve_hidden": None}, "serve_hidden"),
        ({"allow_hard_links": "no"}, "allow_hard_links"),
        ({"allow_all_origins": "no"}, "allow_all_origins"),
        ({"mimetypes": {".x": "not a type"}}, "mimetypes"),
        ({"mimetypes": {"a/b": "text/plain"}}, "mimetypes"),
        ({"mimetypes": [".x"]}, "mimetypes"),
        ({"charset": "utf 8"}, "charset"),
        ({"immutable_file_test": "("}, "immutable_file_test"),
        ({"immutable_file_test": 5}, "immutable_file_test"),
        ({"add_headers_function": "nope"}, "add_headers_function"),
        ({"prefix": "/static/../x"}, "prefix"),
        ({"prefix": "/static?x"}, "prefix"),
        ({"prefix": 5}, "prefix"),
        ({"cache_bytes": -1}, "cache_bytes"),
        ({"cache_bytes": 1.5}, "cache_bytes"),
        ({"cache_entries": 0}, "cache_entries"),
        ({"cache_entries": True}, "cache_entries"),
        ({"cache_entries": "50000"}, "cache_entries"),
        ({"recheck_interval": -1}, "recheck_interval"),
        ({"recheck_interval": float("nan")}, "recheck_interval"),
        ({"recheck_interval": "1"}, "recheck_interval"),
        ({"static_host": "cdn.example.com"}, "static_host"),
        ({"static_host": "https://cdn.example.com/?v=1"}, "static_host"),
        ({"manifest_strict": "yes"}, "manifest_strict"),
        ({"manifest": 5}, "manifest"),
        ({"manifest": True}, "manifest"),
    ],
)
def test_bad_options_fail_at_construction(site, kwargs, message):
    kwargs.setdefault("prefix", "/static/")
    with pytest.raises(ConfigurationError, match=message):
        StaticMiddleware(fallback_app, site, **kwargs)


def test_bad_roots(tmp_path, site):
    nope, file = tmp_path / "nope", tmp_path / "file.txt"
    with pytest.raises(ConfigurationError) as caught:
        StaticMiddleware(fallback_app, nope)
    assert str(caught.value) == f"root {str(nope)!r} does not exist (resolved to {str(nope)!r})"
    write(file, b"x")
    with pytest.raises(ConfigurationError) as caught:
        StaticMiddleware(fallback_app, file)
    assert str(caught.value) == (
        f"root {str(file)!r} is a file, not a directory (resolved to {str(file)!r})"
    )
    with pytest.raises(ConfigurationError, match="WSGI callable"):
        StaticMiddleware(None, site)
    with pytest.raises(TypeError, match="unexpected keyword"):
        StaticMiddleware(fallback_app, site, no_such_option=True)
    app = StaticMiddleware(fallback_app)
    with pytest.raises(ConfigurationError, match="root must be a path"):
        app.add_files(42)


# -- bodies and descriptors ----------------------------------------------------------


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_streamed_bodies_close_their_descriptor(make):
    app = make()
    before = open_fds()
    for _ in range(20):
        assert call(app, "/static/app.css").body == CSS
        assert call(app, "/static/app.css", headers={"Range": "bytes=1-5,100-70000"}).status == 206
        assert call(app, "/static/app.css", method="HEAD").body == b""
    assert open_fds() == before


def test_unclosed_abandoned_body_releases_descriptor(make):
    app = make()
    before = open_fds()
    body = app(
        {"REQUEST_METHOD": "GET", "PATH_INFO": "/static/app.css", "wsgi.url_scheme": "http"},
        lambda *a: None,
    )
    next(iter(body))
    del body
    assert open_fds() == before


def test_gunicorn_style_file_wrapper_gets_real_file_at_offset(make):
    class FileWrapper:  # mimics gunicorn.http.wsgi.FileWrapper's contract
        __module__ = "gunicorn.http.wsgi"

        def __init__(self, filelike, blksize=8192):
            self.filelike = filelike

        def __iter__(self):
            yield self.filelike.read()

        def close(self):
            self.filelike.close()

    result = call(
        make(),
        "/static/app.css",
        headers={"Range": "bytes=100-"},
        environ_extra={"wsgi.file_wrapper": FileWrapper},
    )
    assert result.status == 206 and result.body == CSS[100:]


def test_other_file_wrappers_are_not_trusted_with_ranges(make):
    from wsgiref.util import FileWrapper  # reads to EOF, ignoring Content-Length

    result = call(
        make(),
        "/static/app.css",
        headers={"Range": "bytes=100-70099"},
        environ_extra={"wsgi.file_wrapper": FileWrapper},
    )
    assert result.body == CSS[100:70100]


def test_construction_never_walks_the_tree(site, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("construction must not list directories")

    for name in ("scandir", "listdir", "walk"):
        monkeypatch.setattr(os, name, forbidden)
    app = StaticMiddleware(fallback_app, site, prefix="/static/", index_file=True)
    app.add_files(site / "docs", prefix="/docs/")
    # and serving a file does not list directories either
    assert call(app, "/static/hello.txt").status == 200
    assert call(app, "/docs/").status == 200


def test_outer_code_mutating_headers_does_not_leak(make):
    app = make()
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/static/hello.txt"}

    def greedy_start_response(status, headers, exc_info=None):
        headers.append(("Set-Cookie", "leaked=1"))
        headers[0] = ("Content-Type", "evil/type")

    for _ in range(2):
        app(dict(environ), greedy_start_response)
    clean = call(app, "/static/hello.txt")
    assert "set-cookie" not in clean.headers
    assert clean.headers["content-type"] == "text/plain; charset=utf-8"


def test_keyword_options_list_matches_the_signature(site):
    import inspect

    from staticmw.serve.options import KEYWORD_OPTIONS, Options, OptionValues

    # Options declares every keyword option; the typed mapping callers see lists the same.
    signature = inspect.signature(Options)
    keyword_only = [n for n, p in signature.parameters.items() if p.kind is p.KEYWORD_ONLY]
    assert sorted(keyword_only) == sorted(KEYWORD_OPTIONS)
    assert sorted(OptionValues.__annotations__) == sorted(KEYWORD_OPTIONS)
    assert {"manifest", "static_host", "manifest_strict", "max_age"} <= set(KEYWORD_OPTIONS)
    # Each is accepted by name, with its default, by both adapters.
    from staticmw.integrations.asgi import StaticMiddleware as ASGIStaticMiddleware

    defaults = {n: p.default for n, p in signature.parameters.items() if n in keyword_only}
    StaticMiddleware(fallback_app, site, **defaults)
    ASGIStaticMiddleware(fallback_app, site, **defaults)


# -- hard links: a second name of a file that may live anywhere -------------------------


@pytest.fixture
def uploads(tmp_path):
    """An upload area with an upload, and a hard link in it to the app's secrets."""
    media = tmp_path / "media"
    write(media / "uploads" / "photo.txt", b"a real upload\n", OLD)
    write(tmp_path / "app" / ".env", b"SECRET_KEY=hunter2\n", OLD)
    os.link(tmp_path / "app" / ".env", media / "uploads" / "avatar.txt")
    big = b"a large upload, streamed\n" * 10_000
    write(tmp_path / "app" / "dump.sql", big, OLD)
    os.link(tmp_path / "app" / "dump.sql", media / "uploads" / "big.txt")
    return media


@pytest.mark.parametrize("per_root", [True, False], ids=["add_files", "option"])
def test_a_root_that_refuses_hard_links(uploads, resolve_mode, per_root, caplog):
    if per_root:
        app = StaticMiddleware(fallback_app)
        app.add_files(uploads, "/media/", allow_hard_links=False)
    else:
        app = StaticMiddleware(fallback_app, uploads, "/media/", allow_hard_links=False)
    assert call(app, "/media/uploads/photo.txt").body == b"a real upload\n"
    for _ in range(2):
        assert call(app, "/media/uploads/avatar.txt").passed_through
        assert call(app, "/media/uploads/big.txt").passed_through
    assert "has 2 hard links" in caplog.text


def test_hard_links_are_served_by_default_and_per_root(uploads, tmp_path):
    # Deploy tools hard-link build trees, so a root allows them unless told otherwise...
    app = StaticMiddleware(fallback_app, uploads, "/media/")
    assert call(app, "/media/uploads/avatar.txt").body == b"SECRET_KEY=hunter2\n"
    # ...and the rule is per root: the same file through another root is served.
    write(tmp_path / "static" / "x.txt", b"x", OLD)
    os.link(uploads / "uploads" / "photo.txt", tmp_path / "static" / "photo.txt")
    mixed = StaticMiddleware(fallback_app, tmp_path / "static", "/static/")
    mixed.add_files(uploads, "/media/", allow_hard_links=False)
    assert call(mixed, "/static/photo.txt").body == b"a real upload\n"
    assert call(mixed, "/media/uploads/photo.txt").passed_through
    with pytest.raises(ConfigurationError, match="allow_hard_links"):
        mixed.add_files(uploads, "/other/", allow_hard_links="no")


def test_a_file_whose_extra_link_is_removed_after_the_open_is_still_refused(uploads, resolve_mode):
    """Between the open and the fstat the second name may go: the name is checked last."""
    from staticmw.serve import paths

    resolver = paths.Resolver([str(uploads)], single_link_roots=[str(uploads)])
    secret = uploads.parent / "app" / ".env"
    opened_fd, real = resolver.open_fd(str(uploads), ("uploads", "avatar.txt"))
    try:
        os.unlink(uploads / "uploads" / "avatar.txt")  # the .env now has one link: its own
        write(uploads / "uploads" / "avatar.txt", b"SECRET_KEY=hunter2\n", OLD)
        st = os.fstat(opened_fd)
        assert st.st_nlink == 1 and st.st_ino == os.stat(secret).st_ino
        assert not resolver.links_ok(real, opened_fd, st)
    finally:
        os.close(opened_fd)
    fresh = resolver.open(str(uploads), ("uploads", "avatar.txt"))
    assert fresh is not None and resolver.links_ok(fresh.path, fresh.fd, fresh.stat)
    fresh.close()


def test_a_name_added_and_removed_after_the_count_is_refused(uploads, resolve_mode):
    """A count of one read while a name is being added or removed proves nothing: when
    the file's change time moved after the count, the file is refused."""
    from staticmw.serve import paths

    resolver = paths.Resolver([str(uploads)], single_link_roots=[str(uploads)])
    opened = resolver.open(str(uploads), ("uploads", "photo.txt"))
    assert opened is not None
    try:
        assert resolver.links_ok(opened.path, opened.fd, opened.stat)
        elsewhere = uploads.parent / "elsewhere.txt"
        os.link(opened.path, elsewhere)
        os.unlink(elsewhere)  # one name again, but not the state that was counted
        assert os.fstat(opened.fd).st_nlink == 1
        assert not resolver.links_ok(opened.path, opened.fd, opened.stat)
    finally:
        opened.close()
