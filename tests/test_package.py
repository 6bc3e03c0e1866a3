"""The package's shape: no import cycles between its modules, typing imports included."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "staticmw"


def _imports() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in PACKAGE.glob("*.py"):
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                if node.module:
                    deps.add(node.module.split(".")[0])
                else:
                    deps.update(alias.name for alias in node.names)
        found[path.stem] = deps - {path.stem}
    return found


def test_no_import_cycles():
    graph = _imports()
    assert {
        "middleware",
        "wsgi",
        "resources",
        "headerbuilder",
        "responses",
        "plan",
        "paths",
    } <= set(graph)
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


BUILD_MODULES = (
    "staticmw.build",
    "staticmw.cli",
    "staticmw.compress",
    "staticmw.deltas",
    "staticmw.jsscan",
    "staticmw.modulegraph",
    "staticmw.precompress",
    "staticmw.rewrite",
    "staticmw.atomic",
)
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
        "import staticmw.wsgi",
        "import staticmw.asgi",
        "from staticmw import StaticMiddleware",
        "from staticmw.asgi import StaticMiddleware",
    ],
)
def test_serving_loads_no_build_module(statement: str) -> None:
    loaded = _loaded_after(statement)
    assert "staticmw.core" in loaded, "the statement did not load the serving core"
    unexpected = sorted(
        name for name in loaded if name in BUILD_MODULES or name.split(".")[0] in BUILD_LIBRARIES
    )
    assert unexpected == []


def test_the_build_does_load_its_modules() -> None:
    """The check above would pass vacuously if the names it looks for were wrong."""
    loaded = _loaded_after("import staticmw.build")
    assert {"staticmw.build", "staticmw.compress", "staticmw.rewrite", "staticmw.jsscan"} <= loaded


def test_gitignore_names_no_tracked_file() -> None:
    """A pattern that matches a tracked file hides the next new file beside it from git."""
    ignored = subprocess.run(
        ["git", "ls-files", "--ignored", "--cached", "--exclude-standard"],
        cwd=PACKAGE.parent, capture_output=True, text=True, check=True, timeout=60,
    ).stdout.split()  # fmt: skip
    assert ignored == []
