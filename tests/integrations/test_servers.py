"""One HTTP test set under every server we support: Gunicorn sync and gthread, Waitress,
wsgiref and Granian for WSGI; Uvicorn, Hypercorn and Granian for ASGI. They decode paths and
handle file bodies differently; the answers must not differ."""

from __future__ import annotations

import functools
import gzip
import sys

import pytest

from ..conftest import OLD
from ..helpers import gz, write
from ..servers import Gunicorn, Server, waitress, wsgiref_server

pytestmark = pytest.mark.server

BIG = bytes(range(256)) * 4096 * 2  # 2 MiB, every byte value
CSS = b"body { color: #123; }\n" * 500
APP = """
from staticmw import StaticMiddleware

def app(environ, start_response):
    start_response("404 Not Found", [("Content-Type", "text/plain"), ("X-App", "1")])
    return [b"app"]

application = StaticMiddleware(app, root="static", prefix="/static/", index_file=True)
"""

ASGI_APP = """
from staticmw.asgi import StaticMiddleware, acknowledge_lifespan

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        return await acknowledge_lifespan(receive, send)
    await send({"type": "http.response.start", "status": 404,
                "headers": [(b"content-type", b"text/plain"), (b"x-app", b"1")]})
    await send({"type": "http.response.body", "body": b"app"})

application = StaticMiddleware(app, root="static", prefix="/static/", index_file=True)
"""

ASGI_SERVERS = {
    "uvicorn": [
        "uvicorn", "--host", "127.0.0.1", "--port", "{port}", "--no-access-log",
        "--log-level", "warning",
    ],
    "hypercorn": ["hypercorn", "--bind", "127.0.0.1:{port}"],
    "granian": [
        "granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", "{port}",
        "--workers", "1",
    ],
}  # fmt: skip


GRANIAN_WSGI = [
    sys.executable, "-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1",
    "--port", "{port}", "--workers", "1", "wsgi_app:application",
]  # fmt: skip


def asgi_server(name: str, base) -> Server:
    return Server(base, [sys.executable, "-m", *ASGI_SERVERS[name], "asgi_app:application"], name)


SERVERS = {
    "gunicorn-sync": lambda base: Gunicorn(base, "wsgi_app:application"),
    "gunicorn-gthread": lambda base: Gunicorn(
        base, "wsgi_app:application", "--worker-class", "gthread", "--threads", "4"
    ),
    "waitress": lambda base: waitress(base, "wsgi_app:application"),
    "wsgiref": lambda base: wsgiref_server(base, "wsgi_app:application"),
    "granian-wsgi": lambda base: Server(base, GRANIAN_WSGI, "granian-wsgi"),
    **{name: functools.partial(asgi_server, name) for name in ASGI_SERVERS},
}


@pytest.fixture(scope="module", params=list(SERVERS))
def server(request, tmp_path_factory):
    base = tmp_path_factory.mktemp(request.param)
    root = base / "static"
    write(root / "big.bin", BIG, OLD)
    write(root / "app.css", CSS, OLD)
    write(root / "app.css.gz", gz(CSS), OLD)
    write(root / "caf\u00e9 menu.txt", b"unicode name", OLD)
    write(root / "docs" / "index.html", b"<h1>docs</h1>", OLD)
    write(root / ".env", b"TOP SECRET", OLD)
    write(base / "secret.txt", b"TOP SECRET", OLD)
    write(base / "wsgi_app.py", APP)
    write(base / "asgi_app.py", ASGI_APP)
    running = SERVERS[request.param](base)
    yield running
    running.stop()


def test_whole_files(server):
    status, headers, body = server.request("GET", "/static/big.bin")
    assert status == 200 and body == BIG and headers["content-length"] == str(len(BIG))
    status, headers, body = server.request("GET", "/static/app.css", {"Accept-Encoding": "gzip"})
    assert headers["content-encoding"] == "gzip" and gzip.decompress(body) == CSS
    assert headers["vary"] == "Accept-Encoding"


def test_head_and_conditionals(server):
    _, get_headers, _ = server.request("GET", "/static/app.css")
    status, head_headers, body = server.request("HEAD", "/static/app.css")
    assert status == 200 and body == b""
    for name in ("etag", "last-modified", "content-type", "content-length", "cache-control"):
        assert head_headers[name] == get_headers[name]
    status, not_modified, body = server.request(
        "GET", "/static/app.css", {"If-None-Match": get_headers["etag"]}
    )
    assert status == 304 and body == b"" and not_modified["etag"] == get_headers["etag"]
    assert server.request("GET", "/static/app.css", {"If-Match": '"nope"'})[0] == 412


def test_ranges(server):
    status, headers, body = server.request(
        "GET", "/static/big.bin", {"Range": "bytes=100000-1199999"}
    )
    assert status == 206 and body == BIG[100000:1200000]
    assert headers["content-range"] == f"bytes 100000-1199999/{len(BIG)}"
    status, _, body = server.request("GET", "/static/app.css", {"Range": "bytes=-10"})
    assert status == 206 and body == CSS[-10:]
    status, headers, body = server.request("GET", "/static/app.css", {"Range": "bytes=0-1,5-6"})
    assert status == 206 and headers["content-type"].startswith("multipart/byteranges")
    assert int(headers["content-length"]) == len(body)
    assert server.request("GET", "/static/app.css", {"Range": "bytes=99999-"})[0] == 416


def test_names_and_directories(server):
    status, _, body = server.request("GET", "/static/caf%C3%A9%20menu.txt")
    assert status == 200 and body == b"unicode name"
    status, headers, _ = server.request("GET", "/static/docs?page=2")
    assert status == 301 and headers["location"] == "docs/?page=2"
    assert server.request("GET", "/static/docs/")[2] == b"<h1>docs</h1>"


@pytest.mark.parametrize(
    "target",
    [
        "/static/../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/%2e%2e%2fsecret.txt",
        "/static/%2E%2E%2Fsecret.txt",
        "/static/%252e%252e/secret.txt",
        "/static/%c0%ae%c0%ae/secret.txt",
        "/static/./big.bin",
        "/static/c:%5csecret.txt",
        "/static/%ff%fe",
        "/static/big.bin%00.txt",
        "/static/..%5csecret.txt",
        "/static/.env",
        "/static/%2eenv",
        "/static/big.bin%00",
        "/static/caf%E9%20menu.txt",  # latin-1 bytes: invalid UTF-8
        "/static/%ef%bc%8e%ef%bc%8e/secret.txt",
        "/static//big.bin",
    ],
)
def test_hostile_targets(server, target):
    status, headers, body = server.request("GET", target)
    assert status < 500
    assert b"TOP SECRET" not in body
    assert headers.get("x-app") == "1" or status == 400
