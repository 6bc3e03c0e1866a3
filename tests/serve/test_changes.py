"""Files that change, move or vanish while the server runs; HEAD/GET agreement."""

from __future__ import annotations

import errno
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from staticmw import FileChangedError
from staticmw.serve import cache, core, paths

from ..conftest import CSS, OLD
from ..helpers import call, gz, write


@pytest.fixture
def make(make):
    """These tests change files between requests: check the file system every time."""

    def factory(**options):
        options.setdefault("recheck_interval", 0)
        return make(**options)

    return factory


def _set_clock(monkeypatch, clock):
    """One clock for every module that reads the time."""
    for module in (core, cache):
        monkeypatch.setattr(module, "monotonic", lambda: clock[0])


def test_memory_copies_are_rechecked_after_the_interval(site, make, monkeypatch):
    clock = [1000.0]
    _set_clock(monkeypatch, clock)
    app = make(recheck_interval=1.0)
    first = call(app, "/static/hello.txt")
    write(site / "hello.txt", b"new content!\n", OLD + 100)
    clock[0] += 0.5
    within = call(app, "/static/hello.txt")
    # Within the interval: the old bytes, with the old headers that describe them.
    assert within.body == first.body and within.headers == first.headers
    clock[0] += 0.6
    after = call(app, "/static/hello.txt")
    assert after.body == b"new content!\n"
    assert (
        after.headers["content-length"] == "13" and after.headers["etag"] != first.headers["etag"]
    )
    os.remove(site / "hello.txt")
    clock[0] += 1.1
    assert call(app, "/static/hello.txt").passed_through


def test_misses_are_remembered_for_the_interval(site, make, monkeypatch):
    clock = [1000.0]
    _set_clock(monkeypatch, clock)
    app = make(recheck_interval=1.0)
    assert call(app, "/static/late.txt").passed_through
    write(site / "late.txt", b"here now", OLD)
    assert call(app, "/static/late.txt").passed_through  # still within the interval
    clock[0] += 1.5
    assert call(app, "/static/late.txt").body == b"here now"
    # Without an interval, and under autorefresh, nothing is remembered: a file that
    # appears after a miss is served on the next request.
    for n, options in enumerate(
        [{"recheck_interval": 0}, {"autorefresh": True, "recheck_interval": 5}]
    ):
        app = make(**options)
        assert call(app, f"/static/later-{n}.txt").passed_through
        write(site / f"later-{n}.txt", b"here at once", OLD)
        assert call(app, f"/static/later-{n}.txt").body == b"here at once"
        assert not app.known_miss(f"/static/later-{n}.txt")


def test_remembered_misses_are_bounded(make, monkeypatch):
    monkeypatch.setattr(cache, "MISS_ENTRIES", 5)
    app = make(recheck_interval=60)
    for i in range(20):
        assert call(app, f"/static/random-{i}.txt").passed_through
    assert sum(app.known_miss(f"/static/random-{i}.txt") for i in range(20)) == 5


def test_memory_budget(site, make):
    """Files are held in memory while the budget lasts: a held file is still answered
    within the recheck interval after it is deleted, one that was not held is not."""
    app = make(cache_bytes=20, recheck_interval=60)
    assert call(app, "/static/hello.txt").status == 200  # 12 bytes: kept
    assert call(app, "/static/app.js").status == 200  # larger than what is left
    hello, script = (site / "hello.txt").read_bytes(), (site / "app.js").read_bytes()
    os.remove(site / "hello.txt")
    os.remove(site / "app.js")
    assert call(app, "/static/hello.txt").body == hello
    assert call(app, "/static/app.js").passed_through
    write(site / "hello.txt", hello, OLD)
    none = make(cache_bytes=0, recheck_interval=60)
    assert call(none, "/static/hello.txt").body == hello
    os.remove(site / "hello.txt")
    assert call(none, "/static/hello.txt").passed_through
    assert len(script) > 20


