"""Time to ``load`` for a slow page, with and without early hints, in headless Chromium.

A page renders for 300 ms and uses a stylesheet, its web font and a module graph three
imports deep. Chromium loads it over HTTP/2 and TLS (a self-signed certificate it is told to
trust by its key) through a TCP proxy that holds every chunk, each way, for half a round trip
of 200 ms: a delay on the wire applies to every byte alike, the 103 and the fetches it starts
included, where DevTools' network emulation shapes only what the page itself asks for.
Hypercorn serves an ASGI page and its files on one origin; Gunicorn 27 (gthread,
``--http-protocols h2,h1``) serves the Django example (examples/django, its view made slow),
its files on a second origin (an absolute ``STATIC_URL``, as for a CDN), since its worker
answers one connection's streams one after another; and on the page's own origin, to show
what that costs. Each navigation is cold (a fresh browser context), after one that lets the
server learn the route. ``tests/hints/test_browser_hints.py`` checks these numbers; ``make bench``
reports them.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
import ipaddress
import os
import statistics
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import procs

from staticmw.build.pipeline import BuildConfig, build

EXAMPLE_FONT = Path(__file__).resolve().parent.parent / "examples" / "media" / "assets" / "fonts"
CHROMIUM = "/usr/bin/chromium"
ONE_WAY = 0.1  # seconds: a round trip of 200 ms
RENDER = 0.3  # seconds the page takes to render
KINDS = ("hypercorn", "gunicorn", "gunicorn-one-origin")
# Where the server gains from hints; Gunicorn with the files on the page's own origin cannot,
# since its worker answers the files' streams only once the page's has ended.
GAINING = ("hypercorn", "gunicorn")


def _write(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)


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
    headers = [(b"content-type", b"text/html; charset=utf-8"), (b"cache-control", b"no-cache")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": html.encode()})

application = ASGIStaticMiddleware(
    page, os.environ["HINTS_ROOT"], "/static/", early_hints=os.environ["HINTS"] == "1"
)

async def logged(scope, receive, send):
    if scope["type"] == "http":
        log("start", scope["path"])
        await application(scope, receive, send)
        log("end", scope["path"])
    else:
        await application(scope, receive, send)
"""


# Gunicorn serves the Django example (examples/django) as it is, with its view made slow
# and every request logged: its settings, templates, static files and middleware.
DJANGO_SETTINGS = """
import os
from mysite.settings import *  # noqa: F403

ROOT_URLCONF = "pageload_urls"
"""

DJANGO_URLS = """
import time
from django.urls import path
from mysite import views

def home(request):
    time.sleep(%(render)s)  # the app at work: queries, templates
    return views.home(request)

urlpatterns = [path("", home)]
"""

DJANGO_WSGI = """
import os, time
from django.core.wsgi import get_wsgi_application

LOG = os.environ["HINTS_LOG"]
application = get_wsgi_application()

def log(event, path):
    with open(LOG, "a") as handle:
        handle.write(f"{time.time():.4f} {event} {path}\\n")

def logged(environ, start_response):
    log("start", environ["PATH_INFO"])
    try:
        return list(application(environ, start_response))
    finally:
        log("end", environ["PATH_INFO"])
"""

