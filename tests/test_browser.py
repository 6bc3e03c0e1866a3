"""examples/media/ in headless Chromium: built with `staticmw build`, served by Gunicorn
(and once by Uvicorn through the ASGI middleware).

The page's own script checks, in the browser, that the JavaScript modules ran, the web font
and the image decoded, and the video played and showed the right frame after a seek. The
server's access log shows what went over the wire: which coding each asset was sent in,
that the video was fetched in ranges, and what a reload asked for again.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from .helpers import write
from .servers import Gunicorn, Server

pytestmark = [pytest.mark.server, pytest.mark.browser]

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "media"
CHROMIUM = "/usr/bin/chromium"
# A name that is not localhost: Chromium treats it as an insecure origin, and sends
# "Accept-Encoding: gzip, deflate" there, where 127.0.0.1 gets "gzip, deflate, br, zstd".
PLAIN_HOST = "staticmw.test"
HASHED = re.compile(r"\.[0-9a-f]{12}\.")
CHECKS = ("module", "image", "font", "video")
TEXT_ASSETS = ("css/site.", "js/main.", "js/checks.")
# The page's module graph: the entry, three modules deep below it, and a library the entry
# imports by a bare name through the import map.
MODULES = ("js/main.", "js/checks.", "js/lib/label.", "js/lib/version.", "vendor/badge.")
# Slow enough that the browser cannot have the whole clip before it seeks, so the seek and
# the WebM index at the end of the file are fetched as ranges, as they are on real networks.
THROTTLE = {"offline": False, "latency": 5, "downloadThroughput": 64 * 1024, "uploadThroughput": -1}
LOG_FORMAT = "\t".join(
    (
        "%(r)s",
        "%(s)s",
        "%({range}i)s",
        "%({if-none-match}i)s",
        "%({accept-encoding}i)s",
        "%({content-encoding}o)s",
        "%({available-dictionary}i)s",
        "%(B)s",
    )
)


@dataclass
class Hit:
    """One line of the server's access log."""

    path: str
    status: int
    range: str
    if_none_match: str
    accept_encoding: str
    content_encoding: str
    available_dictionary: str
    sent: str  # body bytes

    @property
    def range_start(self) -> int | None:
        if not self.range.startswith("bytes="):
            return None
        return int(self.range[len("bytes=") :].split("-")[0])


def read_log(path: Path) -> list[Hit]:
    hits = []
    # Gunicorn writes a double quote inside a value as \".
    for line in path.read_text().replace('\\"', '"').splitlines():
        # The fields of LOG_FORMAT, in order; Gunicorn writes "-" for a missing header.
        request, status, *headers = line.split("\t")
        assert len(headers) == 6, line
        _, target, _ = request.split(" ")
        hits.append(Hit(target, int(status), *("" if v == "-" else v for v in headers)))
    return hits


def settled_length(log: Path) -> int:
    """The number of log lines once no request is still finishing (quiet for half a second)."""
    count, quiet_since = -1, time.monotonic()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        now = len(read_log(log))
        if now != count:
            count, quiet_since = now, time.monotonic()
        elif time.monotonic() - quiet_since >= 0.5:
            return count
        time.sleep(0.05)
    raise AssertionError("the server's access log never stopped growing")


def build_assets(assets: Path, out: Path, *extra: str) -> None:
    """The real build command, as the example's docstring gives it."""
    subprocess.run(
        [sys.executable, "-m", "staticmw", "build", str(assets), "--out", str(out),
         "--importmap-entry", "badge=vendor/badge.js", "--codecs", "gzip,br", "--strict",
         "--quiet", *extra],
        check=True,
    )  # fmt: skip


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    """The example's assets, built."""
    out = tmp_path_factory.mktemp("media") / "build"
    build_assets(EXAMPLE / "assets", out)
    return out


@pytest.fixture(scope="module")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail("chromium is not installed: run `make tools` (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--host-resolver-rules=MAP {PLAIN_HOST} 127.0.0.1",
            ],
        )
        yield chromium
        chromium.close()


