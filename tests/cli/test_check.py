"""``staticmw check``: roots, warnings, and the explanation of one URL."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import unquote_to_bytes

import pytest

from staticmw import StaticMiddleware
from staticmw.cli import check
from staticmw.cli import commands as cli

from ..helpers import write

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run_check(cwd, *args, env=None):
    done = subprocess.run(
        [sys.executable, "-m", "staticmw", "check", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    return done.returncode, done.stdout, done.stderr


def test_the_example_site_is_clean_and_explained():
    status, out, _ = run_check(EXAMPLES, "wsgi:application", "--url", "/js/app.5d41402abc4b.js")
    assert status == 0, out
    assert f"root {EXAMPLES / 'site'}" in out and "prefix    /" in out
    assert "for Accept-Encoding 'gzip, deflate, br, zstd': br" in out
    assert "Cache-Control: public, max-age=31536000, immutable" in out
    _, refused, _ = run_check(EXAMPLES, "wsgi:application", "--url", "/%2e%2e/secret")
    assert "segment '..' is refused" in refused
    _, outside, _ = run_check(EXAMPLES, "wsgi:application", "--url", "/api/time")
    assert "no servable file" in outside


def test_warnings(tmp_path):
    root = tmp_path / "static"
    write(root / "app.js", b"let x = 1;\n" * 500)
    (root / ".git").mkdir()
    with open(root / "movie.mp4", "wb") as handle:
        handle.truncate(150 * 1024 * 1024)  # sparse: costs no disk
    source = "from staticmw import StaticMiddleware\n"
    source += f"app = StaticMiddleware(lambda e, s: [], {str(root)!r}, '/s/')\n"
    write(tmp_path / "target.py", source)
    status, out, _ = run_check(tmp_path, "target:app")
    assert status == 1
    assert "version-control checkout" in out
    assert "1 compressible files under /s/ have no .br/.zst/.gz variant (e.g. app.js)" in out
    assert "files of 100 MiB or more" in out and "movie.mp4" in out


def test_flask_apps(tmp_path):
    status, out, _ = run_check(EXAMPLES / "flask", "app:app")
    assert f"root {EXAMPLES / 'flask' / 'static'}" in out and "prefix    /admin/static/" in out
    assert "static route" not in out
    write(tmp_path / "other" / "x.css", b"x{}")
    write(
        tmp_path / "wrapped.py",
        textwrap.dedent(
            f"""
            import sys
            sys.path.insert(0, {str(EXAMPLES / "flask")!r})
            from app import create_app
            from staticmw import StaticMiddleware
            app = create_app()
            app.wsgi_app = StaticMiddleware(app.wsgi_app, {str(tmp_path / "other")!r}, "/static/")
            """
        ),
    )
    status, out, _ = run_check(tmp_path, "wrapped:app")
    assert status == 1
    assert "serves" in out and "bypass staticmw" in out
    assert "/admin/static/" in out and "not covered by staticmw" in out


def test_bad_targets(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["check", "nomodule:app"]) == 2
    assert "cannot load" in capsys.readouterr().err
    assert cli.main(["check", "no-colon"]) == 2
    write(tmp_path / "plain.py", "def app(environ, start_response):\n    return []\n")
    assert cli.main(["check", "plain:app"]) == 2
    assert "is not, and does not wrap, a staticmw middleware" in capsys.readouterr().err


def _built_target(tmp_path, files: int):
    src = tmp_path / "src"
    for number in range(files):
        write(src / "css" / f"part{number:03d}.css", b"p { margin: 0 auto; color: #333 }\n" * 60)
    write(src / "img" / "logo.png", b"\x89PNG\r\n" + bytes(2000))
    for number in range(files):  # JS modules: the build records them in importmap.json
        write(src / "js" / f"mod{number:03d}.js", b'import "./main.js";\nexport const x = 1;\n')
    write(src / "js" / "main.js", b"export const main = true;\n")
    assert cli.main(["build", str(src), "--out", str(tmp_path / "build"), "--quiet"]) == 0
    source = "from staticmw import StaticMiddleware\n"
    source += f"application = StaticMiddleware(lambda e, s: [], {str(tmp_path / 'build')!r})\n"
    write(tmp_path / "chk.py", source)


def test_a_fresh_build_checks_clean(tmp_path):
    _built_target(tmp_path, 40)  # a manifest of several KiB
    assert (tmp_path / "build" / "staticmw.json").stat().st_size > 4096
    assert (tmp_path / "build" / "importmap.json").stat().st_size > 1024  # never served
    status, out, err = run_check(tmp_path, "chk:application")
    assert status == 0, out + err
    assert "warning" not in out
    # a file dropped in after the build is reported, with the right advice
    write(tmp_path / "build" / "late.js", b"console.log('added by hand');\n" * 100)
    status, out, _ = run_check(tmp_path, "chk:application")
    assert status == 1
    assert "(e.g. late.js): they were added after the last staticmw build: build again" in out
    assert "staticmw.json" not in out.split("warning", 1)[1]


def test_flask_factories(tmp_path):
    status, out, err = run_check(EXAMPLES / "flask", "app:create_app()")
    assert status == 1, out + err  # not built yet
    assert "prefix    /admin/static/" in out
    assert "run `flask staticmw build`, whose output the extension then serves" in out
    status, _, err = run_check(EXAMPLES / "flask", "app:nothing()")
    assert status == 2 and "cannot load" in err
    status, _, err = run_check(tmp_path)
    assert status == 2 and "module:application or --django" in err


def test_django_projects(tmp_path):
    django = EXAMPLES / "django"
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="mysite.settings")
    env["STATIC_ROOT"] = str(tmp_path / "collected")
    status, _, err = run_check(django, "--django", env=env)
    assert status == 2
    assert re.search(
        r"collected' does not exist \(resolved to '[^']*'\): run `python manage.py collectstatic",
        err,
    )
    assert "staticmw: staticmw:" not in err
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=django, env=env, check=True, timeout=60,
    )  # fmt: skip
    status, out, err = run_check(django, "--django", "--url", "/static/css/site.css", env=env)
    assert f"root {tmp_path / 'collected'}" in out, err
    assert "manifest  staticmw" in out  # the build's record, which {% static %} reads too
    assert "/static/css/site.css: served from" in out
    assert status == 0 and "warning" not in out  # staticfiles.json itself is never counted
    write(tmp_path / "collected" / "big.css", b"p { color: #333 }\n" * 200)
    status, out, _ = run_check(django, "--django", env=env)
    assert status == 1
    assert "(e.g. big.css): they were added after the last staticmw build" in out


def test_explain_is_public(tmp_path):
    root = tmp_path / "static"
    write(root / "a.css", b"a{}" * 500)
    write(root / "a.css.gz", b"G" * 20)
    static = StaticMiddleware(lambda e, s: [], root, "/static/")
    found = static.explain("/static/a.css", "gzip")
    assert (found.outcome, found.chosen, found.file) == ("served", "gzip", str(root / "a.css"))
    assert ("Content-Encoding", "gzip") in found.headers
    assert static.explain("/static/../x").outcome == "passed"
    assert static.explain("/elsewhere").reason.startswith("under no prefix")
    assert [m.prefix for m in static.mounts] == ["/static/"]
    # check speaks to the middleware only through what it makes public
    assert "static._" not in inspect.getsource(check)


def _django_settings(tmp_path, extra: str = "") -> dict[str, str]:
    """A minimal Django project in *tmp_path* whose sources hold 40 JS modules; its env."""
    for number in range(40):
        write(tmp_path / "assets" / "js" / f"mod{number:03d}.js", b'import "./main.js";\n')
    write(tmp_path / "assets" / "js" / "main.js", b"export const main = true;\n")
    settings = f"""
