"""Early hints in a real browser: headless Chromium over HTTP/2 and TLS against Hypercorn
(one origin) and Gunicorn 27 (files on a second origin), a page that takes 300 ms to
render, and round trips of 200 ms.

The round trips come from a small TCP proxy between the browser and the server that holds
every chunk, in each direction, for half a round trip. DevTools' network emulation is not
used: it shapes the requests the page makes, and whether it also delays the fetches a 103
starts is not something this test should depend on; a delay on the wire applies to every
byte alike, the 103 and what it starts included.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
import ipaddress
import os
import statistics
import sys
import threading
from pathlib import Path

import pytest

from .helpers import write
from .servers import Server, free_port
from .test_browser import CHROMIUM

pytestmark = pytest.mark.server

EXAMPLE_FONT = Path(__file__).resolve().parent.parent / "examples" / "media" / "assets" / "fonts"
ONE_WAY = 0.1  # seconds: a round trip of 200 ms
RENDER = 0.3  # seconds the page takes to render

APP = """
import asyncio, os, time
from staticmw.asgi import ASGIStaticMiddleware

LOG = os.environ["HINTS_LOG"]

def log(event, path):
    with open(LOG, "a") as handle:
        handle.write(f"{time.time():.4f} {event} {path}\\n")

async def page(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    await asyncio.sleep(%(render)s)  # the app at work: queries, templates
    html = (
        '<!doctype html><html><head><meta charset="utf-8">'
        f'<link rel="stylesheet" href="{application.static_url("css/site.css")}">'
        + application.importmap_tag("js/main.js")
        + '</head><body><p class="probe">early hints</p></body></html>'
    )
    headers = [(b"content-type", b"text/html; charset=utf-8"), (b"cache-control", b"no-store")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": html.encode()})

application = ASGIStaticMiddleware(
    page, "built", "/static/", early_hints=os.environ["HINTS"] == "1"
)

async def logged(scope, receive, send):
    if scope["type"] == "http":
        log("start", scope["path"])
        await application(scope, receive, send)
        log("end", scope["path"])
    else:
        await application(scope, receive, send)
"""


WSGI_APP = """
import os, time
from staticmw import StaticMiddleware

LOG = os.environ["HINTS_LOG"]

def log(event, path):
    with open(LOG, "a") as handle:
        handle.write(f"{time.time():.4f} {event} {path}\\n")

def page(environ, start_response):
    time.sleep(%(render)s)  # the app at work: queries, templates
    html = (
        '<!doctype html><html><head><meta charset="utf-8">'
        f'<link rel="stylesheet" href="{application.static_url("css/site.css")}">'
        + application.importmap_tag("js/main.js")
        + '</head><body><p class="probe">early hints</p></body></html>'
    )
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                              ("Cache-Control", "no-store")])
    return [html.encode()]

application = StaticMiddleware(
    page, "built", "/static/", early_hints=os.environ["HINTS"] == "1",
    static_host=os.environ["STATIC_HOST"],
)

def logged(environ, start_response):
    log("start", environ["PATH_INFO"])
    try:
        return list(application(environ, start_response))
    finally:
        log("end", environ["PATH_INFO"])
"""


def certificate(directory: Path) -> str:
    """A self-signed certificate for 127.0.0.1; the base64 SHA-256 of its key, which
    Chromium is told to trust (``--ignore-certificate-errors-spki-list``)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    (directory / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


class DelayProxy:
    """127.0.0.1:port -> 127.0.0.1:target, each chunk held for *delay* seconds each way,
    in order; on a thread of its own, stopped by :meth:`stop`."""

    def __init__(self, target: int, delay: float):
        self.target, self.delay = target, delay
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        assert ready.wait(10), "the proxy did not start"

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(
            asyncio.start_server(self._connection, "127.0.0.1", self.port)
        )
        ready.set()
        try:
            self.loop.run_forever()
        finally:
            server.close()
            self.loop.run_until_complete(server.wait_closed())
            self.loop.close()

    async def _connection(self, reader, writer) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            writer.close()
            return
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )

    async def _pipe(self, reader, writer) -> None:
        queue: asyncio.Queue = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, chunk = await queue.get()
                wait = due - self.loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if chunk is None:
                    writer.close()
                    return
                writer.write(chunk)
                await writer.drain()

        delivering = asyncio.ensure_future(deliver())
        try:
            while True:
                chunk = await reader.read(65536)
                queue.put_nowait((self.loop.time() + self.delay, chunk or None))
                if not chunk:
                    break
            await delivering
        except (OSError, asyncio.CancelledError):
            delivering.cancel()
            writer.close()

    async def _shutdown(self) -> None:
        """Cancel every connection still open, then stop the loop."""
        current = asyncio.current_task()
        pending = [task for task in asyncio.all_tasks() if task is not current]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        self.loop.stop()

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop)
        self.thread.join(10)


def site(directory: Path) -> None:
    """A stylesheet with a web font, and a module graph three deep, built."""
    src = directory / "src"
    write(src / "fonts" / "probe.woff2", (EXAMPLE_FONT / "probe.woff2").read_bytes())
    write(
        src / "css" / "site.css",
        '@font-face { font-family: "Probe"; src: url("../fonts/probe.woff2") format("woff2"); }\n'
        '.probe { font-family: "Probe"; }\n',
    )
    write(src / "js" / "main.js", 'import { a } from "./a.js";\ndocument.title = a;\n')
    write(src / "js" / "a.js", 'import { b } from "./b.js";\nexport const a = "a" + b;\n')
    write(src / "js" / "b.js", 'import { c } from "./c.js";\nexport const b = "b" + c;\n')
    write(src / "js" / "c.js", 'export const c = "c";\n')
    out = directory / "built"
    from staticmw.build import BuildConfig, build

    assert build(BuildConfig(sources=[str(src)], out=str(out), codecs=[], jobs=1)).ok
    write(directory / "hinted_app.py", APP % {"render": RENDER})
    write(directory / "hinted_wsgi.py", WSGI_APP % {"render": RENDER})


