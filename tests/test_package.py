"""The package's shape: no import cycles, serving loads no build, and every documented import
path and entry point still works where the code behind it moved."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .test_layers import MODULES, _imported

PACKAGE = Path(__file__).resolve().parent.parent / "staticmw"


def test_no_import_cycles():
    """No module imports, through any chain, a module that imports it: at the top or inside a
    function. A module may name, for its types only, the module that loads it lazily."""
    graph = {
        name: {
            dep
            for dep in _imported(path, at_run_time=True)
            if dep in MODULES and dep != name and not name.startswith(dep + ".") and dep != ""
        }
        for name, path in MODULES.items()
    }
    assert {"integrations.wsgi", "serve.representations", "http.decision", "serve.paths"} <= set(
        graph
    )
    assert "http.messages" in graph["http.decision"], "the graph misses relative imports"
    done: set[str] = set()

    def visit(module: str, trail: tuple[str, ...]) -> None:
        if module in trail:
            cycle = " -> ".join((*trail[trail.index(module) :], module))
            raise AssertionError(f"import cycle: {cycle}")
        if module in done:
            return
        for dep in sorted(graph.get(module, ())):
            visit(dep, (*trail, module))
        done.add(module)

    for module in sorted(graph):
        visit(module, ())


BUILD_PACKAGES = ("staticmw.build", "staticmw.cli")
# asyncio itself imports concurrent.futures, so only the codec libraries are listed.
BUILD_LIBRARIES = ("zstandard", "brotli", "brotlicffi")


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys, json\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return set(json.loads(out))


@pytest.mark.parametrize(
    "statement",
    [
        "import staticmw",
        "import staticmw.middleware",
        "import staticmw.integrations.wsgi",
        "import staticmw.asgi",
        "from staticmw import StaticMiddleware",
        "from staticmw.asgi import StaticMiddleware",
    ],
)
def test_serving_loads_no_build_module(statement: str) -> None:
    loaded = _loaded_after(statement)
    assert "staticmw.serve.core" in loaded, "the statement did not load the serving core"
    unexpected = sorted(
        name
        for name in loaded
        if name.startswith(tuple(f"{p}." for p in BUILD_PACKAGES))
        or name in BUILD_PACKAGES
        or name.split(".")[0] in BUILD_LIBRARIES
    )
    assert unexpected == []


def test_the_build_does_load_its_modules() -> None:
    """The check above would pass vacuously if the names it looks for were wrong."""
    loaded = _loaded_after("import staticmw.build")
    assert {
        "staticmw.build",
        "staticmw.build.compress",
        "staticmw.build.rewrite",
        "staticmw.build.jsscan",
    } <= loaded


def test_gitignore_names_no_tracked_file() -> None:
    """A pattern that matches a tracked file hides the next new file beside it from git."""
    ignored = subprocess.run(
        ["git", "ls-files", "--ignored", "--cached", "--exclude-standard"],
        cwd=PACKAGE.parent, capture_output=True, text=True, check=True, timeout=60,
    ).stdout.split()  # fmt: skip
    assert ignored == []


DOCUMENTED = """
import importlib.metadata
import sys

import staticmw
import staticmw.integrations.asgi as asgi
import staticmw.integrations.flask as flask
import staticmw.integrations.paste as paste
import staticmw.integrations.wsgi as wsgi
import staticmw.serve.bodies as bodies
import staticmw.build.pipeline as pipeline
import staticmw.cli.commands as cli

from staticmw import StaticMiddleware
assert StaticMiddleware is wsgi.StaticMiddleware
import staticmw.middleware
assert staticmw.middleware.StaticMiddleware is wsgi.StaticMiddleware
import staticmw.asgi
assert staticmw.asgi.StaticMiddleware is asgi.StaticMiddleware
assert staticmw.asgi.ASGIStaticMiddleware is asgi.ASGIStaticMiddleware
assert staticmw.asgi.acknowledge_lifespan is asgi.acknowledge_lifespan
import staticmw.flask
assert staticmw.flask.StaticMW is flask.StaticMW
import staticmw.paste
assert staticmw.paste.filter_factory is paste.filter_factory
import staticmw.bodies
assert staticmw.bodies.FileBody is bodies.FileBody
import staticmw.starlette
import staticmw.integrations.starlette as starlette_glue
assert staticmw.starlette.install is starlette_glue.install
import staticmw.build
assert staticmw.build.BuildConfig is pipeline.BuildConfig and staticmw.build.build is pipeline.build
from staticmw import StaticFiles, StaticURLs, Manifest, ConfigurationError, Request