SECRET_KEY = "test"
INSTALLED_APPS = ["staticmw.django", "django.contrib.staticfiles"]
MIDDLEWARE = ["staticmw.django.StaticFilesMiddleware"]
STATIC_URL = "/static/"
STATIC_ROOT = {str(tmp_path / "collected")!r}
STATICFILES_DIRS = [{str(tmp_path / "assets")!r}]
STORAGES = {{"staticfiles": {{"BACKEND": "staticmw.django.storage.ManifestStaticFilesStorage"}}}}
"""
    write(tmp_path / "chkproject.py", (settings + textwrap.dedent(extra)).encode())
    return dict(os.environ, DJANGO_SETTINGS_MODULE="chkproject", PYTHONPATH=str(tmp_path))


def _collectstatic(project, env) -> None:
    subprocess.run(
        [sys.executable, "-m", "django", "collectstatic", "--noinput", "-v0"],
        cwd=project, env=env, check=True, timeout=60,
    )  # fmt: skip


def test_a_fresh_collectstatic_with_modules_checks_clean(tmp_path):
    env = _django_settings(tmp_path)
    # Fonts of a type worth trying, whose variants were not worth keeping: tried, so clean.
    for number in range(4):
        write(tmp_path / "assets" / "fonts" / f"face{number}.eot", os.urandom(4096))
    _collectstatic(tmp_path, env)
    assert (tmp_path / "collected" / "importmap.json").stat().st_size > 1024
    status, out, err = run_check(tmp_path, "--django", env=env)
    assert status == 0, out + err
    assert "warning" not in out


def test_a_django_projects_logging_prints_each_start_up_line_once(tmp_path):
    """A project that logs staticmw at INFO through its own LOGGING: the manifest line is
    printed once, by its handler alone, and says "staticmw:" once."""
    logging_config = """