@pytest.mark.parametrize("autorefresh", [False, True])
def test_edited_file_gets_new_headers_and_body(site, make, autorefresh):
    app = make(autorefresh=autorefresh)
    first = call(app, "/static/hello.txt")
    write(site / "hello.txt", b"changed and longer\n", OLD + 100)
    second = call(app, "/static/hello.txt")
    assert second.body == b"changed and longer\n"
    assert second.headers["content-length"] == str(len(second.body))
    assert second.headers["etag"] != first.headers["etag"]
    # a stale validator no longer gives 304
    assert (
        call(app, "/static/hello.txt", headers={"If-None-Match": first.headers["etag"]}).status
        == 200
    )


def test_same_size_edit_changes_etag(site, make):
    app = make()
    first = call(app, "/static/hello.txt")
    write(site / "hello.txt", b"HELLO WORLD\n", OLD + 7)
    second = call(app, "/static/hello.txt")
    assert second.body == b"HELLO WORLD\n" and second.headers["etag"] != first.headers["etag"]


def test_atomic_replacement(site, make):
    app = make()
    call(app, "/static/hello.txt")
    write(site / "tmp-new", b"replaced\n", OLD + 50)
    os.replace(site / "tmp-new", site / "hello.txt")
    assert call(app, "/static/hello.txt").body == b"replaced\n"


def test_deleted_file_becomes_a_miss(site, make):
    app = make()
    assert call(app, "/static/hello.txt").status == 200
    os.remove(site / "hello.txt")
    assert call(app, "/static/hello.txt").passed_through


def test_deleted_variant_falls_back(site, make):
    app = make()
    assert (
        call(app, "/static/app.css", headers={"Accept-Encoding": "br"}).headers["content-encoding"]
        == "br"
    )
    os.remove(site / "app.css.br")
    result = call(app, "/static/app.css", headers={"Accept-Encoding": "br, gzip"})
    assert result.status == 200 and result.headers["content-encoding"] == "gzip"


def test_file_replaced_by_directory(site, make):
    app = make()
    call(app, "/static/hello.txt")
    os.remove(site / "hello.txt")
    os.mkdir(site / "hello.txt")
    assert call(app, "/static/hello.txt").passed_through


def test_new_files_appear_without_restart(site, make):
    app = make()
    assert call(app, "/static/new.txt").passed_through
    write(site / "new.txt", b"new", OLD)
    assert call(app, "/static/new.txt").body == b"new"


def test_autorefresh_sees_new_variants(site, make):
    app = make(autorefresh=True)
    write(site / "late.css", CSS, OLD)
    assert (
        "content-encoding"
        not in call(app, "/static/late.css", headers={"Accept-Encoding": "gzip"}).headers
    )
    write(site / "late.css.gz", gz(CSS), OLD)
    assert (
        call(app, "/static/late.css", headers={"Accept-Encoding": "gzip"}).headers[
            "content-encoding"
        ]
        == "gzip"
    )


def test_file_shrinking_mid_stream_aborts_instead_of_lying(site, make, monkeypatch):
    from staticmw.serve import bodies

    monkeypatch.setattr(bodies, "BLOCK_SIZE", 16 * 1024)  # several blocks
    app = make()
    body = app(
        {"REQUEST_METHOD": "GET", "PATH_INFO": "/static/app.css", "wsgi.url_scheme": "http"},
        lambda *a: None,
    )
    iterator = iter(body)
    next(iterator)
    with open(site / "app.css", "r+b") as handle:
        handle.truncate(100)
    with pytest.raises(FileChangedError):
        for _ in iterator:
            pass
    body.close()


def test_small_file_changing_between_fstat_and_read_is_retried(site, make, monkeypatch):
    app = make()
    real_read = core.read_exact
    calls = []

    def flaky(fd, offset, length):
        if not calls:
            calls.append(1)
            write(site / "hello.txt", b"rewritten meanwhile\n", OLD + 30)
        return real_read(fd, offset, length)

    monkeypatch.setattr(core, "read_exact", flaky)
    result = call(app, "/static/hello.txt")
    assert result.status == 200
    assert result.headers["content-length"] == str(len(result.body))
    assert result.body == b"rewritten meanwhile\n"


def _fail_opens(monkeypatch, mode, error):
    """Make every open of ``hello.txt`` fail with *error*, on the resolver's path in *mode*."""
    if mode == "walk":
        real_open = os.open

        def deny(path, flags, *args, **kwargs):
            if str(path).endswith("hello.txt"):
                raise error
            return real_open(path, flags, *args, **kwargs)

        monkeypatch.setattr(os, "open", deny)
    else:
        real_fast = paths._fast_open

        def deny_fast(path):
            if path.endswith(b"hello.txt"):
                return -error.errno
            return real_fast(path)

        monkeypatch.setattr(paths, "_fast_open", deny_fast)


