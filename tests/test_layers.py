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
from staticmw.build import BuildConfig, build

from .test_django_storage import EXAMPLE_STATIC, collect

PACKAGE = Path(staticmw.__file__).parent

# The build: collecting, hashing, rewriting, compressing, writing records.
BUILD = {
    "atomic", "build", "compress", "deltas", "engine", "history", "jsscan", "modulegraph",
    "precompress", "rewrite", "tree",
}  # fmt: skip
# The command line, and the integrations' own build steps (collectstatic, `flask staticmw
# build`): they run the build, and may import it.
RUNS_THE_BUILD = {"cli", "check", "__main__", "buildoptions", "django.collecting", "flask"}


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(path: Path) -> set[str]:
    """Every staticmw module *path* imports, at the top or inside a function."""
    here = _module(path).split(".") if _module(path) else []
    package = here if path.name == "__init__.py" else here[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
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


def test_no_serving_module_imports_the_build():
    modules = {_module(path): path for path in PACKAGE.rglob("*.py")}
    assert set(modules) >= BUILD and "core" in modules and "django.storage" in modules
    edges = []
    for name, path in sorted(modules.items()):
        if name in BUILD or name in RUNS_THE_BUILD:
            continue
        for target in sorted(_imported(path)):
            if target.split(".")[0] in BUILD:
                edges.append(f"{name} -> {target}")
    assert edges == []


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
    assert "staticmw.core" in loaded and "staticmw.django.storage" in loaded
    assert [name for name in loaded if name.split(".")[1] in BUILD] == []
