"""What only a real server shows: sendfile, raw request targets, connection handling."""

from __future__ import annotations

import gzip
import os
import socket
import time

import pytest

from ..conftest import OLD
from ..helpers import gz, write
from ..servers import Gunicorn

pytestmark = pytest.mark.server

BIG = bytes(range(256)) * 4096 * 4  # 4 MiB, every byte value
APP = """
from staticmw import StaticMiddleware

def app(environ, start_response):
    start_response("404 Not Found", [("Content-Type", "text/plain"), ("X-App", "1")])
    return [b"app"]

static = StaticMiddleware(app, root="static", prefix="/static/", index_file=True)


def application(environ, start_response):
    # Records which body object reached Gunicorn: its FileWrapper means sendfile.
    body = static(environ, start_response)
    if environ.get("HTTP_X_RECORD"):
        with open("bodies.log", "a") as log:
            log.write(environ["HTTP_X_RECORD"] + " " + type(body).__module__ + "\\n")
    return body
"""


@pytest.fixture(scope="module", params=["sync", "gthread"])
def server(request, tmp_path_factory):
    base = tmp_path_factory.mktemp("gunicorn")
    root = base / "static"
    write(root / "big.bin", BIG, OLD)
    write(root / "app.css", b"body{}\n" * 2000, OLD)
    write(root / "app.css.gz", gz(b"body{}\n" * 2000), OLD)
    write(root / "docs" / "index.html", b"<h1>docs</h1>", OLD)
    write(base / "secret.txt", b"TOP SECRET", OLD)
    write(base / "wsgi_app.py", APP)
    extra = ["--worker-class", request.param]
    if request.param == "gthread":
        extra += ["--threads", "4"]
    gunicorn = Gunicorn(base, "wsgi_app:application", *extra)
    gunicorn.base = base
    yield gunicorn
    gunicorn.stop()
    assert gunicorn.process.returncode is not None


def test_large_file_whole(server):
    status, headers, body = server.request("GET", "/static/big.bin")
    assert status == 200 and body == BIG
    assert headers["content-length"] == str(len(BIG))
    assert headers["content-type"] == "application/octet-stream"


def test_large_range_through_sendfile(server):
    status, headers, body = server.request(
        "GET", "/static/big.bin", {"Range": "bytes=1000000-2999999"}
    )
    assert status == 206
    assert body == BIG[1000000:3000000]
    assert headers["content-range"] == f"bytes 1000000-2999999/{len(BIG)}"
    status, _, body = server.request("GET", "/static/big.bin", {"Range": "bytes=-100"})
    assert status == 206 and body == BIG[-100:]


def test_single_ranges_reach_sendfile(server):
    for label, spec, bounds in (
        ("small", "bytes=5-9", (5, 10)),
        ("large", "bytes=0-2999999", (0, 3000000)),
        ("suffix", "bytes=-1", (-1, None)),
    ):
        status, _, body = server.request(
            "GET", "/static/big.bin", {"Range": spec, "X-Record": label}
        )
        assert status == 206 and body == BIG[slice(*bounds)]
    log = (server.base / "bodies.log").read_text().splitlines()
    for label in ("small", "large", "suffix"):
        assert f"{label} gunicorn.http.wsgi" in log, log


def test_multipart_through_gunicorn(server):
    status, headers, body = server.request(
        "GET", "/static/big.bin", {"Range": "bytes=0-9,2000000-2000009"}
    )
    assert status == 206 and headers["content-type"].startswith("multipart/byteranges")
    assert BIG[:10] in body and BIG[2000000:2000010] in body
    assert len(body) == int(headers["content-length"])


def test_head_matches_get(server):
    get = server.request("GET", "/static/app.css", {"Accept-Encoding": "gzip"})
    head = server.request("HEAD", "/static/app.css", {"Accept-Encoding": "gzip"})
    strip = lambda h: {k: v for k, v in h.items() if k != "date"}  # noqa: E731
    assert head[0] == get[0] == 200
    assert strip(head[1]) == strip(get[1])
    assert head[2] == b""
    assert gzip.decompress(get[2]) == b"body{}\n" * 2000


def test_disconnects_mid_transfer_leave_no_descriptor(server):
    (worker,) = server.worker_pids()
    server.request("GET", "/static/big.bin")  # warm up
    before = len(os.listdir(f"/proc/{worker}/fd"))
    for _ in range(30):
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.sendall(b"GET /static/big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.recv(1024)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if len(os.listdir(f"/proc/{worker}/fd")) <= before:
            break
        time.sleep(0.1)
    assert len(os.listdir(f"/proc/{worker}/fd")) <= before
    assert server.request("GET", "/static/app.css")[0] == 200
