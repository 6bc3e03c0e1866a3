"""Early hints in a real browser: headless Chromium over HTTP/2 and TLS against Hypercorn,
a page that takes 300 ms to render, and round trips of 200 ms.

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


def hypercorn(directory: Path, hints: bool, log: Path) -> Server:
    os.environ["HINTS"] = "1" if hints else "0"
    os.environ["HINTS_LOG"] = str(log)
    try:
        command = [
            sys.executable, "-m", "hypercorn", "--bind", "127.0.0.1:{port}",
            "--certfile", "cert.pem", "--keyfile", "key.pem", "hinted_app:logged",
        ]  # fmt: skip
        return Server(directory, command, "hypercorn")
    finally:
        del os.environ["HINTS"], os.environ["HINTS_LOG"]


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


def test_early_hints_start_assets_during_the_render(tmp_path):
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
                server = hypercorn(tmp_path, hints, logs[hints])
                proxy = DelayProxy(server.port, ONE_WAY)
                try:
                    url = f"https://127.0.0.1:{proxy.port}/"
                    navigate(browser, url)  # the route is seen once: its links are learned
                    results[hints] = [navigate(browser, url) for _ in range(3)]
                finally:
                    proxy.stop()
                    server.stop()
        finally:
            browser.close()
    assert all(run["protocol"] == "h2" for runs in results.values() for run in runs)
    hinted = results[True][-1]
    kinds = dict(hinted["assets"])
    early = [path for path, kind in hinted["assets"] if kind == "early-hints"]
    assert any(path.startswith("/static/css/site.") for path in early), kinds
    assert any(path.startswith("/static/fonts/probe.") for path in early), kinds
    assert sum(path.startswith("/static/js/") for path in early) == 4, kinds
    # The server saw the hinted files while the page was still rendering.
    lines = [line.split() for line in logs[True].read_text().splitlines()]
    page_spans = [
        (float(start[0]), float(end[0]))
        for start, end in zip(
            [x for x in lines if x[1:] == ["start", "/"]],
            [x for x in lines if x[1:] == ["end", "/"]],
            strict=True,
        )
    ]
    last_start, last_end = page_spans[-1]
    during = [x for x in lines if x[1] == "start" and x[2].startswith("/static/")]
    during = [x for x in during if last_start < float(x[0]) < last_end]
    assert len(during) >= 6, (page_spans, lines[-20:])
    without = statistics.median(run["load"] for run in results[False])
    with_hints = statistics.median(run["load"] for run in results[True])
    print(f"load, median of 3 cold navigations: {without:.0f} ms without hints, "
          f"{with_hints:.0f} ms with")  # fmt: skip
    assert without - with_hints >= 200, (without, with_hints)
