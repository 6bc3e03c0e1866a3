"""``bench/run.py --baseline REF``: this tree's staticmw against the one at a git ref, in the
same run. The package at REF is extracted as ``staticmw_baseline`` (staticmw imports itself
only relatively), so both load in one process and take turns round by round, in-process and
under Gunicorn: a change's cost is measured beside the code it changes, not against a
results file from another day.
"""

from __future__ import annotations

import ast
import io
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

PACKAGE = "staticmw_baseline"
REPO = Path(__file__).resolve().parent.parent


def _by_name(path: Path) -> bool:
    """Whether a module imports staticmw by its name (it would load this tree's, not its own)."""
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module or ""]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        if any(name.split(".")[0] == "staticmw" for name in names):
            return True
    return False


def prepare(ref: str, work: Path) -> Path:
    """Extract staticmw at *ref* as :data:`PACKAGE` below *work*, make it importable here
    and in the servers this process starts; the folder it is in."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", ref, "staticmw"],
        cwd=REPO, capture_output=True, check=True,
    ).stdout  # fmt: skip
    folder = work / "baseline"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    (folder / "staticmw").rename(folder / PACKAGE)
    absolute = [path for path in (folder / PACKAGE).rglob("*.py") if _by_name(path)]
    if absolute:
        raise SystemExit(f"{ref}: {absolute[0].name} imports staticmw by name; not a baseline")
    sys.path.insert(0, str(folder))
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(folder), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    return folder


def table(ref: str, in_process: dict, served: dict) -> list[str]:
    """This tree against *ref*: µs per in-process call, req/s under Gunicorn, and ratios."""
    lines = [
        f"### This tree against {ref}: in-process µs per WSGI call (lower is better), "
        "and Gunicorn sync req/s (higher is better), measured in alternating rounds",
        "",
        "| workload | this tree | baseline | ratio |",
        "|---|---|---|---|",
    ]
    now, then = in_process.get("staticmw", {}), in_process.get("staticmw@base", {})
    for workload, value in now.items():
        before = then.get(workload)
        if value and before:
            lines.append(
                f"| {workload} (µs) | {value:.2f} | {before:.2f} | {value / before:.3f}× |"
            )
    for workload, rates in served.items():
        value, before = rates.get("staticmw"), rates.get("staticmw@base")
        if value and before:
            lines.append(
                f"| {workload}, Gunicorn sync (req/s) | {value:,.0f} | {before:,.0f} "
                f"| {value / before:.3f}× |"
            )
    return [*lines, ""]
