"""Deploys: a build that runs, or dies at any moment, never leaves a URL whose codings
answer different versions, and every name the manifest lists stays servable.

Another process builds one of two versions of a tree into the output and is killed at
a random moment, over and over, while requests run against the output: in-process, and
through Gunicorn.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from staticmw import StaticMiddleware
from staticmw.build import compress
from staticmw.serve.bodies import SMALL_BODY

from ..helpers import call, children_of, fallback_app, still_alive_after
from ..servers import Gunicorn, Server

# Builds killed, at least; within a cap, whatever the machine's speed.
MIN_KILLS = 8
CAP_SECONDS = 240.0

CODINGS = [c for c in ("gzip", "br", "zstd") if c in compress.available()]


def decode(coding: str, body: bytes) -> bytes:
    if coding == "gzip":
        return gzip.decompress(body)
    if coding == "br":
        import brotli

        return bytes(brotli.decompress(body))
    import zstandard

    return bytes(zstandard.ZstdDecompressor().decompressobj().decompress(body))


def names() -> list[str]:
    """Small files (held in memory when served) and large ones (opened on each request,
    while their variants are small and held): every path through the server."""
    small = [f"css/s{i}.css" for i in range(8)] + [f"js/m{i}.js" for i in range(8)]
    return small + [f"big/b{i}.js" for i in range(4)]


def content(name: str, version: int) -> bytes:
    line = f"/* {name}: version {version} */ var v{version} = {version};\n".encode()
    size = SMALL_BODY * 2 if name.startswith("big/") else 3000
    return (line * (size // len(line) + 1))[:size]


def make_sources(tmp_path: Path) -> list[Path]:
    sources = []
    for version in (0, 1):
        src = tmp_path / f"src{version}"
        for name in names():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            (src / name).write_bytes(content(name, version))
        sources.append(src)
    return sources


def build_command(src: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "staticmw", "build", str(src), "--out", str(out), "--prune"]


def full_build(src: Path, out: Path) -> float:
    started = time.monotonic()
    subprocess.run(build_command(src, out), check=True, capture_output=True)
    return time.monotonic() - started


class Observer:
    """Requests every name, each coding between two identity requests, and checks them.

    *fetch(url, headers)* gives (status, headers, body). A file may change between two
    requests (a build runs, or the server takes up a change it had not looked at yet):
    where both identity answers agree, the coding between them must agree with them too.
    Once a build is dead and the server's recheck interval (*settle*) has passed, nothing
    changes any more: every coding must be the identity's bytes.
    """

    def __init__(self, fetch, out: Path, settle: float):
        self.fetch = fetch
        self.out = out
        self.settle = settle
        self.versions = {n: {content(n, 0), content(n, 1)} for n in names()}
        self.checked = 0

    def identity(self, name: str) -> bytes:
        status, headers, body = self.fetch(f"/static/{name}", {})
        assert status == 200, (name, status)
        assert "content-encoding" not in headers
        assert body in self.versions[name], name
        return body

    def coded(self, name: str, coding: str) -> bytes:
        status, headers, body = self.fetch(f"/static/{name}", {"Accept-Encoding": coding})
        assert status == 200, (name, coding, status)
        served = headers.get("content-encoding")
        if served is not None:
            assert served == coding
            body = decode(coding, body)
        assert body in self.versions[name], (name, coding)
        return body

    def observe(self, quiet: bool) -> None:
        if quiet:
            time.sleep(self.settle)
        for name in names():
            for coding in CODINGS:
                before = self.identity(name)
                got = self.coded(name, coding)
                after = self.identity(name)
                if quiet:
                    assert before == got == after, f"{name}: {coding} is another version"
                elif before == after:
                    assert got == before, f"{name}: {coding} is another version"
                self.checked += 1
        if quiet:
            self.manifest_servable()

    def manifest_servable(self) -> None:
        try:
            listed = json.loads((self.out / "staticmw.json").read_text())["files"]
        except (OSError, ValueError):
            return  # never written yet: nothing is listed
        for name, entry in listed.items():
            status, _, body = self.fetch(f"/static/{entry['hashed']}", {})
            assert status == 200, (name, entry["hashed"], status)
            assert body in self.versions[name]


def kill_builds(sources: list[Path], out: Path, observer: Observer, duration: float) -> int:
    """Start builds of alternate versions, kill each at a random moment while observing,
    and observe again once it is dead; the number killed. A full build takes *duration*."""
    observer.observe(quiet=True)
    rng = random.Random(os.getpid())
    kills = rounds = 0
    started = time.monotonic()
    while kills < MIN_KILLS and time.monotonic() - started < CAP_SECONDS:
        rounds += 1
        build = subprocess.Popen(
            build_command(sources[rounds % 2], out),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + rng.uniform(0.2, 1.0) * duration
        try:
            while time.monotonic() < deadline and build.poll() is None:
                observer.observe(quiet=False)
        finally:
            workers = children_of(build.pid)
            if build.poll() is None:
                build.send_signal(signal.SIGKILL)
                kills += 1
            build.wait()
        # Nothing of a killed build is left running: its compression workers end with it.
        assert still_alive_after(workers, 30) == [], "workers outlived their build"
        observer.observe(quiet=True)
    if kills < MIN_KILLS:  # a busy machine: what ran was checked, but it proves too little
        pytest.skip(f"only {kills} builds were killed in {rounds} within the cap")
    full_build(sources[rounds % 2], out)  # the next build repairs what a killed one left
    observer.observe(quiet=True)
    return kills


@pytest.mark.skipif(not CODINGS, reason="no codec")
@pytest.mark.parametrize("recheck_interval", [0.0, 1.0])
def test_killed_builds_never_mix_versions_in_process(tmp_path, recheck_interval):
    sources = make_sources(tmp_path)
    out = tmp_path / "out"
    duration = full_build(sources[0], out)
    app = StaticMiddleware(fallback_app, out, "/static/", recheck_interval=recheck_interval)

    def fetch(url: str, headers: dict[str, str]):
        result = call(app, url, headers=headers)
        return result.status, result.headers, result.body

    observer = Observer(fetch, out, settle=recheck_interval + 0.1)
    kill_builds(sources, out, observer, duration)
    assert observer.checked > 0


GUNICORN_APP = """
from staticmw import StaticMiddleware