def test_unreadable_file_passes_through(make, monkeypatch, caplog, resolve_mode):
    app = make()
    _fail_opens(monkeypatch, resolve_mode, PermissionError(13, "Permission denied"))
    result = call(app, "/static/hello.txt")
    assert result.passed_through
    assert "cannot read" in caplog.text


def test_descriptor_exhaustion_is_an_uncacheable_503(make, monkeypatch, caplog, resolve_mode):
    app = make(cache_bytes=0)
    assert call(app, "/static/hello.txt").status == 200
    _fail_opens(monkeypatch, resolve_mode, OSError(errno.EMFILE, "Too many open files"))
    result = call(app, "/static/hello.txt")
    assert result.status == 503
    assert result.headers["cache-control"] == "no-store"
    assert result.headers["retry-after"] == "1"
    assert "Too many open files" in caplog.text
    monkeypatch.undo()
    assert call(app, "/static/hello.txt").status == 200
    # A first lookup that cannot open anything is a 503 too, not a 404 from the app.
    fresh = make()
    _fail_opens(monkeypatch, resolve_mode, OSError(errno.EMFILE, "Too many open files"))
    assert call(fresh, "/static/hello.txt").status == 503


def test_cache_is_bounded(site, make):
    app = make(recheck_interval=60, cache_entries=3)
    names = [f"small-{i}.txt" for i in range(5)]
    for name in names:
        write(site / name, name.encode(), OLD)
    for name in names:
        assert call(app, "/static/" + name).status == 200
    for name in names:
        os.remove(site / name)
    # Only what is still remembered (and held) can be answered once the files are gone.
    remembered = [name for name in names if call(app, "/static/" + name).status == 200]
    assert remembered == names[2:], remembered


def test_last_modified_within_the_current_second_is_weak(site, make, monkeypatch):
    from staticmw.serve import representations

    now = 1_800_000_000.7
    monkeypatch.setattr(representations.time, "time", lambda: now)
    write(site / "fresh.txt", b"brand new", now - 0.5)  # same second as "now"
    write(site / "settled.txt", b"older one", now - 10)
    app = make()
    for name, expected in (("fresh.txt", 200), ("settled.txt", 206)):
        lm = call(app, "/static/" + name).headers["last-modified"]
        ranged = call(app, "/static/" + name, headers={"Range": "bytes=0-1", "If-Range": lm})
        # §13.1.5: a date validates If-Range only when Last-Modified is strong.
        assert ranged.status == expected


# -- HEAD and GET always agree ------------------------------------------------------

header_values = {
    "Accept-Encoding": st.sampled_from(
        ["gzip", "br", "gzip, br", "identity", "*;q=0", "br;q=0, gzip"]
    ),
    "Range": st.sampled_from(
        ["bytes=0-9", "bytes=-5", "bytes=0-1,4-6", "bytes=900000-", "items=1-2", "bytes=x"]
    ),
    "If-None-Match": st.sampled_from(['"x"', "*", 'W/"y"', "junk"]),
    "If-Modified-Since": st.sampled_from(
        ["Sun, 06 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 2094 08:49:37 GMT", "junk"]
    ),
    "If-Match": st.sampled_from(["*", '"x"']),
    "If-Range": st.sampled_from(['"x"', "Sun, 06 Nov 1994 08:49:37 GMT"]),
}
request_headers = st.fixed_dictionaries({}, optional=header_values)


@given(
    headers=request_headers, name=st.sampled_from(["app.css", "hello.txt", "empty.txt", "app.js"])
)
def test_head_and_get_headers_are_equal(make, headers, name):
    app = make()
    get = call(app, "/static/" + name, headers=headers)
    head = call(app, "/static/" + name, method="HEAD", headers=headers)
    assert get.status < 500
    assert head.status_line == get.status_line
    assert head.header_list == get.header_list
    assert head.body == b""
    if "content-length" in get.headers:
        assert int(get.headers["content-length"]) == len(get.body)
