"""A minimal WSGI caller that sets PATH_INFO byte-exactly and records what came back."""

from __future__ import annotations

import gzip
import os
from collections.abc import Mapping
from wsgiref.util import setup_testing_defaults

APP_BODY = b"from the app"


def fallback_app(environ, start_response):
    """The wrapped application: answers 404 and echoes the path it saw."""
    start_response("404 Not Found", [("Content-Type", "text/plain"), ("X-App", "1")])
    return [APP_BODY + b":" + environ["PATH_INFO"].encode("latin-1")]


class Result:
    def __init__(self, status: str, headers: list[tuple[str, str]], body: bytes):
        self.status_line = status
        self.status = int(status.split()[0])
        self.header_list = headers
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body

    @property
    def passed_through(self) -> bool:
        return self.headers.get("x-app") == "1"

    def __repr__(self) -> str:
        return f"<Result {self.status_line} {self.headers} {self.body[:60]!r}>"


def call(
    app,
    path: str,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    raw: bool = False,
    query: str = "",
    environ_extra: Mapping[str, object] | None = None,
) -> Result:
    """Run one request. *path* is text encoded as UTF-8 unless *raw* (already latin-1 form)."""
    environ: dict = {}
    setup_testing_defaults(environ)
    environ["REQUEST_METHOD"] = method
    environ["PATH_INFO"] = path if raw else path.encode("utf-8").decode("latin-1")
    environ["QUERY_STRING"] = query
    environ.pop("wsgi.file_wrapper", None)
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    environ.update(environ_extra or {})
    captured: list = []

    def start_response(status, response_headers, exc_info=None):
        captured.append((status, list(response_headers)))

    iterable = app(environ, start_response)
    try:
        body = b"".join(iterable)
    finally:
        close = getattr(iterable, "close", None)
        if close is not None:
            close()
    status, response_headers = captured[0]
    return Result(status, response_headers, body)


def write(path, data: bytes | str, mtime: float | None = None) -> None:
    """Create a file (and its parents); optionally set its mtime."""
    path = os.fspath(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data.encode() if isinstance(data, str) else data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def gz(data: bytes) -> bytes:
    return gzip.compress(data, 9, mtime=0)


def body_of(response) -> bytes:
    """A Django response's body, whether it streams (sync or async) or not."""
    if not getattr(response, "streaming", False):
        return bytes(response.content)
    if getattr(response, "is_async", False):
        import asyncio

        async def gather():
            return b"".join([chunk async for chunk in response.streaming_content])

        return asyncio.run(gather())
    return b"".join(response.streaming_content)


def best_time(work, data, repeat: int = 2) -> float:
    """The shortest of *repeat* runs of ``work(data)``, in seconds."""
    import time

    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work(data)
        times.append(time.perf_counter() - started)
    return min(times)


def within(work, hostile, plain_seconds: float, limit: float) -> float:
    """How many times *plain_seconds* ``work(hostile)`` takes, the best of up to three runs:
    another try only while over *limit*, so a busy moment is not taken for a slow scanner.
    Scanners are linear when a crafted input costs about what an ordinary one of its size
    does; a quadratic one costs hundreds of times more, however busy the machine."""
    ratio = float("inf")
    for _ in range(3):
        ratio = min(ratio, best_time(work, hostile, 1) / plain_seconds)
        if ratio < limit:
            break
    return ratio


def children_of(pid: int) -> list[int]:
    """The processes whose parent is *pid* now (Linux's /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as handle:
                    fields = handle.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def alive(pid: int) -> bool:
    """Whether *pid* runs still (a zombie waiting for its reaper does not)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False


def still_alive_after(pids: list[int], seconds: float) -> list[int]:
    """Those of *pids* still running once they have had *seconds* to end; each is then
    killed, so a test leaves none behind."""
    import contextlib
    import signal
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(alive(pid) for pid in pids):
        time.sleep(0.05)
    left = [pid for pid in pids if alive(pid)]
    for pid in left:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    return left