def app(environ, start_response):
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"app"]

application = StaticMiddleware(app, root="out", prefix="/static/", recheck_interval=0.3)
"""


@pytest.mark.skipif(not CODINGS, reason="no codec")
def test_killed_builds_never_mix_versions_under_gunicorn(tmp_path):
    sources = make_sources(tmp_path)
    out = tmp_path / "out"
    duration = full_build(sources[0], out)
    (tmp_path / "deploy_app.py").write_text(GUNICORN_APP)
    server = Gunicorn(tmp_path, "deploy_app:application")
    try:
        fetch = lambda url, headers: server.request("GET", url, headers)  # noqa: E731
        observer = Observer(fetch, out, settle=0.4)  # the app's recheck interval, and more
        kill_builds(sources, out, observer, duration)
        assert observer.checked > 0
        assert "Traceback" not in server.log.read_text()
    finally:
        server.stop()


# -- a live manifest ------------------------------------------------------------------

INTERVAL = 0.2  # the recheck interval of the servers below


def module(version: int) -> str:
    return f"export const version = {version};\n" + "// padding\n" * 40


def rebuild(src: Path, out: Path, version: int, under: str = "") -> dict:
    """Build *version* of a module (kept as a dictionary for the next) at *under* ``js/app.js``;
    its manifest entry, with its hashed name made relative to *under*."""
    (src / under / "js").mkdir(parents=True, exist_ok=True)
    (src / under / "js" / "app.js").write_text(module(version))
    subprocess.run(
        [*build_command(src, out)[:-1], "--dictionaries", "1"], check=True, capture_output=True
    )
    entry = json.loads((out / "staticmw.json").read_text())["files"][under + "js/app.js"]
    return {**entry, "hashed": entry["hashed"].removeprefix(under)}


def tear(out: Path) -> bytes:
    """Rewrite the manifest in place, stopped halfway (a writer that is not atomic)."""
    path = out / "staticmw.json"
    whole = path.read_bytes()
    with open(path, "r+b") as handle:
        handle.truncate(0)
        handle.write(whole[: len(whole) // 2])
    return whole


def check_live_manifest(static_url, fetch, src: Path, out: Path, log, under: str = "") -> None:
    """A rebuild is taken up within the recheck interval; a torn manifest never is."""
    first = rebuild(src, out, 1, under)
    time.sleep(INTERVAL * 2)  # a look just before the build ended holds for one interval
    assert static_url("js/app.js") == "/static/" + first["hashed"]
    assert fetch("/static/" + first["hashed"], {})[0] == 200
    second = rebuild(src, out, 2, under)
    time.sleep(INTERVAL * 2)
    assert static_url("js/app.js") == "/static/" + second["hashed"]
    status, headers, _ = fetch("/static/" + second["hashed"], {})
    assert status == 200
    assert headers["etag"] == f'"{second["hash"][:32]}"'  # the content hash, not the mtime
    assert headers["use-as-dictionary"].startswith("match=")
    # Torn: the last good manifest stays, and the error is logged once.
    whole = tear(out)
    for _ in range(3):
        time.sleep(INTERVAL * 1.5)
        assert static_url("js/app.js") == "/static/" + second["hashed"]
    assert log().count("still using the manifest read before") == 1
    (out / "staticmw.json").write_bytes(whole)


def test_a_rebuilt_manifest_is_taken_up_in_process(tmp_path, caplog):
    src, out = tmp_path / "src", tmp_path / "out"
    rebuild(src, out, 0)
    app = StaticMiddleware(fallback_app, out, "/static/", recheck_interval=INTERVAL)

    def fetch(url, headers):
        result = call(app, url, headers=headers)
        return result.status, result.headers, result.body

    check_live_manifest(app.static_url, fetch, src, out, lambda: caplog.text)


def test_flask_url_for_follows_a_rebuild(tmp_path, caplog):
    flask = pytest.importorskip("flask")
    from staticmw.integrations.flask import StaticMW

    src, out = tmp_path / "src", tmp_path / "out"
    (tmp_path / "app" / "static").mkdir(parents=True)
    rebuild(src, out, 0, "static/")
    app = flask.Flask("app", root_path=str(tmp_path / "app"))
    app.config.update(STATICMW_ROOT=str(out), STATICMW_RECHECK_INTERVAL=INTERVAL)
    StaticMW(app)
    client = app.test_client()

    def static_url(name):
        with app.test_request_context():
            return flask.url_for("static", filename=name)

    def fetch(url, headers):
        response = client.get(url, headers=headers)
        return response.status_code, {k.lower(): v for k, v in response.headers}, response.data

    # The build holds Flask's static folder under static/, as ``flask staticmw build`` does.
    check_live_manifest(static_url, fetch, src, out, lambda: caplog.text, "static/")


WSGI_LIVE_APP = """
from staticmw import StaticMiddleware

