"""One decision, four ways in: for any set of request headers the WSGI adapter (its held
fast path and its first lookup), the core called directly, the ASGI adapter and
``explain`` agree on status, headers, body and the representation chosen."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from staticmw import StaticMiddleware
from staticmw.http.request import FIELDS, Request
from staticmw.integrations.asgi import ASGIStaticMiddleware
from staticmw.serve.core import StaticFiles

from ..conftest import CSS, OLD
from ..helpers import call, fallback_app, gz, write
from .test_asgi import asgi_call, asgi_fallback

PATHS = ("/static/app.css", "/static/hello.txt", "/static/app.3f2a9c1b9d0e.css", "/static/no")
GONE = "Wed, 01 Jan 2200 00:00:00 GMT"
EPOCH = "Thu, 01 Jan 1970 00:00:00 GMT"


@dataclasses.dataclass
class Setup:
    wsgi: StaticMiddleware
    asgi: ASGIStaticMiddleware
    validators: list[str]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("adapters") / "static"
    write(root / "app.css", CSS, OLD)
    write(root / "app.css.gz", gz(CSS), OLD)
    write(root / "app.css.br", gz(CSS)[:999], OLD)
    write(root / "hello.txt", b"hello world\n", OLD)
    write(root / "app.3f2a9c1b9d0e.css", b"h1{}\n", OLD)
    wsgi = StaticMiddleware(fallback_app, root, "/static/")
    asgi = ASGIStaticMiddleware(asgi_fallback, str(root), "/static/")
    validators = []
    for path in PATHS[:3]:
        for coding in ("identity", "gzip", "br"):
            headers = call(wsgi, path, headers={"Accept-Encoding": coding}).headers
            validators += [headers["etag"], "W/" + headers["etag"], headers["last-modified"]]
    return Setup(wsgi, asgi, sorted(set(validators)))


def header_sets(validators: list[str]) -> st.SearchStrategy[dict[str, str]]:
    tags = st.sampled_from(['"x"', "*", 'W/"x"', "", "garbage", *validators])
    dates = st.sampled_from([GONE, EPOCH, "not a date", *validators])
    values = {
        "Accept-Encoding": st.sampled_from(
            [
                "gzip",
                "br",
                "gzip, br",
                "br;q=0, gzip",
                "*",
                "identity;q=0",
                "zstd",
                "",
                "gzip;q=0.5, br;q=0.9",
                "*;q=0",
                "br;q=x",
                "GZIP",
            ]
        ),
        "If-None-Match": tags,
        "If-Match": tags,
        "If-Modified-Since": dates,
        "If-Unmodified-Since": dates,
        "Range": st.sampled_from(
            [
                "bytes=0-9",
                "bytes=-5",
                "bytes=5-",
                "bytes=0-1,4-6",
                "bytes=999999-",
                "bytes=x",
                "items=0-1",
                "bytes=0-0,0-0",
            ]
        ),
        "If-Range": tags | dates,
    }
    # A few fields at a time, so that most requests reach the representation.
    names = st.lists(st.sampled_from(sorted(values)), max_size=3, unique=True)
    return names.flatmap(lambda chosen: st.fixed_dictionaries({n: values[n] for n in chosen}))


def core_request(method: str, path: str, headers: dict[str, str]) -> Request:
    fields = {FIELDS[name.lower()]: value for name, value in headers.items()}
    return Request(method, path, **fields)


@settings(max_examples=300)
@given(data=st.data())
def test_every_way_in_gives_the_same_decision(setup, data):
    method = data.draw(st.sampled_from(["GET", "GET", "GET", "HEAD", "POST"]))
    path = data.draw(st.sampled_from(PATHS))
    headers = data.draw(header_sets(setup.validators))

    # A new core each time: nothing held, the whole lookup.
    fresh = StaticFiles(setup.wsgi.roots[0][1], "/static/")
    first = fresh.answer(core_request(method, path, headers))
    # The adapters have answered these paths before: for small files, the held path.
    wsgi = call(setup.wsgi, path, method, headers)
    status, asgi_headers, asgi_body, _ = asgi_call(setup.asgi, path, method, headers)

    if first is None:
        assert wsgi.passed_through and status == 404 and ("x-app", "1") in asgi_headers
        return
    plan, _ = first
    assert (wsgi.status, wsgi.header_list) == (plan.status, list(plan.headers))
    assert status == plan.status
    assert asgi_headers == [(name.lower(), value) for name, value in plan.headers]
    assert asgi_body == wsgi.body

    if method == "GET" and plan.status in (200, 206, 304):
        explained = setup.wsgi.explain(path, headers.get("Accept-Encoding"))
        coding = wsgi.headers.get("content-encoding", "identity")
        if plan.status == 304:  # no Content-Encoding on a 304: the ETag names the coding
            reps = _representations(setup.wsgi, path)
            coding = next(r.coding for r in reps if r.etag == wsgi.headers["etag"])
        assert explained.outcome == "served" and explained.chosen == coding
        if plan.status == 200:
            assert explained.headers == wsgi.header_list


def _representations(static: StaticFiles, path: str):
    found = static.lookup(path)
    assert found is not None and not isinstance(found, tuple)
    return found.representations  # type: ignore[union-attr]
