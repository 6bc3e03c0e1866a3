"""Serving never loads the build: no import of a build module anywhere in the serving code,
and none in ``sys.modules`` after a process has served a file, rendered a hinted page that
names a stylesheet and a module, and rendered a Django template with ``{% static %}``."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import staticmw
from staticmw.build.pipeline import BuildConfig, build

from .integrations.test_django_storage import EXAMPLE_STATIC, collect

PACKAGE = Path(staticmw.__file__).parent

# The build package, and what may run it: the command line, and the integrations' own build
# steps (collectstatic, `flask staticmw build`).
BUILD = "build"
RUNS_THE_BUILD = ("cli", "__main__", "integrations.flask", "integrations.django.collecting")
# The documented paths kept at the top (``staticmw.asgi``, ``staticmw.django`` ...): each only
# re-exports what moved.
SHIMS = ("", "asgi", "bodies", "flask", "middleware", "paste", "django", "starlette")


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and ast.unparse(node.test) in (
        "TYPE_CHECKING",
        "typing.TYPE_CHECKING",
    )


def _imported(path: Path, at_run_time: bool = False) -> set[str]:
    """Every staticmw module *path* imports, at the top or inside a function (and, unless
    *at_run_time*, under ``if TYPE_CHECKING``)."""
    here = _module(path).split(".") if _module(path) else []
    package = here if path.name == "__init__.py" else here[:-1]
    found = set()
    skipped = set()
    tree = ast.parse(path.read_text())
    if at_run_time:
        for node in ast.walk(tree):
            if _type_checking(node):
                skipped.update(id(inner) for inner in ast.walk(node))
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            elif (node.module or "").startswith("staticmw."):
                module = node.module[len("staticmw.") :]  # type: ignore[index]
            else:
                continue
            found.add(module)
            found.update(f"{module}.{alias.name}".strip(".") for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(
                alias.name[len("staticmw.") :]
                for alias in node.names
                if alias.name.startswith("staticmw.")
            )
    return found


def _within(name: str, packages: tuple[str, ...] | str) -> bool:
    packages = (packages,) if isinstance(packages, str) else packages
    return any(name == p or name.startswith(p + ".") for p in packages)


MODULES = {_module(path): path for path in PACKAGE.rglob("*.py")}


def _in(packages: tuple[str, ...] | str) -> list[str]:
    return [name for name in MODULES if _within(name, packages)]


def _edges(
    sources: list[str], target: tuple[str, ...] | str, at_run_time: bool = False
) -> list[str]:
    return [
        f"{name} -> {imported}"
        for name, path in sorted(MODULES.items())
        if name in sources
        for imported in sorted(_imported(path, at_run_time))
        if _within(imported, target) and not _within(name, target)
    ]


def test_the_layout_has_its_packages():
    packages = {name for name, path in MODULES.items() if path.name == "__init__.py"}
    assert {"http", "serve", "hints", "manifest", "build", "integrations", "cli"} <= packages
    assert {"serve.core", "http.decision", "integrations.django.storage", "build.pipeline"} <= set(
        MODULES
    )


def test_no_serving_module_imports_the_build():
    serving = [name for name in MODULES if not _within(name, (BUILD, *RUNS_THE_BUILD))]
    assert "serve.core" in serving and "integrations.django.storage" in serving
    assert _edges(serving, BUILD) == []


def test_http_rules_import_no_other_layer_when_running():
    """The HTTP rules are pure: at run time they import only each other (types aside)."""
    others = ("serve", "hints", "manifest", "build", "integrations", "cli")
    assert _edges(_in("http"), others, at_run_time=True) == []
    assert _edges(_in("http"), "serve") != [], "the types the rules take were not seen"


def test_adapters_and_the_command_line_sit_on_top():
    below = ("http", "serve", "hints", "manifest", "build")
    assert _edges(_in(below), ("integrations", "cli")) == []
    assert _edges(_in("integrations"), "cli") == []


def test_the_top_level_modules_only_re_export():
    top = [name for name in MODULES if "." not in name and name not in ("__main__",)]
    assert (
        sorted(
            name
            for name in top
            if name not in SHIMS
            and name
            not in dict.fromkeys(
                ["http", "serve", "hints", "manifest", "build", "integrations", "cli"]
            )
        )
        == []
    )
    for name in SHIMS:
        tree = ast.parse(MODULES[name].read_text())
        kinds = {type(node).__name__ for node in tree.body}
        assert kinds <= {"Expr", "ImportFrom", "Assign"}, (name, kinds)


PROBE = """
import json, os, sys

import django
from django.conf import settings

from staticmw import StaticMiddleware
from tests.helpers import call

built, collected = sys.argv[1], sys.argv[2]
holder = {}

def page(environ, start_response):
    static = holder["static"]
    html = static.static_url("css/site.css") + static.importmap_tag("js/app.js")
    start_response("200 OK", [("Content-Type", "text/html")])
    return [html.encode()]

static = holder["static"] = StaticMiddleware(page, built, "/static/", early_hints=True)
navigate = {"Accept": "text/html", "Sec-Fetch-Mode": "navigate"}
served = call(static, static.static_url("css/site.css"), headers={"Accept-Encoding": "gzip"})
assert served.status == 200, served
hinted = call(static, "/page", headers=navigate)
links = " ".join(value for name, value in hinted.header_list if name.lower() == "link")
assert "rel=preload; as=style" in links and "as=font" in links and "modulepreload" in links

settings.configure(
    DEBUG=False,
    SECRET_KEY="x",
    INSTALLED_APPS=["staticmw.django", "django.contrib.staticfiles"],
    STATIC_URL="/static/",
    STATIC_ROOT=collected,
    STORAGES={"staticfiles": {"BACKEND": "staticmw.django.storage.ManifestStaticFilesStorage"}},
    TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates"}],
)
django.setup()
from django.template import Context, Template

html = Template('{% load static staticmw %}{% static "css/site.css" %}{% importmap "js/app.js" %}')
assert "/static/css/site." in html.render(Context())
print(json.dumps(sorted(name for name in sys.modules if name.startswith("staticmw."))))
"""


def test_serving_and_rendering_load_no_build_module(tmp_path):
    built = tmp_path / "built"
    report = build(BuildConfig(sources=[str(EXAMPLE_STATIC)], out=str(built), jobs=1))
    assert report.ok, report.errors
    collect(tmp_path / "collected")
    probe = tmp_path / "probe.py"
    probe.write_text(textwrap.dedent(PROBE))
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(
        [sys.executable, str(probe), str(built), str(tmp_path / "collected")],
        capture_output=True, text=True, env=env, cwd=root, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.splitlines()[-1])
    assert "staticmw.serve.core" in loaded and "staticmw.integrations.django.storage" in loaded
    assert [name for name in loaded if _within(name[len("staticmw.") :], BUILD)] == []
