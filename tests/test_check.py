"""``staticmw check``: roots, warnings, and the explanation of one URL."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from staticmw import cli

from .helpers import write

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_check(cwd, *args):
    done = subprocess.run(
        [sys.executable, "-m", "staticmw", "check", *args],
        cwd=cwd, capture_output=True, text=True, timeout=60, check=False,
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
    assert "1 compressible files under /s/ have no .gz/.br/.zst variant (e.g. app.js)" in out
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
    assert "is not, and does not wrap, a StaticMiddleware" in capsys.readouterr().err