def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [application.static_url(environ["QUERY_STRING"]).encode()]

application = StaticMiddleware(app, root="out", prefix="/static/", recheck_interval=0.2)
"""

ASGI_LIVE_APP = """
from staticmw.asgi import StaticMiddleware

async def app(scope, receive, send):
    url = application.static_url(scope["query_string"].decode())
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": url.encode()})

application = StaticMiddleware(app, "out", prefix="/static/", recheck_interval=0.2)
"""


@pytest.mark.parametrize("server_name", ["gunicorn", "uvicorn"])
def test_a_rebuilt_manifest_is_taken_up_by_a_running_server(tmp_path, server_name):
    src, out = tmp_path / "src", tmp_path / "out"
    rebuild(src, out, 0)
    if server_name == "gunicorn":
        (tmp_path / "live_app.py").write_text(WSGI_LIVE_APP)
        server = Gunicorn(tmp_path, "live_app:application")
    else:
        pytest.importorskip("uvicorn")
        (tmp_path / "live_app.py").write_text(ASGI_LIVE_APP)
        command = [
            sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", "{port}",
            "--log-level", "warning", "live_app:application",
        ]  # fmt: skip
        server = Server(tmp_path, command, "uvicorn")
    try:

        def fetch(url, headers):
            return server.request("GET", url, headers)

        def static_url(name):
            status, _, body = fetch("/url?" + name, {})
            assert status == 200
            return body.decode()

        check_live_manifest(static_url, fetch, src, out, server.log.read_text)
    finally:
        server.stop()


def test_a_server_started_before_the_first_build_takes_its_manifest(tmp_path, caplog):
    src, out = tmp_path / "src", tmp_path / "out"
    out.mkdir()
    # A root looks for a manifest once; one started before its first build names it.
    app = StaticMiddleware(
        fallback_app, out, "/static/", recheck_interval=INTERVAL, manifest="staticmw.json"
    )
    assert app.static_url("js/app.js") == "/static/js/app.js"  # nothing built yet
    (out / "staticmw.json").write_text('{"version": 1, "files": {')  # a first one, torn
    time.sleep(INTERVAL * 1.5)
    assert app.static_url("js/app.js") == "/static/js/app.js"
    assert "no manifest used yet" in caplog.text
    entry = rebuild(src, out, 1)
    time.sleep(INTERVAL * 1.5)
    assert app.static_url("js/app.js") == "/static/" + entry["hashed"]
    result = call(app, "/static/" + entry["hashed"])
    assert result.headers["etag"] == f'"{entry["hash"][:32]}"'
    # The manifest it found is build metadata, not an asset.
    assert call(app, "/static/staticmw.json").passed_through