DJANGO = Path(__file__).resolve().parent.parent / "examples" / "django"
# What each page runs when its module graph has loaded.
RAN = {
    "hypercorn": "document.title === 'abc'",
    "gunicorn": "document.body.dataset.greeted === 'yes'",
    "gunicorn-one-origin": "document.body.dataset.greeted === 'yes'",
}


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
        self.port = procs.free_port()
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
        # A connection cut by stop() ends quietly: Python 3.11's streams log a traceback for
        # a connection task that ends cancelled.
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
            await asyncio.gather(
                self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
            )
        except (OSError, asyncio.CancelledError):
            writer.close()

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
    _write(src / "fonts" / "probe.woff2", (EXAMPLE_FONT / "probe.woff2").read_bytes())
    _write(
        src / "css" / "site.css",
        '@font-face { font-family: "Probe"; src: url("../fonts/probe.woff2") format("woff2"); }\n'
        '.probe { font-family: "Probe"; }\n',
    )
    _write(src / "js" / "main.js", 'import { a } from "./a.js";\ndocument.title = a;\n')
    _write(src / "js" / "a.js", 'import { b } from "./b.js";\nexport const a = "a" + b;\n')
    _write(src / "js" / "b.js", 'import { c } from "./c.js";\nexport const b = "b" + c;\n')
    _write(src / "js" / "c.js", 'export const c = "c";\n')
    out = directory / "built"
    assert build(BuildConfig(sources=[str(src)], out=str(out), codecs=[], jobs=1)).ok
    _write(directory / "hinted_app.py", APP % {"render": RENDER})


def django_site(directory: Path) -> None:
    """The Django example collected into *directory*, with its view made slow."""
    _write(directory / "pageload_settings.py", DJANGO_SETTINGS)
    _write(directory / "pageload_urls.py", DJANGO_URLS % {"render": RENDER})
    _write(directory / "pageload_wsgi.py", DJANGO_WSGI)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=DJANGO, env=_django_env(directory), check=True, timeout=120,
    )  # fmt: skip


def _django_env(directory: Path) -> dict[str, str]:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="pageload_settings", DJANGO_DEBUG="0")
    env["STATIC_ROOT"] = str(directory / "collected")
    env["PYTHONPATH"] = os.pathsep.join([str(directory), env.get("PYTHONPATH", "")])
    return env


class Running:
    """The processes and proxies of one server setup; :meth:`stop` ends them all."""

    def __init__(self) -> None:
        self.processes: list[Any] = []
        self.proxies: list[DelayProxy] = []

    def stop(self) -> None:
        for proxy in self.proxies:
            proxy.stop()
        for process in self.processes:
            procs.stop(process)


def serve(kind: str, directory: Path, hints: bool, log: Path) -> tuple[Running, str]:
    """The server behind delaying proxies, and the page's URL."""
    env = dict(os.environ, HINTS="1" if hints else "0", HINTS_LOG=str(log))
    env["HINTS_ROOT"] = str(directory / "built")
    env["PYTHONPATH"] = os.pathsep.join([str(directory), env.get("PYTHONPATH", "")])
    cert, key = str(directory / "cert.pem"), str(directory / "key.pem")
    running = Running()
    try:
        if kind == "hypercorn":
            port = procs.free_port()
            command = [
                sys.executable, "-m", "hypercorn", "--bind", f"127.0.0.1:{port}",
                "--certfile", cert, "--keyfile", key, "hinted_app:logged",
            ]  # fmt: skip
            server_log = directory / f"hypercorn-{int(hints)}.out"
            running.processes.append(procs.start(command, server_log, env))
            procs.wait_port(port, running.processes[-1], server_log)
            running.proxies.append(DelayProxy(port, ONE_WAY))
            return running, f"https://127.0.0.1:{running.proxies[0].port}/"
        pages, files = procs.free_port(), procs.free_port()
        running.proxies += [DelayProxy(pages, ONE_WAY), DelayProxy(files, ONE_WAY)]
        env = {**_django_env(directory), "HINTS_LOG": str(log)}
        env["STATICMW_EARLY_HINTS"] = "1" if hints else "0"
        if kind == "gunicorn":
            # The files on a second origin, as on a CDN: an absolute STATIC_URL.
            env["STATIC_URL"] = f"https://127.0.0.1:{running.proxies[1].port}/static/"
        command = [
            sys.executable, "-m", "gunicorn", "--chdir", str(DJANGO),
            "--bind", f"127.0.0.1:{pages}", "--bind", f"127.0.0.1:{files}",
            "--worker-class", "gthread", "--threads", "8", "--workers", "1",
            "--http-protocols", "h2,h1", "--certfile", cert, "--keyfile", key,
            "pageload_wsgi:logged",
        ]  # fmt: skip
        server_log = directory / f"{kind}-{int(hints)}.out"
        running.processes.append(procs.start(command, server_log, env))
        procs.wait_port(pages, running.processes[-1], server_log)
        return running, f"https://127.0.0.1:{running.proxies[0].port}/"
    except BaseException:
        running.stop()
        raise


