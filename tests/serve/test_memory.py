"""Memory stays bounded under hostile request text, through a server that accepts it whole.

Uvicorn with httptools takes header fields and request targets of many megabytes. What a
client chooses to send must not stay behind in any cache of ours: resident memory after
many distinct hostile requests stays within a few MiB of what it was after the first few.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from ..servers import Server

pytest.importorskip("httptools")

MiB = 1 << 20

APP = """
from staticmw.asgi import StaticMiddleware

async def fallback(scope, receive, send):
    await send({"type": "http.response.start", "status": 404, "headers": []})
    await send({"type": "http.response.body", "body": b"app"})

app = StaticMiddleware(fallback, "site", prefix="/static/", recheck_interval=60)
"""


@pytest.fixture
def server(tmp_path: Path):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "app.js").write_bytes(b"console.log(1);\n" * 200)
    (tmp_path / "site" / "app.js.gz").write_bytes(b"\x1f\x8b" + b"z" * 100)
    (tmp_path / "memapp.py").write_text(APP)
    # A fixed mmap threshold: glibc otherwise raises it after a large block is freed, and
    # keeps the next 16 MB value's freed buffer in the heap, which looks like a cache.
    command = [
        "env", "MALLOC_MMAP_THRESHOLD_=1048576",
        sys.executable, "-m", "uvicorn", "--http", "httptools", "--no-access-log",
        "--host", "127.0.0.1", "--port", "{port}", "memapp:app",
    ]  # fmt: skip
    running = Server(tmp_path, command, "uvicorn-httptools")
    yield running
    running.stop()


def rss(pid: int) -> int:
    """Resident memory of a process, in bytes."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def send_raw(port: int, head: bytes) -> bytes:
    """Send one request head as given; the status line of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(head)
        answer = b""
        while b"\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer.split(b"\r\n", 1)[0]


def growth(server: Server, make_head, warm: int = 3, rounds: int = 30) -> int:
    """RSS growth over *rounds* distinct hostile requests, after *warm* of them."""
    for i in range(warm):
        assert send_raw(server.port, make_head(i)).startswith(b"HTTP/1.1 ")
    before = rss(server.process.pid)
    for i in range(warm, warm + rounds):
        status = send_raw(server.port, make_head(i))
        assert status.startswith(b"HTTP/1.1 "), status
    return rss(server.process.pid) - before


def test_huge_accept_encoding_values_are_not_kept(server):
    def head(i: int) -> bytes:
        # 16 MB of codings, a different value each time: a cache keyed by it would keep each.
        value = f"gzip;q=0.{i % 10}, " + "x" * (16 * MiB) + f", n{i}"
        return (
            b"GET /static/app.js HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Accept-Encoding: " + value.encode() + b"\r\nConnection: close\r\n\r\n"
        )

    assert send_raw(server.port, head(0)) == b"HTTP/1.1 200 OK"
    # Less than one value: a cache keeping two of them grows by 16 MiB at least (all
    # thirty, 480 MiB), one keeping only the last was full before. What is left is the
    # allocator's noise around 16 MiB buffers, measured up to 12 MiB on a loaded machine.
    assert growth(server, head) < 15 * MiB


def test_long_missed_paths_are_not_kept(server):
    def head(i: int) -> bytes:
        # 60 KB paths that name nothing: misses, each distinct.
        path = f"/static/{i}-" + "m" * 60_000
        return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()

    assert send_raw(server.port, head(0)) == b"HTTP/1.1 404 Not Found"
    assert growth(server, head, warm=20, rounds=1000) < 8 * MiB
