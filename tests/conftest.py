from __future__ import annotations

import os
import time

import pytest
from hypothesis import HealthCheck, settings

from staticmw import StaticMiddleware
from staticmw.serve import paths

from .helpers import fallback_app, gz, write

settings.register_profile(
    "default", deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
settings.register_profile(
    "ci",
    deadline=None,
    max_examples=300,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
settings.load_profile("ci" if os.environ.get("CI") else "default")


def pytest_report_header() -> str:
    """The framework versions this run tests (``make test`` and ``make test-compat`` differ)."""
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for name in ("django", "flask", "werkzeug"):
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            found.append(f"{name} not installed")
    return "frameworks: " + ", ".join(found)


# Large enough to compress well and to exceed the in-memory body threshold.
CSS = b"body { color: #123456; margin: 0 auto; }\n" * 3000
JS = b"export const answer = 42; // the answer\n" * 50
OLD = time.time() - 3600


@pytest.fixture(params=["openat2", "walk"])
def resolve_mode(request):
    """Run a test with the openat2 fast path (where the kernel has it) and with the walk."""
    if request.param == "openat2" and not paths.FAST_OPEN_AVAILABLE:
        pytest.skip("this kernel has no openat2; the walk is what runs here")
    old = paths.use_fast_open(request.param == "openat2")
    yield request.param
    paths.use_fast_open(old)


@pytest.fixture
def site(tmp_path):
    """A static root with variants, an index, dotfiles, and a secret beside it."""
    root = tmp_path / "static"
    write(root / "app.css", CSS, OLD)
    write(root / "app.css.gz", gz(CSS), OLD)
    write(root / "app.css.br", gz(CSS)[: len(gz(CSS)) // 2], OLD)  # smaller stand-in
    write(root / "app.js", JS, OLD)
    write(root / "hello.txt", b"hello world\n", OLD)
    write(root / "empty.txt", b"", OLD)
    write(root / "only.txt.gz", gz(b"only compressed\n"), OLD)
    write(root / "app.3f2a9c1b9d0e.css", b"h1{}\n", OLD)
    write(root / "docs" / "index.html", b"<h1>docs</h1>\n", OLD)
    write(root / "nodir" / "file.txt", b"x", OLD)
    write(root / ".env", b"SECRET=1\n", OLD)
    write(root / ".git" / "config", b"[core]\n", OLD)
    write(tmp_path / "secret.txt", b"TOP SECRET\n", OLD)
    write(tmp_path / "static2" / "other.txt", b"sibling root\n", OLD)
    return root


@pytest.fixture
def make(site):
    """Build a middleware over the site root with options."""

    def factory(**options):
        options.setdefault("prefix", "/static/")
        return StaticMiddleware(fallback_app, root=site, **options)

    return factory