class Visit:
    """A fresh browser profile loading the page, then reloading it."""

    def __init__(self, browser, url: str):
        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("requestfailed", self._failed)
        self.page.on(
            "response",
            lambda response: (
                response.status >= 400
                and self.problems.append(f"HTTP {response.status}: {response.url}")
            ),
        )
        cdp = self.context.new_cdp_session(self.page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", THROTTLE)
        self.url = url

    def _failed(self, request) -> None:
        # The media player cancels its open range request when it seeks elsewhere.
        if request.resource_type == "media" and request.failure == "net::ERR_ABORTED":
            return
        self.problems.append(f"failed: {request.url} {request.failure}")

    def _console(self, message) -> None:
        if message.type in ("error", "warning"):
            self.problems.append(f"console {message.type}: {message.text}")

    def results(self) -> dict[str, str]:
        """Wait for the page's checks to finish; their outcomes by name."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            self.page.wait_for_function(
                f"document.querySelectorAll('#report li').length >= {len(CHECKS)}",
                timeout=60_000,
            )
        except PlaywrightTimeout:
            raise AssertionError(f"the page's checks never finished: {self.problems}") from None
        return self.page.eval_on_selector_all(
            "#report li", "items => Object.fromEntries(items.map(i => [i.id, i.dataset.ok]))"
        )

    def load(self) -> dict[str, str]:
        self.page.goto(self.url)
        return self.results()

    def reload(self) -> dict[str, str]:
        self.page.reload()
        return self.results()

    def close(self) -> None:
        self.context.close()


def serve(build: Path, tmp_path: Path, max_age: int) -> tuple[Gunicorn, Path]:
    log = tmp_path / "access.log"
    server = Gunicorn(
        EXAMPLE,
        "app:application",
        "--workers", "2",
        "--env", f"STATICMW_MEDIA_BUILD={build}",
        "--env", f"STATICMW_MAX_AGE={max_age}",
        "--access-logfile", str(log),
        "--access-logformat", LOG_FORMAT,
    )  # fmt: skip
    return server, log


# Uvicorn's access log has no format to set: the example's ASGI application is wrapped
# in one that writes Gunicorn's LOG_FORMAT fields, one line a response.
ASGI_LOGGED = r"""
import os, sys
sys.path.insert(0, {example!r})
from asgi import application as inner

LOG = {log!r}

def header(headers, name):
    found = [v.decode("latin-1") for k, v in headers if k.decode("latin-1").lower() == name]
    return ",".join(found) or "-"

async def application(scope, receive, send):
    if scope["type"] != "http":
        return await inner(scope, receive, send)
    async def logged(message):
        if message["type"] == "http.response.start":
            line = "\t".join([
                f"{{scope['method']}} {{scope['raw_path'].decode('latin-1')}} HTTP/1.1",
                str(message["status"]),
                header(scope["headers"], "range"),
                header(scope["headers"], "if-none-match"),
                header(scope["headers"], "accept-encoding"),
                header(message.get("headers", []), "content-encoding"),
                header(scope["headers"], "available-dictionary"),
                header(message.get("headers", []), "content-length"),
            ])
            with open(LOG, "a") as handle:
                handle.write(line + "\n")
        await send(message)
    await inner(scope, receive, logged)
"""


def serve_asgi(build: Path, tmp_path: Path, max_age: int) -> tuple[Server, Path]:
    log = tmp_path / "access.log"
    log.write_text("")
    write(tmp_path / "logged_asgi.py", ASGI_LOGGED.format(example=str(EXAMPLE), log=str(log)))
    command = [
        sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", "{port}",
        "--no-access-log", "logged_asgi:application",
    ]  # fmt: skip
    saved = {k: os.environ.get(k) for k in ("STATICMW_MEDIA_BUILD", "STATICMW_MAX_AGE")}
    os.environ.update(STATICMW_MEDIA_BUILD=str(build), STATICMW_MAX_AGE=str(max_age))
    try:
        return Server(tmp_path, command, "uvicorn"), log
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run(browser, build: Path, tmp_path: Path, host: str, max_age: int, asgi: bool = False):
    """Load and reload the page; the checks of each, and the log lines of each."""
    server, log = (serve_asgi if asgi else serve)(build, tmp_path, max_age)
    visit = None
    try:
        visit = Visit(browser, f"http://{host}:{server.port}/")
        first = visit.load()
        count = settled_length(log)
        second = visit.reload()
    finally:
        if visit is not None:
            visit.close()
        server.stop()
    hits = read_log(log)
    assert not visit.problems, visit.problems
    return first, second, hits[:count], hits[count:]


def assert_every_check_passed(results: dict[str, str]) -> None:
    assert results == {f"check-{name}": "true" for name in CHECKS}


def static(hits: list[Hit], start: str) -> list[Hit]:
    return [hit for hit in hits if hit.path.startswith("/static/" + start)]


def assert_video_fetched_in_ranges(hits: list[Hit]) -> None:
    video = static(hits, "video/clip.")
    assert video, "the video was never requested"
    assert all(hit.status == 206 and hit.range for hit in video), video
    # The index at the end of the clip and the seek target are ranges that start past 0.
    assert any(hit.range_start for hit in video), video


def assert_nothing_downloaded_again(first: list[Hit], second: list[Hit]) -> None:
    """On reload: hashed names are not asked for, others get 304, the video only new ranges."""
    hashed = {hit.path for hit in first if HASHED.search(hit.path) and "/video/" not in hit.path}
    # stylesheet, the five modules, image, font
    assert len(hashed) == 3 + len(MODULES), first
    for hit in second:
        assert hit.path not in hashed, hit
        if hit.path.startswith("/static/video/"):
            # Only bytes the first visit never asked for: no range from the start again.
            assert hit.status == 206 and hit.range_start, hit
        elif hit.path.startswith("/static/"):
            assert hit.status == 304 and hit.if_none_match, hit


@pytest.mark.parametrize("asgi", [False, True], ids=["gunicorn", "uvicorn-asgi"])
def test_secure_origin_gets_brotli_and_a_reload_comes_from_the_cache(
    browser, build, tmp_path, asgi
):
    first, second, first_hits, second_hits = run(browser, build, tmp_path, "127.0.0.1", 60, asgi)
    assert_every_check_passed(first)
    assert_every_check_passed(second)
    for start in TEXT_ASSETS:
        (hit,) = static(first_hits, start)
        assert hit.status == 200 and "br" in hit.accept_encoding
        assert hit.content_encoding == "br", hit
    for start in ("img/", "fonts/"):
        (hit,) = static(first_hits, start)
        assert hit.status == 200 and hit.content_encoding == "", hit
    assert_video_fetched_in_ranges(first_hits)
    for stem in MODULES:  # each module once, by its hashed name (preloaded or imported)
        (hit,) = static(first_hits, stem)
        assert HASHED.search(hit.path) and hit.status == 200, hit
    # Every asset is fresh for a minute (hashed ones for a year): the page is the only
    # request, but for ranges of the video the first visit never fetched.
    assert [hit.path for hit in second_hits if "/video/" not in hit.path] == ["/"]
    assert_nothing_downloaded_again(first_hits, second_hits)


def test_plain_http_origin_gets_gzip_and_a_reload_revalidates(browser, build, tmp_path):
    first, second, first_hits, second_hits = run(browser, build, tmp_path, PLAIN_HOST, 0)
    assert_every_check_passed(first)
    assert_every_check_passed(second)
    for start in TEXT_ASSETS:
        (hit,) = static(first_hits, start)
        assert hit.status == 200 and "br" not in hit.accept_encoding
        assert hit.content_encoding == "gzip", hit
    assert_video_fetched_in_ranges(first_hits)
    # The entry module's import of ./checks.js was rewritten to its hashed name, so even
    # with max_age=0 nothing of it is asked for again: only the page is revalidated.
    (checks,) = static(first_hits, "js/checks.")
    assert HASHED.search(checks.path), checks
    assert not static(second_hits, "js/")
    assert_nothing_downloaded_again(first_hits, second_hits)


def page_modules(visit: Visit) -> dict[str, str]:
    """The page's import map as the browser got it: name below /static/ (or bare) -> path."""
    text = visit.page.eval_on_selector('script[type="importmap"]', "element => element.textContent")
    imports = json.loads(text)["imports"]
    return {key.removeprefix("/static/"): urlsplit(url).path for key, url in imports.items()}


def wait_for_new_workers(server: Gunicorn, old: set[int]) -> None:
    """After SIGHUP: until Gunicorn's workers are all new ones, the deploy's code loaded."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        workers = set(server.worker_pids())
        if len(workers) == 2 and not workers & old:
            status, _, _ = server.request("GET", "/")
            if status == 200:
                return
        time.sleep(0.1)
    raise AssertionError("Gunicorn never replaced its workers after SIGHUP")


@pytest.mark.parametrize("dictionaries", [False, True], ids=["full", "dcz-deltas"])
def test_a_deploy_that_changes_the_deepest_module(browser, tmp_path, dictionaries):
    """Change lib/version.js only, rebuild, reload: the page runs the new code, every module
    that imports it (directly or not) has a new URL, and nothing else is asked for again.
    With ``--dictionaries``, each changed module goes as a dcz delta against the version
    the browser holds (RFC 9842), smaller than its brotli variant."""
    assets = tmp_path / "assets"
    shutil.copytree(EXAMPLE / "assets", assets)
    out = tmp_path / "build"
    extra = ("--codecs", "gzip,br,zstd", "--dictionaries", "2") if dictionaries else ()
    build_assets(assets, out, *extra)
    server, log = serve(out, tmp_path, 60)
    visit = None
    try:
        visit = Visit(browser, f"http://127.0.0.1:{server.port}/")
        first = visit.load()
        before = page_modules(visit), visit.page.evaluate("document.body.dataset.version")
        count = settled_length(log)
        version = assets / "js" / "lib" / "version.js"
        version.write_text(version.read_text().replace("VERSION = 1;", "VERSION = 2;"))
        build_assets(assets, out, *extra)  # into the same directory: old names stay
        old = set(server.worker_pids())
        os.kill(server.process.pid, signal.SIGHUP)  # Gunicorn's graceful reload: the deploy
        wait_for_new_workers(server, old)
        between = settled_length(log)
        second = visit.reload()
        after = page_modules(visit), visit.page.evaluate("document.body.dataset.version")
        labels = visit.page.eval_on_selector_all(
            "#report li", "items => items.map(i => i.textContent)"
        )
    finally:
        if visit is not None:
            visit.close()
        server.stop()
    assert not visit.problems, visit.problems
    assert_every_check_passed(first)
    assert_every_check_passed(second)
    assert (before[1], after[1]) == ("1", "2")  # the new code runs
    assert labels and all(label.endswith("(build 2)") for label in labels), labels
    hits = read_log(log)
    first_hits, second_hits = hits[:count], hits[between:]
    # The modules on the version.js chain have new URLs; the bare-named library does not.
    changed = {"js/main.js", "js/checks.js", "js/lib/label.js", "js/lib/version.js"}
    modules = {name for name in before[0] if name.endswith(".js")}
    assert modules >= changed | {"vendor/badge.js"}, modules
    for name in modules:
        moved = before[0][name] != after[0][name]
        assert moved == (name in changed), name
    assert before[0]["badge"] == after[0]["badge"]
    # Over the wire on reload: the page, the four new modules, and nothing else but ranges
    # of the video the first visit never asked for.
    asked = {hit.path for hit in second_hits if not hit.path.startswith("/static/video/")}
    assert asked == {"/"} | {after[0][name] for name in changed}, asked
    assert all(hit.status == 200 for hit in second_hits if hit.path in asked), second_hits
    for hit in second_hits:
        if hit.path.startswith("/static/js/"):
            if not dictionaries:
                assert hit.content_encoding == "br" and not hit.available_dictionary, hit
                continue
            # Delta against the module the first visit got, and smaller than brotli's.
            assert hit.content_encoding == "dcz" and hit.available_dictionary, hit
            brotli = (out / (hit.path.removeprefix("/static/") + ".br")).stat().st_size
            assert int(hit.sent) < brotli, (hit, brotli)
    hashed_before = {hit.path for hit in first_hits if HASHED.search(hit.path)}
    assert len(hashed_before - {p for p in hashed_before if "/video/" in p}) == 3 + len(MODULES)
    for hit in second_hits:
        if hit.path.startswith("/static/video/"):
            assert hit.status == 206 and hit.range_start, hit
        else:
            assert hit.path not in hashed_before, hit


DJANGO = Path(__file__).resolve().parent.parent / "examples" / "django"


def test_a_django_page_with_static_urls_from_staticmw_storage(browser, tmp_path):
    """collectstatic with staticmw's storage, Gunicorn, and a page rendered by Django."""
    root = tmp_path / "collected"
    env = {**os.environ, "STATIC_ROOT": str(root), "DJANGO_DEBUG": "0"}
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=DJANGO, check=True, timeout=120, env=env,
    )  # fmt: skip
    log = tmp_path / "access.log"
    saved = os.environ.get("STATIC_ROOT")
    os.environ.update(STATIC_ROOT=str(root), DJANGO_DEBUG="0")
    try:
        server = Gunicorn(
            DJANGO,
            "mysite.wsgi:application",
            "--access-logfile", str(log),
            "--access-logformat", LOG_FORMAT,
        )  # fmt: skip
    finally:
        os.environ.pop("DJANGO_DEBUG", None)
        if saved is None:
            os.environ.pop("STATIC_ROOT", None)
        else:
            os.environ["STATIC_ROOT"] = saved
    visit = Visit(browser, f"http://127.0.0.1:{server.port}/")
    try:
        visit.page.goto(visit.url)
        # The entry module ran, and its import of util.js resolved to the hashed name.
        visit.page.wait_for_function("document.body.dataset.greeted === 'yes'", timeout=30_000)
        heading = visit.page.inner_text("h1")
        count = settled_length(log)
    finally:
        visit.close()
        server.stop()
    assert not visit.problems, visit.problems
    assert "from a module" in heading
    hits = read_log(log)[:count]
    paths = {hit.path for hit in hits}
    for stem in ("css/site.", "fonts/probe.", "js/app.", "js/util.", "js/words.", "js/mark.",
                 "img/logo."):  # fmt: skip
        (hit,) = static(hits, stem)
        assert HASHED.search(hit.path) and hit.status == 200, hit
    (css,) = static(hits, "css/site.")
    assert css.content_encoding == "br", css  # Chromium offers br to 127.0.0.1
    assert "/static/js/util.js" not in paths  # only the hashed name is ever asked for


