"""The ASGI middleware: the same request table through both adapters gives the same answers."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from urllib.parse import unquote_to_bytes

import pytest

from staticmw import StaticMiddleware
from staticmw.integrations.asgi import StaticMiddleware as ASGIStaticMiddleware
from staticmw.integrations.asgi import path_info
from staticmw.serve import paths
from staticmw.serve.bodies import SMALL_BODY

from ..conftest import OLD
from ..helpers import APP_BODY, call, fallback_app, write


async def asgi_fallback(scope, receive, send):
    """The wrapped application, as helpers.fallback_app: 404 and the path it saw."""
    await send(
        {
            "type": "http.response.start",
            "status": 404,
            "headers": [(b"content-type", b"text/plain"), (b"x-app", b"1")],
        }
    )
    body = APP_BODY + b":" + path_info(scope).encode("latin-1")
    await send({"type": "http.response.body", "body": body})


def scope_for(target: str, method: str = "GET", headers=None, root_path: str = "") -> dict:
    raw, _, query = target.partition("?")
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote_to_bytes(raw).decode("utf-8", "replace"),
        "raw_path": raw.encode("latin-1"),
        "root_path": root_path,
        "query_string": query.encode("latin-1"),
        "headers": [(k.lower().encode(), v.encode("latin-1")) for k, v in (headers or {}).items()],
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 50000),
    }


class Client:
    """``receive`` as a server gives it: the (empty) request body once, then it waits.

    With *disconnect_after* it reports ``http.disconnect`` once that many body
    messages were sent, as when a client goes away mid-download.
    """

    def __init__(self, disconnect_after: int | None = None):
        self.started = False
        self.sent = 0
        self.disconnect_after = disconnect_after

    async def receive(self):
        if not self.started:
            self.started = True
            return {"type": "http.request", "body": b"", "more_body": False}
        while self.disconnect_after is None or self.sent < self.disconnect_after:
            await asyncio.sleep(0.001)
        return {"type": "http.disconnect"}


PATHSEND = "http.response.pathsend"


def asgi_call(app, target, method="GET", headers=None, root_path="", pathsend=False):
    """One request in-process: (status, headers as (lower-case name, value), body, messages).

    With *pathsend* the scope offers the pathsend extension, and a path sent is
    read as a server would read it, right after the message.
    """
    messages: list[dict] = []
    sent_files: list[bytes] = []

    async def send(message):
        messages.append(message)
        if message["type"] == PATHSEND:
            with open(message["path"], "rb") as file:
                sent_files.append(file.read())

    scope = scope_for(target, method, headers, root_path)
    if pathsend:
        scope["extensions"] = {PATHSEND: {}}
    asyncio.run(app(scope, Client().receive, send))
    start = messages[0]
    assert start["type"] == "http.response.start"
    headers_out = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start["headers"]]
    body = b"".join(m.get("body", b"") for m in messages[1:]) + b"".join(sent_files)
    assert not messages[-1].get("more_body", False)
    return start["status"], headers_out, body, messages


# (method, target as sent, request headers)
TABLE = [
    ("GET", "/static/hello.txt", {}),
    ("HEAD", "/static/hello.txt", {}),
    ("GET", "/static/app.css", {"Accept-Encoding": "gzip, br"}),
    ("GET", "/static/app.css", {"Accept-Encoding": "gzip;q=1, br;q=0"}),
    ("GET", "/static/app.css", {}),
    ("HEAD", "/static/app.css", {}),
    ("GET", "/static/app.css", {"Range": "bytes=0-99"}),
    ("GET", "/static/app.css", {"Range": "bytes=0-9,20-29"}),
    ("GET", "/static/app.css", {"Range": "bytes=999999-"}),
    ("GET", "/static/hello.txt", {"Range": "bytes=-5"}),
    ("GET", "/static/hello.txt", {"If-None-Match": "*"}),
    ("GET", "/static/hello.txt", {"If-Match": '"nope"'}),
    ("GET", "/static/hello.txt", {"If-Modified-Since": "Wed, 01 Jan 2200 00:00:00 GMT"}),
    ("GET", "/static/hello.txt", {"If-Range": '"other"', "Range": "bytes=0-1"}),
    ("POST", "/static/hello.txt", {}),
    ("GET", "/static/docs?a=b", {}),
    ("GET", "/static/docs/", {}),
    ("GET", "/static/app.3f2a9c1b9d0e.css", {}),
    ("GET", "/static/empty.txt", {}),
    ("GET", "/static/caf%C3%A9.txt", {}),
    ("GET", "/static/big.bin", {}),
    ("GET", "/static/big.bin", {"Range": "bytes=70000-70099"}),
    # passed through
    ("GET", "/static/%2e%2e/secret.txt", {}),
    ("GET", "/static/..%2fsecret.txt", {}),
    ("GET", "/static/.env", {}),
    ("GET", "/static/.git/config", {}),
    ("GET", "/static/a%FFb", {}),
    ("GET", "/static/missing.txt", {}),
    ("GET", "/static/nodir/", {}),
    ("GET", "/elsewhere", {}),
    ("GET", "/static/app.css.gz", {}),
]


@pytest.fixture
def both(site):
    write(site / "café.txt", b"accented name\n", OLD)
    write(site / "big.bin", bytes(range(256)) * 400, OLD)  # over the in-memory limit
    options = {"prefix": "/static/", "index_file": True}
    return (
        StaticMiddleware(fallback_app, site, **options),
        ASGIStaticMiddleware(asgi_fallback, str(site), **options),
    )


@pytest.mark.parametrize("pathsend", [False, True], ids=["blocks", "pathsend"])
@pytest.mark.parametrize(("method", "target", "headers"), TABLE)
def test_the_same_answers_through_wsgi_and_asgi(
    both, resolve_mode, method, target, headers, pathsend
):
    wsgi, asgi = both
    raw = target.split("?", 1)[0]
    query = target.partition("?")[2]
    for _ in range(2):  # a first lookup, then whatever is remembered
        expected = call(
            wsgi, unquote_to_bytes(raw).decode("latin-1"), method, headers, raw=True, query=query
        )
        status, got_headers, body, messages = asgi_call(
            asgi, target, method, headers, pathsend=pathsend
        )
        # Only a whole large file goes by path, and only to a server that offers it.
        by_path = [m for m in messages if m["type"] == PATHSEND]
        whole_large = expected.status == 200 and method == "GET" and len(expected.body) > SMALL_BODY
        assert len(by_path) == (1 if pathsend and whole_large else 0), target
        assert status == expected.status, target
        wanted = [(k.lower(), v) for k, v in expected.header_list]
        assert got_headers == wanted, target
        assert body == expected.body, target
        if expected.passed_through:
            assert ("x-app", "1") in got_headers


def test_request_fields_as_a_wsgi_server_gives_them():
    from staticmw.integrations.asgi import asgi_request
    from staticmw.middleware import wsgi_request

    scope = scope_for("/static/a?x=%C3%A9", headers={"Range": "bytes=0-1", "If_Match": "*"})
    scope["headers"] += [(b"accept-encoding", b"gzip"), (b"accept-encoding", b"br")]
    request = asgi_request(scope, "/static/a")
    assert request.query == "x=%C3%A9"
    assert request.range == "bytes=0-1"
    assert request.accept_encoding == "gzip,br"  # repeated fields are one list
    assert request.if_match is None  # an underscore may not pose as a hyphen
    # The same request through a WSGI server gives the same record.
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/static/a",
        "QUERY_STRING": "x=%C3%A9",
        "HTTP_RANGE": "bytes=0-1",
        "HTTP_ACCEPT_ENCODING": "gzip,br",
    }
    assert repr(wsgi_request(environ)) == repr(request)


def test_other_scopes_pass_through_untouched(both):
    _, asgi = both
    seen = []

    async def app(scope, receive, send):
        seen.append((scope, receive, send))

    middleware = ASGIStaticMiddleware(app, asgi.roots[0][1], "/static/")

    async def receive():
        return {}

    async def send(message):
        pass

    for kind in ("websocket", "lifespan"):
        scope = {"type": kind, "path": "/static/hello.txt", "raw_path": b"/static/hello.txt"}
        asyncio.run(middleware(scope, receive, send))
        assert seen[-1] == (scope, receive, send)
        assert seen[-1][0] is scope


def test_root_path_is_kept_out_like_script_name(both):
    _, asgi = both
    # Mounted below /sub: the target carries the mount (as under Starlette's Mount) ...
    status, _, body, _ = asgi_call(asgi, "/sub/static/hello.txt", root_path="/sub")
    assert (status, body) == (200, b"hello world\n")
    # ... or a proxy stripped it and only path says so (uvicorn --root-path).
    assert path_info({"raw_path": b"/static/x", "path": "/sub/static/x", "root_path": "/sub"}) == (
        "/static/x"
    )
    assert path_info({"path": "/static/caf\u00e9"}) == "/static/caf\u00c3\u00a9"
    assert path_info({"raw_path": b"/subway/x", "root_path": "/sub"}) == "/subway/x"


def test_file_system_work_stays_off_the_event_loop(both, monkeypatch):
    _, asgi = both
    threads: list[int] = []
    real = paths.Resolver.open_fd

    def recording(self, root, parts):
        threads.append(threading.get_ident())
        return real(self, root, parts)

    monkeypatch.setattr(paths.Resolver, "open_fd", recording)
    loop_thread: list[int] = []

    async def run(target):
        loop_thread.append(threading.get_ident())
        messages = []

        async def send(message):
            messages.append(message)

        await asgi(scope_for(target), Client().receive, send)
        return messages

    messages = asyncio.run(run("/static/hello.txt"))
    assert messages[0]["status"] == 200
    assert threads and loop_thread[0] not in threads  # looked up in a worker thread
    threads.clear()
    asyncio.run(run("/static/hello.txt"))
    assert threads == []  # from memory: no file-system call at all


def test_large_bodies_stream_in_blocks_and_release_the_descriptor(both, monkeypatch):
    from staticmw.integrations import asgi as module

    _, asgi = both
    monkeypatch.setattr(module, "BLOCK_SIZE", 40_000)
    before = len(os.listdir("/proc/self/fd"))
    status, _, body, messages = asgi_call(asgi, "/static/big.bin")
    assert status == 200 and body == bytes(range(256)) * 400
    # start, three blocks of at most BLOCK_SIZE, the end
    assert [len(m.get("body", b"")) for m in messages] == [0, 40_000, 40_000, 22_400, 0]
    assert len(os.listdir("/proc/self/fd")) == before

    async def failing(message):
        if message["type"] == "http.response.body":
            raise OSError("the server could not write")

    with pytest.raises(OSError):
        asyncio.run(asgi(scope_for("/static/big.bin"), Client().receive, failing))
    assert len(os.listdir("/proc/self/fd")) == before


def test_a_client_that_disconnects_stops_the_transfer(both, site):
    from staticmw.integrations import asgi as module

    _, asgi = both
    write(site / "huge.bin", b"x" * (8 * 1024 * 1024), OLD)
    before = len(os.listdir("/proc/self/fd"))
    client = Client(disconnect_after=3)
    messages = []

    async def send(message):
        messages.append(message)
        if message["type"] == "http.response.body":
            client.sent += 1
            await asyncio.sleep(0.002)  # a slow client

    asyncio.run(asgi(scope_for("/static/huge.bin"), client.receive, send))
    sent = sum(len(m.get("body", b"")) for m in messages[1:])
    assert 0 < sent <= 4 * module.BLOCK_SIZE  # stopped after a few blocks of 8 MiB
    assert len(os.listdir("/proc/self/fd")) == before


def test_slow_file_system_calls_run_off_the_event_loop(both, site, monkeypatch):
    """File-system calls never run on the event loop's thread: each ``fstat`` (made slow,
    as on a busy disk) is made on another thread, and the files still go out whole."""
    _, asgi = both
    for number in range(4):
        write(site / f"large{number}.bin", bytes(range(256)) * 1024, OLD)
    real_fstat = os.fstat
    threads: list[int] = []

    def slow_fstat(fd):
        threads.append(threading.get_ident())
        time.sleep(0.01)
        return real_fstat(fd)

    monkeypatch.setattr(os, "fstat", slow_fstat)

    async def main():
        loop_thread = threading.get_ident()
        bodies: dict[int, bytes] = {}

        async def fetch(number):
            chunks: list[bytes] = []

            async def send(message):
                chunks.append(message.get("body", b""))
                await asyncio.sleep(0.001)  # a slow client

            await asgi(scope_for(f"/static/large{number}.bin"), Client().receive, send)
            bodies[number] = b"".join(chunks)

        await asyncio.gather(*(fetch(n) for n in range(4)))
        return loop_thread, bodies

    loop_thread, bodies = asyncio.run(main())
    assert all(body == bytes(range(256)) * 1024 for body in bodies.values()) and len(bodies) == 4
    assert threads, "no fstat was made: the test proves nothing"
    assert loop_thread not in threads, "an fstat ran on the event loop's thread"


def test_options_and_helpers_are_the_wsgi_ones(both, site):
    _, asgi = both
    assert asgi.roots == [("/static/", str(site.resolve()))]
    assert asgi.static_url("hello.txt") == "/static/hello.txt"
    assert asgi.explain("/static/hello.txt").outcome == "served"
    from staticmw import ConfigurationError

    with pytest.raises(ConfigurationError, match="max_age"):
        ASGIStaticMiddleware(asgi_fallback, str(site), "/static/", max_age="x")
    with pytest.raises(ConfigurationError):
        ASGIStaticMiddleware("not an app", str(site))


def test_acknowledge_lifespan_answers_startup_and_shutdown():
    from staticmw.integrations.asgi import acknowledge_lifespan

    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent = []

    async def receive():
        return incoming.pop(0)

    async def send(message):
        sent.append(message["type"])

    asyncio.run(acknowledge_lifespan(receive, send))
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert incoming == []  # returned after shutdown, reading nothing more


def test_zerocopysend_gets_the_checked_descriptor_for_one_span(both):
    """A server offering zerocopysend sends from our open file: whole files and single ranges;
    several ranges still go as blocks. The descriptor is closed once the server has sent it."""
    _, asgi = both
    sent_files = []

    async def run(target, headers):
        messages, body = [], []

        async def send(message):
            messages.append(message)
            if message["type"] == "http.response.zerocopysend":
                file = message["file"]
                sent_files.append(file)
                body.append(os.pread(file.fileno(), message["count"], message["offset"]))
            elif message["type"] == "http.response.body":
                body.append(message.get("body", b""))

        scope = scope_for(target, headers=headers)
        scope["extensions"] = {"http.response.zerocopysend": {}}
        await asgi(scope, Client().receive, send)
        return messages, b"".join(body)

    data = bytes(range(256)) * 400
    before = len(os.listdir("/proc/self/fd"))
    messages, body = asyncio.run(run("/static/big.bin", {}))
    assert body == data and messages[1]["type"] == "http.response.zerocopysend"
    messages, body = asyncio.run(run("/static/big.bin", {"Range": "bytes=70000-70099"}))
    assert body == data[70000:70100] and messages[1]["offset"] == 70000
    messages, body = asyncio.run(run("/static/big.bin", {"Range": "bytes=0-1,5-6"}))
    assert all(m["type"] != "http.response.zerocopysend" for m in messages)
    assert all(file.closed for file in sent_files) and len(sent_files) == 2
    assert len(os.listdir("/proc/self/fd")) == before


def test_a_held_file_goes_from_scope_to_send_without_a_request_object(site, monkeypatch):
    """The warm path reads the scope's headers as they are: once a file is held, its 200,
    304 and 206 build no request object; what needs the file system still does."""
    from staticmw.integrations import asgi as module

    app = ASGIStaticMiddleware(asgi_fallback, site, "/static/")
    status, headers, body, _ = asgi_call(app, "/static/hello.txt")  # looked up, then held
    assert status == 200 and body == b"hello world\n"
    etag = dict(headers)["etag"]
    built: list[str] = []
    real = module.asgi_request

    def counted(scope, path):
        built.append(path)
        return real(scope, path)

    monkeypatch.setattr(module, "asgi_request", counted)
    assert asgi_call(app, "/static/hello.txt")[2] == b"hello world\n"
    assert asgi_call(app, "/static/hello.txt", headers={"If-None-Match": etag})[0] == 304
    assert built == []
    ranged = asgi_call(app, "/static/hello.txt", headers={"Range": "bytes=0-4"})
    assert ranged[0] == 206 and ranged[2] == b"hello"
    assert built == []
    # A file not looked up yet goes the full way, off the loop.
    assert asgi_call(app, "/static/app.js")[0] == 200
    assert built == ["/static/app.js"]


def test_the_warm_path_reads_the_headers_once_and_only_for_a_known_file(site):
    """A request the core has no entry for (pass-through, a miss) costs no pass over its
    headers; a remembered file's costs exactly one, which reads only what serving needs."""
    from staticmw.http.request import ACCEPT, HOST, IF_NONE_MATCH, METHOD
    from staticmw.integrations.asgi import fields_of

    class Counted(list):
        passes = 0

        def __iter__(self):
            Counted.passes += 1
            return super().__iter__()

    app = ASGIStaticMiddleware(asgi_fallback, site, "/static/")
    assert asgi_call(app, "/static/hello.txt")[0] == 200  # looked up, then held

    def passes_for(target: str) -> int:
        scope = scope_for(target, "GET", {"Host": "h", "Accept": "*/*"}, "")
        scope["headers"] = Counted(scope["headers"])
        Counted.passes = 0
        messages: list[dict] = []

        async def send(message):
            messages.append(message)

        asyncio.run(app(scope, Client().receive, send))
        assert messages[0]["status"] == (200 if target.startswith("/static/") else 404)
        return Counted.passes

    assert passes_for("/api/thing") == 0  # the application's (which reads none here)
    assert passes_for("/static/hello.txt") == 1
    get = fields_of(
        {
            "method": "HEAD",
            "headers": [(b"host", b"h"), (b"if-none-match", b'"a"'), (b"if-none-match", b'"b"')],
        }
    )
    assert get(METHOD) == "HEAD" and get(IF_NONE_MATCH) == '"a","b"'
    assert get(HOST) is None and get(ACCEPT) is None  # a navigation's, never a file's