def first_file_after_page(log: Path) -> float:
    """Seconds from the last page request's start to the first file request after it."""
    lines = [line.split() for line in log.read_text().splitlines()]
    starts = [index for index, line in enumerate(lines) if line[1:] == ["start", "/"]]
    page_start = float(lines[starts[-1]][0])
    files = [float(line[0]) for line in lines[starts[-1] :] if line[1] == "start"
             and line[2].startswith("/static/")]  # fmt: skip
    return round(min(files) - page_start, 3)


def navigate(browser, url: str, ran: str) -> dict:
    """One cold-cache navigation: the load time, and how each asset was started; *ran*
    says whether the page's modules ran."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(url, wait_until="load")
        assert page.evaluate(ran), "the module graph did not run"
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


def measure(work: Path, kinds: tuple[str, ...] = KINDS, navigations: int = 3) -> dict:
    """For each server: the median ``load`` (ms) of *navigations* cold ones, without and
    with hints; the seconds from the page's start to the first file at the server; the
    files Chromium says a 103 started; the protocols used."""
    from playwright.sync_api import sync_playwright

    results: dict[str, dict[str, Any]] = {}
    with sync_playwright() as playwright:
        for kind in kinds:
            directory = work / f"pageload-{kind}"
            directory.mkdir(parents=True, exist_ok=True)
            spki = certificate(directory)
            if kind.startswith("gunicorn"):
                django_site(directory)
            else:
                site(directory)
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update",
                    f"--ignore-certificate-errors-spki-list={spki}",
                ],
            )  # fmt: skip
            row: dict[str, Any] = {"first_file": {}, "early": [], "protocols": set()}
            try:
                for hints in (False, True):
                    log = directory / f"requests-{int(hints)}.log"
                    running, url = serve(kind, directory, hints, log)
                    try:
                        # The route is seen once: its links are learned.
                        navigate(browser, url, RAN[kind])
                        runs = [navigate(browser, url, RAN[kind]) for _ in range(navigations)]
                    finally:
                        running.stop()
                    row["with" if hints else "without"] = statistics.median(
                        run["load"] for run in runs
                    )
                    row["first_file"]["with" if hints else "without"] = first_file_after_page(log)
                    row["protocols"] |= {run["protocol"] for run in runs}
                    if hints:
                        row["early"] = [p for p, how in runs[-1]["assets"] if how == "early-hints"]
            finally:
                browser.close()
            row["protocols"] = sorted(row["protocols"])
            results[kind] = row
    return results


def table(results: dict) -> list[str]:
    if not results:
        return []
    lines = [
        "### A page that renders for 300 ms, cold cache, 200 ms round trips: time to load "
        "in Chromium (HTTP/2, TLS)",
        "",
        "| server | without early hints | with | first file at the server (s after the page) |",
        "|---|---|---|---|",
    ]
    names = {
        "hypercorn": "Hypercorn, one origin",
        "gunicorn": "Gunicorn 27, the Django example, files on a second origin",
        "gunicorn-one-origin": "Gunicorn 27, the Django example, one origin",
    }
    for kind, row in results.items():
        first = row["first_file"]
        lines.append(
            f"| {names.get(kind, kind)} | {row['without']:.0f} ms | {row['with']:.0f} ms "
            f"| {first['without']:.2f} without, {first['with']:.2f} with |"
        )
    return [*lines, ""]
