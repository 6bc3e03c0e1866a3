"""What keeping earlier builds for open pages costs a deploy.

A tree of stylesheets, modules and text files is deployed several times, a few files
changed each time, every build into an empty output directory as on Heroku or in a
Docker image: once with ``--prune`` alone, once with ``--prune --keep 3 --history DIR``
(earlier outputs restored from the history and saved back). The table gives the build
time of the deploys after the first, each way.

The trees live in memory (``/dev/shm``) where the system has it: on a disk, the writeback
of one run's tens of thousands of small files lands on whichever run comes next, and moved
the same build's time fourfold between runs on the machines this was developed on.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from staticmw.build.pipeline import BuildConfig, build

DEPLOYS = 4  # the first fills the history; the others are timed
CHANGED = 20  # files changed between deploys


def _tree(src: Path, files: int, deploy: int) -> None:
    """The source tree as of *deploy*: the first CHANGED * deploy files carry its number."""
    kinds = ("css", "js", "txt")
    for index in range(files):
        kind = kinds[index % 3]
        path = src / kind / f"f{index}.{kind}"
        path.parent.mkdir(parents=True, exist_ok=True)
        version = deploy if index < CHANGED else 0
        line = f"/* file {index}, version {version} */ .c{index} {{ margin: {index % 9}px; }}\n"
        path.write_text(line * 40)


def _deploys(work: Path, files: int, history: bool) -> float:
    """Seconds spent building the deploys after the first."""
    base = work / ("with-history" if history else "without")
    shutil.rmtree(base, ignore_errors=True)
    src = base / "src"
    spent = 0.0
    for deploy in range(1, DEPLOYS + 1):
        _tree(src, files, deploy)
        options = {"history": str(base / "cache"), "keep": 3} if history else {}
        config = BuildConfig(
            sources=[str(src)], out=str(base / f"release{deploy}"), codecs=["gzip"], prune=True,
            **options,  # type: ignore[arg-type]
        )  # fmt: skip
        started = time.perf_counter()
        report = build(config)
        if deploy > 1:
            spent += time.perf_counter() - started
        assert report.ok, report.errors
    shutil.rmtree(base, ignore_errors=True)
    return spent


def scratch(fallback: Path) -> tuple[Path, str]:
    """Where the trees go: in memory when the system has ``/dev/shm``, else *fallback*."""
    memory = Path("/dev/shm")
    if memory.is_dir() and os.access(memory, os.W_OK):
        return memory / f"staticmw-deploys-{os.getpid()}", "in memory"
    return fallback / "deploys", "on disk"


def measure(work: Path, files: int, rounds: int = 3) -> dict[str, float | str]:
    """Best of *rounds* for each way, alternated so that the machine's drift hits both."""
    work, where = scratch(work)
    best: dict[str, float | str] = {"files": files, "where": where}
    best.update(without=float("inf"), with_history=float("inf"))
    try:
        for _ in range(rounds):
            for key, history in (("without", False), ("with_history", True)):
                best[key] = min(float(best[key]), _deploys(work, files, history))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return best


def table(results: dict[str, float | str]) -> list[str]:
    if not results:
        return []
    ratio = float(results["with_history"]) / float(results["without"])
    where = results.get("where", "on disk")
    return [
        f"### Deploys into empty directories: {DEPLOYS - 1} builds of {results['files']:,} "
        f"files ({CHANGED} changed each time), gzip, {where}",
        "",
        "| --prune | --prune --keep 3 --history DIR | ratio |",
        "|---|---|---|",
        f"| {float(results['without']):.2f} s | {float(results['with_history']):.2f} s "
        f"| {ratio:.2f}× |",
        "",
    ]