def test_the_warm_path_joins_a_repeated_field_as_the_full_path_does(site):
    """Two ``If-None-Match`` fields are one list (RFC 9110 §5.3), held file or not; a
    repeated field the core does not read changes nothing."""
    app = ASGIStaticMiddleware(asgi_fallback, site, "/static/")
    etag = dict(asgi_call(app, "/static/hello.txt")[1])["etag"]

    def status_of(fields):
        messages: list[dict] = []

        async def send(message):
            messages.append(message)

        scope = scope_for("/static/hello.txt")
        scope["headers"] = [(name.encode(), value.encode()) for name, value in fields]
        asyncio.run(app(scope, Client().receive, send))
        return messages[0]["status"]

    assert status_of([("if-none-match", '"other"'), ("if-none-match", etag)]) == 304
    assert status_of([("if-none-match", etag), ("if-none-match", '"other"')]) == 304
    assert status_of([("if-none-match", '"other"'), ("if-none-match", '"more"')]) == 200
    assert status_of([("cookie", "a=1"), ("cookie", "b=2"), ("if-none-match", etag)]) == 304
    cold = ASGIStaticMiddleware(asgi_fallback, site, "/static/")  # the first, full path
    assert asyncio.run(_first_status(cold, [("if-none-match", '"x"'), ("if-none-match", etag)]))


async def _first_status(app, fields) -> bool:
    messages: list[dict] = []

    async def send(message):
        messages.append(message)

    scope = scope_for("/static/hello.txt")
    scope["headers"] = [(name.encode(), value.encode()) for name, value in fields]
    await app(scope, Client().receive, send)
    return messages[0]["status"] == 304