LOGGING = {
    "version": 1,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"staticmw": {"handlers": ["console"], "level": "INFO"}},
}
"""
    env = _django_settings(tmp_path, logging_config)
    _collectstatic(tmp_path, env)
    status, out, err = run_check(tmp_path, "--django", "--url", "/static/js/main.js", env=env)
    assert status == 0, out + err
    assert err.count("manifest") == 1 and "lists" in err, err
    assert "staticmw: staticmw:" not in err


def test_check_shows_what_a_page_would_hint(tmp_path):
    _built_target(tmp_path, 2)
    source = "from staticmw import StaticMiddleware\n"
    source += "def page(environ, start_response):\n"
    source += "    html = application.static_url('css/part000.css')\n"
    source += "    start_response('200 OK', [('Content-Type', 'text/html')])\n"
    source += "    return [html.encode()]\n"
    source += f"application = StaticMiddleware(page, {str(tmp_path / 'build')!r}, '/static/',"
    source += " early_hints=True)\n"
    write(tmp_path / "hinted.py", source)
    status, out, err = run_check(tmp_path, "hinted:application", "--url", "/")
    assert status == 0, out + err
    assert "early hints for / (a 103 from the second visit on):" in out
    assert re.search(r"Link: </static/css/part000\.[0-9a-f]{12}\.css>; rel=preload; as=style", out)
    _, plain, _ = run_check(tmp_path, "chk:application", "--url", "/page")
    assert "early hints: off" in plain
    _, static_file, _ = run_check(tmp_path, "hinted:application", "--url", "/static/img/logo.png")
    assert "early hints" not in static_file


def test_check_shows_what_a_django_page_would_hint(tmp_path):
    write(tmp_path / "assets" / "css" / "site.css", b"body { margin: 0 }\n" * 50)
    urls = """
from django.http import HttpResponse
from django.templatetags.static import static
from django.urls import path

def page(request):
    return HttpResponse(f'<link rel="stylesheet" href="{static("css/site.css")}">')