def entry_point(group, name):
    (found,) = [e for e in importlib.metadata.entry_points(group=group) if e.name == name]
    return found.load()

assert entry_point("console_scripts", "staticmw") is cli.main
assert entry_point("paste.filter_factory", "main") is paste.filter_factory

import django
from django.conf import settings
settings.configure(
    SECRET_KEY="x",
    INSTALLED_APPS=["staticmw.django", "django.contrib.staticfiles"],
    MIDDLEWARE=["staticmw.django.StaticFilesMiddleware"],
    STATIC_URL="/static/",
    STATIC_ROOT=sys.argv[1],
    STORAGES={"staticfiles": {"BACKEND": "staticmw.django.storage.ManifestStaticFilesStorage"}},
    TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates"}],
)
django.setup()
import staticmw.django
import staticmw.integrations.django as glue
import staticmw.integrations.django.storage as storage
from django.apps import apps
from django.core.management import get_commands
from django.template import Context, Template
from django.utils.module_loading import import_string

assert staticmw.django.StaticFilesMiddleware is glue.StaticFilesMiddleware
assert staticmw.django.get_asgi_application is glue.get_asgi_application
assert import_string(settings.MIDDLEWARE[0]) is glue.StaticFilesMiddleware
from django.contrib.staticfiles.storage import staticfiles_storage

staticfiles_storage._setup()
assert isinstance(staticfiles_storage._wrapped, storage.ManifestStaticFilesStorage)
assert apps.get_app_config("staticmw").name == "staticmw.integrations.django"
assert get_commands()["runserver"] == "staticmw.integrations.django"
Template("{% load staticmw %}").render(Context())
print("documented paths hold")
"""


def test_documented_import_paths_and_entry_points_hold(tmp_path: Path) -> None:
    """The README's imports, the settings strings Django reads, PasteDeploy's and the console
    script's entry points: each reaches the object that now lives in a subpackage."""
    script = tmp_path / "documented.py"
    script.write_text(DOCUMENTED)
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "static")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "documented paths hold"


@pytest.mark.parametrize("argv", [["-m", "staticmw", "--version"], ["-m", "staticmw", "--help"]])
def test_python_dash_m_runs_the_command_line(argv: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, *argv], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "staticmw" in done.stdout


def test_the_readmes_wheel_lines_work_as_written(tmp_path) -> None:
    """The two wheel lines of "Getting started", run as written (the checkout's path put in):
    the wheel lands in ./dist, the shell expands its name, it installs, and its build prints
    no deprecation notice (the licence is an SPDX expression, not a classifier)."""
    import re
    import venv

    root = Path(__file__).resolve().parent.parent
    page = (root / "docs" / "getting-started.md").read_text()
    lines = [
        line.split("#")[0].strip()
        for line in page.splitlines()
        if line.startswith(("python -m pip wheel ", "pip install dist/"))
    ]
    assert len(lines) == 2, lines
    venv.create(tmp_path / "env", with_pip=True)
    env_bin = tmp_path / "env" / "bin"
    script = "set -e\n" + "\n".join(line.replace("/path/to/staticmw", str(root)) for line in lines)
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        env={**os.environ, "PATH": f"{env_bin}:{os.environ['PATH']}", "PIP_NO_INPUT": "1"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert not re.search("deprecat", done.stdout + done.stderr, re.IGNORECASE), done.stderr
    (wheel,) = (tmp_path / "dist").glob("staticmw-*.whl")
    show = "import importlib.metadata as m; print(m.metadata('staticmw'))"
    metadata = subprocess.run(
        [str(env_bin / "python"), "-c", show],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "License-Expression: MIT" in metadata and "Classifier: License" not in metadata
    assert wheel.name.startswith("staticmw-")


def test_the_version_moves_with_the_changelog() -> None:
    """Between releases the version is a ``.dev`` one and the changelog's newest section is
    "Unreleased"; a release names its version there."""
    import staticmw

    changelog = (Path(__file__).resolve().parent.parent / "CHANGELOG.md").read_text()
    newest = next(line for line in changelog.splitlines() if line.startswith("## "))
    if ".dev" in staticmw.__version__:
        assert newest == "## Unreleased"
    else:
        assert newest == f"## {staticmw.__version__}"