def deploy_symlink(link: Path, release: Path) -> None:
    """Point *link* at *release* in one rename, as a deploy switches releases."""
    staged = link.with_name(link.name + ".new")
    staged.symlink_to(release)
    os.replace(staged, link)


@pytest.mark.parametrize(
    ("history", "dictionaries"),
    [(True, False), (False, False), (True, True)],
    ids=["history", "no-history", "history-dcz"],
)
def test_an_open_page_after_a_deploy_into_a_fresh_directory(
    browser, tmp_path, history, dictionaries
):
    """Each release is built into an empty directory, as on Heroku or in a Docker image.
    A page opened on release 1 then imports a module lazily, which release 2 changed: with
    the history directory, its release-1 URL still answers; without, it is the 404 the
    history prevents. With ``--dictionaries``, a reload gets the changed modules as dcz
    deltas against what the browser holds, though release 1 was never in that directory."""
    assets = tmp_path / "assets"
    shutil.copytree(EXAMPLE / "assets", assets)
    lazy = assets / "js" / "lazy.js"
    lazy.write_text("export const lazy = 1;\n" + "// loaded on demand\n" * 40)
    main = assets / "js" / "main.js"  # the page loads it on demand, as a click handler would
    main.write_text(main.read_text() + 'window.loadLazy = () => import("./lazy.js");\n')
    extra = ["--prune", "--keep", "2"]
    if history:
        extra += ["--history", str(tmp_path / "cache")]
    if dictionaries:
        extra += ["--codecs", "gzip,br,zstd", "--dictionaries", "2"]
    build_assets(assets, tmp_path / "release1", *extra)
    current = tmp_path / "current"
    deploy_symlink(current, tmp_path / "release1")
    server, log = serve(current, tmp_path, 60)
    visit = None
    try:
        visit = Visit(browser, f"http://127.0.0.1:{server.port}/")
        assert_every_check_passed(visit.load())
        before = page_modules(visit)
        count = settled_length(log)
        version = assets / "js" / "lib" / "version.js"
        version.write_text(version.read_text().replace("VERSION = 1;", "VERSION = 2;"))
        lazy.write_text(lazy.read_text().replace("lazy = 1", "lazy = 2"))
        build_assets(assets, tmp_path / "release2", *extra)
        deploy_symlink(current, tmp_path / "release2")
        old = set(server.worker_pids())
        os.kill(server.process.pid, signal.SIGHUP)
        wait_for_new_workers(server, old)
        # The open page, still on release 1, imports the module only now.
        imported = visit.page.evaluate(
            "window.loadLazy().then(m => String(m.lazy), e => 'failed: ' + e)"
        )
        between = settled_length(log)
        if dictionaries:
            assert_every_check_passed(visit.reload())
            after = page_modules(visit)
    finally:
        if visit is not None:
            visit.close()
        server.stop()
    hits = read_log(log)
    lazy_hits = [hit for hit in hits[count:between] if hit.path == before["js/lazy.js"]]
    assert len(lazy_hits) == 1, hits[count:between]
    if not history:
        assert imported.startswith("failed"), imported
        assert lazy_hits[0].status == 404
        return
    assert imported == "1", (imported, visit.problems)  # release 1's module, as the page expects
    assert lazy_hits[0].status == 200
    assert not visit.problems, visit.problems
    if dictionaries:
        changed = {"js/main.js", "js/checks.js", "js/lib/label.js", "js/lib/version.js"}
        delivered = {hit.path: hit for hit in hits[between:]}
        for name in changed:
            assert after[name] != before[name], name
            hit = delivered[after[name]]
            assert hit.content_encoding == "dcz" and hit.available_dictionary, hit