def serve(kind: str, directory: Path, hints: bool, log: Path) -> tuple[list, str]:
    """The server, behind delaying proxies: everything to stop, and the page's URL.

    Hypercorn serves page and files on one origin. Gunicorn 27 (HTTP/2 with TLS) serves
    them on two, the files through ``static_host``: its worker answers one connection's
    streams one after another, so hints gain only where the files come over another."""
    os.environ["HINTS"] = "1" if hints else "0"
    os.environ["HINTS_LOG"] = str(log)
    try:
        if kind == "hypercorn":
            command = [
                sys.executable, "-m", "hypercorn", "--bind", "127.0.0.1:{port}",
                "--certfile", "cert.pem", "--keyfile", "key.pem", "hinted_app:logged",
            ]  # fmt: skip
            server = Server(directory, command, "hypercorn")
            proxy = DelayProxy(server.port, ONE_WAY)
            return [proxy, server], f"https://127.0.0.1:{proxy.port}/"
        pages, files = free_port(), free_port()
        page_proxy, file_proxy = DelayProxy(pages, ONE_WAY), DelayProxy(files, ONE_WAY)
        os.environ["STATIC_HOST"] = f"https://127.0.0.1:{file_proxy.port}"
        command = [
            sys.executable, "-m", "gunicorn", "--chdir", str(directory),
            "--bind", f"127.0.0.1:{pages}", "--bind", f"127.0.0.1:{files}",
            "--worker-class", "gthread", "--threads", "8", "--workers", "1",
            "--http-protocols", "h2,h1", "--certfile", "cert.pem", "--keyfile", "key.pem",
            "hinted_wsgi:logged",
        ]  # fmt: skip
        server = Server(directory, command, "gunicorn", port=pages)
        return [page_proxy, file_proxy, server], f"https://127.0.0.1:{page_proxy.port}/"
    finally:
        for name in ("HINTS", "HINTS_LOG", "STATIC_HOST"):
            os.environ.pop(name, None)


def first_file_after_page(log: Path) -> float:
    """Seconds from the last page request's start to the first file request after it."""
    lines = [line.split() for line in log.read_text().splitlines()]
    starts = [index for index, line in enumerate(lines) if line[1:] == ["start", "/"]]
    page_start = float(lines[starts[-1]][0])
    files = [float(line[0]) for line in lines[starts[-1] :] if line[1] == "start"
             and line[2].startswith("/static/")]  # fmt: skip
    return round(min(files) - page_start, 3)


def navigate(browser, url: str) -> dict:
    """One cold-cache navigation: the load time, and how each asset was started."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(url, wait_until="load")
        assert page.title() == "abc", "the module graph did not run"
        return page.evaluate(
            """() => ({
                load: performance.getEntriesByType("navigation")[0].loadEventStart,
                protocol: performance.getEntriesByType("navigation")[0].nextHopProtocol,
                assets: performance.getEntriesByType("resource").map(
                    (entry) => [new URL(entry.name).pathname, entry.initiatorType]),
            })"""
        )
    finally:
        context.close()


@pytest.mark.parametrize("kind", ["hypercorn", "gunicorn"])
def test_early_hints_start_assets_during_the_render(tmp_path, kind):
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail("chromium is not installed: run `make tools` (make test does)")
    spki = certificate(tmp_path)
    site(tmp_path)
    from playwright.sync_api import sync_playwright

    results: dict[bool, list[dict]] = {}
    logs: dict[bool, Path] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update",
                f"--ignore-certificate-errors-spki-list={spki}",
            ],
        )  # fmt: skip
        try:
            for hints in (False, True):
                logs[hints] = tmp_path / f"server-{int(hints)}.log"
                running, url = serve(kind, tmp_path, hints, logs[hints])
                try:
                    navigate(browser, url)  # the route is seen once: its links are learned
                    results[hints] = [navigate(browser, url) for _ in range(3)]
                finally:
                    for each in running:
                        each.stop()
        finally:
            browser.close()
    assert all(run["protocol"] == "h2" for runs in results.values() for run in runs)
    hinted = results[True][-1]
    kinds = dict(hinted["assets"])
    early = [path for path, kind in hinted["assets"] if kind == "early-hints"]
    assert any(path.startswith("/static/css/site.") for path in early), kinds
    assert any(path.startswith("/static/fonts/probe.") for path in early), kinds
    assert sum(path.startswith("/static/js/") for path in early) == 4, kinds
    # When the server saw the files, measured from the start of the last page request.
    first_file = {hints: first_file_after_page(logs[hints]) for hints in (False, True)}
    if kind == "hypercorn":
        # One origin, one connection: the hinted files arrive while the page renders.
        assert first_file[True] < RENDER, first_file
    else:
        # Files on a second origin need a connection of their own (TCP and TLS, two round
        # trips), which is longer than this render: the hints start it, and the files
        # arrive at least one round trip sooner than without them.
        assert first_file[False] - first_file[True] >= 2 * ONE_WAY, first_file
    without = statistics.median(run["load"] for run in results[False])
    with_hints = statistics.median(run["load"] for run in results[True])
    print(
        f"{kind}: load, median of 3 cold navigations: {without:.0f} ms without hints, "
        f"{with_hints:.0f} ms with; first file after the page's start (s): {first_file}"
    )
    assert without - with_hints >= 200, (without, with_hints)