urlpatterns = [path("page", page)]
"""
    write(tmp_path / "chkurls.py", urls.encode())
    extra = 'ROOT_URLCONF = "chkurls"\nALLOWED_HOSTS = [".example.org"]\n'
    env = _django_settings(tmp_path, extra + "STATICMW_EARLY_HINTS = True\n")
    _collectstatic(tmp_path, env)
    status, out, err = run_check(tmp_path, "--django", "--url", "/page", env=env)
    assert status == 0, out + err
    assert "early hints for /page (a 103 from the second visit on):" in out
    assert re.search(r"Link: </static/css/site\.[0-9a-f]{12}\.css>; rel=preload; as=style", out)
    _, missing, _ = run_check(tmp_path, "--django", "--url", "/gone", env=env)
    assert "early hints for /gone: none (404 Not Found;" in missing
    env = _django_settings(tmp_path, extra)
    _, off, _ = run_check(tmp_path, "--django", "--url", "/page", env=env)
    assert "early hints: off" in off


# -- explain() is the real lookup, told step by step ---------------------------------------


def _explain_site(tmp_path):
    from staticmw.build.pipeline import BuildConfig, build

    src = tmp_path / "src"
    write(src / "index.html", "<h1>home</h1>")
    write(src / "docs" / "index.html", "<h1>docs</h1>")
    write(src / "css" / "a.css", "body { color: red }\n" * 50)
    write(src / "js" / "app.js", "export const a = 1;\n")
    write(src / "empty" / "keep.txt", "x")
    out = tmp_path / "out"
    assert build(BuildConfig(sources=[str(src)], out=str(out), codecs=["gzip"], jobs=1)).ok
    return out


PARITY_PATHS = [
    "/static", "/static/", "/static/docs", "/static/docs/", "/static/empty/",
    "/static/css/a.css", "/static/css/a.css.gz", "/static/css/a.css/", "/static/staticmw.json",
    "/static/importmap.json", "/static/%2e%2e/x", "/static/a%00b", "/static/missing.css",
    "/elsewhere", "/static/%ff",
]  # fmt: skip


@pytest.mark.parametrize("prefix", ["/static/", "/"])
def test_explain_decides_as_serving_does(tmp_path, prefix):
    """For each URL, explain's outcome is what a GET gets: served, a slash redirect, or
    passed through; the bare prefix, a root at /, and the build records included."""
    from ..helpers import call, fallback_app

    static = StaticMiddleware(fallback_app, _explain_site(tmp_path), prefix, index_file=True)
    for path in PARITY_PATHS:
        url = path if prefix == "/static/" else path.replace("/static", "", 1) or "/"
        # As a server hands it on: percent-decoded, bytes as latin-1 code points.
        result = call(static, unquote_to_bytes(url).decode("latin-1"), raw=True)
        explained = static.explain(url)
        expected = {200: "served", 301: "redirect", 302: "redirect"}.get(result.status, "passed")
        if result.passed_through:
            expected = "passed"
        assert explained.outcome == expected, (url, result.status, explained.reason)


def test_explain_of_the_bare_prefix_records_and_static_misses(tmp_path):
    from ..helpers import call, fallback_app

    out = _explain_site(tmp_path)
    static = StaticMiddleware(fallback_app, out, "/static/", index_file=True, early_hints=True)
    assert call(static, "/static").status == 301
    bare = static.explain("/static")
    assert bare.outcome == "redirect" and "redirects to static/" in bare.reason
    record = static.explain("/static/staticmw.json")
    assert record.outcome == "passed" and "build record" in record.reason
    assert "build record" in static.explain("/static/importmap.json").reason
    # Below a static prefix there are no routes: nothing about early hints is said.
    missing = static.explain("/static/missing.css")
    assert missing.hints is None and not [ln for ln in missing.lines() if "early hints" in ln]
    assert static.explain("/page").hints == ()  # a route, nothing remembered yet
    sidecar = static.explain("/static/css/a.css.gz")
    assert "precompressed variant of a.css" in sidecar.reason