# Appended to a copy of examples/django: the admin's files collected too, retention, and
# the history and deltas as the test asks through the environment.
DJANGO_DEPLOY_SETTINGS = """
INSTALLED_APPS += ["django.contrib.admin", "django.contrib.auth",
                   "django.contrib.contenttypes", "django.contrib.messages"]
STATICMW_KEEP = 2
STATICMW_HISTORY = os.environ.get("TEST_HISTORY") or None
STATICMW_DICTIONARIES = int(os.environ.get("TEST_DICTIONARIES", "0"))
"""


def django_collect(project: Path, root: Path, env: dict[str, str]) -> dict[str, str]:
    """collectstatic of *project* into *root*; the paths of the staticfiles.json written."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=project, check=True, timeout=180, env={**env, "STATIC_ROOT": str(root)},
    )  # fmt: skip
    return json.loads((root / "staticfiles.json").read_text())["paths"]


@pytest.mark.parametrize("mode", ["same-root", "fresh-root-history", "dcz"])
def test_a_django_deploy_keeps_the_open_page_working(browser, tmp_path, mode):
    """collectstatic with staticmw's storage, deploy A then B, in a project with the admin.
    A page opened on A then imports a module lazily that B changed: it gets A's version,
    whether B was collected into the same STATIC_ROOT (``STATICMW_KEEP``) or into a fresh
    one (``STATICMW_HISTORY``). With ``STATICMW_DICTIONARIES``, a reload gets the changed
    module as a dcz delta against the one the browser holds."""
    project = tmp_path / "project"
    shutil.copytree(DJANGO, project, ignore=shutil.ignore_patterns("staticfiles", "__pycache__"))
    js = project / "mysite" / "static" / "js"
    later = js / "later.js"
    later.write_text('export const later = "A";\n' + "// loaded on demand\n" * 40)
    util = js / "util.js"
    util.write_text(util.read_text() + "".join(f"export const n{i} = {i};\n" for i in range(200)))
    app = js / "app.js"
    app.write_text(app.read_text() + 'window.loadLater = () => import("./later.js");\n')
    settings = project / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + DJANGO_DEPLOY_SETTINGS)
    env = {**os.environ, "DJANGO_DEBUG": "0", "TEST_DICTIONARIES": "2" if mode == "dcz" else "0"}
    if mode == "fresh-root-history":
        env["TEST_HISTORY"] = str(tmp_path / "cache")
    current = tmp_path / "current"
    release1 = tmp_path / "release1"
    first = django_collect(project, release1, env)
    assert "admin/css/base.css" in first  # the admin's files are collected with the rest
    deploy_symlink(current, release1)
    log = tmp_path / "access.log"
    saved = dict(os.environ)
    os.environ.update({**env, "STATIC_ROOT": str(current)})
    try:
        server = Gunicorn(
            project,
            "mysite.wsgi:application",
            "--workers", "2",
            "--access-logfile", str(log),
            "--access-logformat", LOG_FORMAT,
        )  # fmt: skip
    finally:
        os.environ.clear()
        os.environ.update(saved)
    visit = Visit(browser, f"http://127.0.0.1:{server.port}/")
    try:
        visit.page.goto(visit.url)
        visit.page.wait_for_function("document.body.dataset.greeted === 'yes'", timeout=30_000)
        count = settled_length(log)
        later.write_text(later.read_text().replace('"A"', '"B"'))
        util.write_text(util.read_text().replace("n7 = 7", "n7 = 77"))
        for path in (later, util):  # collectstatic copies what is newer than its copy
            os.utime(path, (time.time() + 10, time.time() + 10))
        release2 = tmp_path / "release2" if mode == "fresh-root-history" else release1
        second = django_collect(project, release2, env)
        deploy_symlink(current, release2)
        old = set(server.worker_pids())
        os.kill(server.process.pid, signal.SIGHUP)  # the deploy: new workers, new root
        wait_for_new_workers(server, old)
        imported = visit.page.evaluate("window.loadLater().then(m => m.later, e => 'failed: ' + e)")
        between = settled_length(log)
        if mode == "dcz":
            visit.page.reload()
            visit.page.wait_for_function("document.body.dataset.greeted === 'yes'", timeout=30_000)
            settled_length(log)
    finally:
        visit.close()
        server.stop()
    assert first["js/later.js"] != second["js/later.js"]
    assert first["js/util.js"] != second["js/util.js"]
    assert imported == "A", (imported, visit.problems)  # A's module, as A's page expects
    assert not visit.problems, visit.problems
    hits = read_log(log)
    lazy = [hit for hit in hits[count:between] if hit.path == "/static/" + first["js/later.js"]]
    assert [hit.status for hit in lazy] == [200], hits[count:between]
    if mode == "dcz":
        (delta,) = [hit for hit in hits[between:] if hit.path == "/static/" + second["js/util.js"]]
        assert delta.content_encoding == "dcz" and delta.available_dictionary, delta
        brotli = (release2 / (second["js/util.js"] + ".br")).stat().st_size
        assert int(delta.sent) < brotli, (delta, brotli)
