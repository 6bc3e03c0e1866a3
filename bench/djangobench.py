"""Django side by side with WhiteNoise: served under Gunicorn and Uvicorn, and collectstatic.

Each peer runs the same small project (``djangosite``) with its own middleware and
storage; ``run.py`` calls these and reports ratios within one run.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import procs

HERE = Path(__file__).resolve().parent
PEERS = ["django-staticmw", "django-whitenoise"]
TICK = os.sysconf("SC_CLK_TCK")


def available() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("django", "whitenoise"))


def _cpu_seconds(master: int) -> float:
    """User and system CPU of a Gunicorn master's worker processes so far."""
    total = 0.0
    try:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    except OSError:
        return 0.0
    for pid in children:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICK
    return total


def _serve(command: list[str], peer: str, root: Path, log: Path):
    port = procs.free_port()
    command = [part.replace("{port}", str(port)) for part in command]
    env = dict(os.environ, BENCH_PEER=peer, BENCH_ROOT=str(root), PYTHONPATH=str(HERE))
    env.pop("BENCH_SOURCES", None)
    process = procs.start(command, log, env)
    procs.wait_port(port, process, log)
    return process, port


def served(site: Path, seconds: float, repeats: int, work: Path) -> dict:
    """req/s for 1 KB and 304, MiB/s and worker CPU ms per response for 10 MiB, per peer."""
    import run

    gunicorn = [
        sys.executable, "-m", "gunicorn", "--chdir", str(HERE), "--bind", "127.0.0.1:{port}",
        "--workers", "2", "--log-level", "warning", "djangosite.wsgi:application",
    ]  # fmt: skip
    uvicorn = [
        sys.executable, "-m", "uvicorn", "--app-dir", str(HERE), "--host", "127.0.0.1",
        "--port", "{port}", "--workers", "1", "--no-access-log", "--log-level", "warning",
        "djangosite.asgi:application",
    ]  # fmt: skip
    results: dict[str, dict] = {}
    for peer in PEERS:
        process, port = _serve(gunicorn, peer, site, work / f"django-gunicorn-{peer}.log")
        try:
            row: dict[str, float] = {}
            for workload in ("1 KB (200)", "304 (If-None-Match)"):
                path, headers = run.WORKLOADS[workload]
                wanted = dict(headers)
                if wanted.get("If-None-Match") == "<etag>":
                    wanted["If-None-Match"] = run._etag_over_http(port, path)
                runs = [run.wrk(port, path, wanted, seconds, 8) for _ in range(repeats)]
                row[workload] = statistics.median(r["rps"] for r in runs)
            path, headers = run.WORKLOADS["10 MiB (200)"]
            rates, cpu = [], []
            for _ in range(repeats):
                before = _cpu_seconds(process.pid)
                got = run.wrk(port, path, headers, seconds, 8)
                used = _cpu_seconds(process.pid) - before
                rates.append(got["mbps"])
                cpu.append(used / max(1.0, got["rps"] * seconds) * 1000)
            row["10 MiB MiB/s"] = statistics.median(rates)
            row["10 MiB worker CPU ms/response"] = statistics.median(cpu)
        finally:
            procs.stop(process)
        process, port = _serve(uvicorn, peer, site, work / f"django-uvicorn-{peer}.log")
        try:
            path, headers = run.WORKLOADS["1 KB (200)"]
            runs = [run.wrk(port, path, headers, seconds, 8) for _ in range(repeats)]
            row["uvicorn 1 KB (200)"] = statistics.median(r["rps"] for r in runs)
        finally:
            procs.stop(process)
        results[peer] = row
    return results


def make_sources(directory: Path, count: int) -> int:
    """Generated stylesheets and modules that reference each other; returns the file count."""
    if directory.exists():
        shutil.rmtree(directory)
    (directory / "css").mkdir(parents=True)
    (directory / "js").mkdir()
    rule = "".join(f".c{i} {{ margin: {i}px; color: #{i % 4096:03x}; }}\n" for i in range(120))
    (directory / "css" / "base.css").write_text(rule)
    (directory / "js" / "base.js").write_text("export const base = 1;\n")
    for i in range(count // 2 - 1):
        sheet = f'@import url("base.css");\n/* sheet {i} */\n{rule}'
        (directory / "css" / f"c{i}.css").write_text(sheet)
        body = "".join(f"export const v{j} = {i * 1000 + j};\n" for j in range(80))
        module = f'import {{ base }} from "./base.js";\n// module {i}\n{body}'
        (directory / "js" / f"m{i}.js").write_text(module)
    return 2 * (count // 2)


WAGTAIL = "wagtail==8.0.1"


def wagtail_static(work: Path) -> list[Path] | None:
    """The static folders of Wagtail's wheel (the large app the Django row adds to the
    admin), fetched from the package index once; ``None``, said why, when it cannot be."""
    target = work / "wagtail-static"
    if not target.exists():
        wheels = work / "wheels"
        fetched = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--only-binary", ":all:", "--dest", str(wheels), WAGTAIL],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        found = sorted(wheels.glob("wagtail-*.whl"))
        if fetched.returncode or not found:
            print(f"collectstatic: {WAGTAIL} not fetched, its row skipped", file=sys.stderr)
            return None
        import zipfile

        with zipfile.ZipFile(found[-1]) as wheel:
            members = [m for m in wheel.namelist() if "/static/" in m]
            wheel.extractall(work / "wagtail-unpacked", members)
        shutil.rmtree(target, ignore_errors=True)
        (work / "wagtail-unpacked").rename(target)
    return sorted(
        path
        for path in target.rglob("static")
        if path.is_dir() and "project_template" not in path.parts
    )


def _collect(peer: str, root: Path, sources: Path | str, **extra: str) -> float:
    """Wall seconds of one collectstatic by *peer* into *root*."""
    env = dict(
        os.environ,
        BENCH_PEER=peer,
        BENCH_ROOT=str(root),
        BENCH_SOURCES=str(sources),
        PYTHONPATH=str(HERE),
        DJANGO_SETTINGS_MODULE="djangosite.settings",
        **extra,
    )
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "django", "collectstatic", "--noinput", "-v0"],
        env=env, check=True, timeout=3600, cwd=HERE,
    )  # fmt: skip
    return time.perf_counter() - started


def collectstatic(work: Path, generated: int, repeats: int = 1) -> dict:
    """Wall seconds of a first collectstatic, of a second with nothing changed, and of one
    into a fresh STATIC_ROOT (a new slug or image): staticmw's with ``STATICMW_HISTORY``
    restoring the last run's outputs, WhiteNoise's (which has no history) from nothing.
    Over the admin and *generated* stylesheets and modules that each import another; each
    run the median of *repeats*."""
    sources = work / "django-sources"
    files = make_sources(sources, generated)
    results = _collect_runs(work, "generated", str(sources), repeats)
    results["generated"] = files
    return results


def collectstatic_wagtail(work: Path, repeats: int = 1) -> dict | None:
    """The same runs over the admin and Wagtail's own assets: the large app of a real
    project, bundles and stylesheets as its release ships them."""
    folders = wagtail_static(work)
    if not folders:
        return None
    results = _collect_runs(work, "wagtail", os.pathsep.join(map(str, folders)), repeats)
    results["app"] = WAGTAIL
    return results


def _collect_runs(work: Path, corpus: str, sources: str, repeats: int) -> dict:
    """First, second and fresh runs of each peer over *sources* (folders joined by
    ``os.pathsep``), each the median of *repeats* (a single collectstatic varies by about a
    tenth on this machine), with the number of files collected."""
    results: dict[str, dict] = {}
    for peer in PEERS:
        roots = [work / f"collected-{corpus}-{peer}", work / f"collected-{corpus}-{peer}-fresh"]
        history = work / f"history-{corpus}-{peer}"
        extra = {"BENCH_HISTORY": str(history)} if peer == "django-staticmw" else {}
        # From nothing: no STATIC_ROOT and no history, every time.
        first = _median(repeats, (*roots, history), peer, roots[0], sources, **extra)
        second = _median(repeats, (), peer, roots[0], sources, **extra)
        collected = sum(
            1 for p in roots[0].rglob("*") if p.is_file() and p.suffix not in (".gz", ".br")
        )
        # A new slug or image does not have the last one's STATIC_ROOT beside it: only the
        # history carried over.
        shutil.rmtree(roots[0])
        fresh = _median(repeats, (roots[1],), peer, roots[1], sources, **extra)
        results[peer] = {"first": first, "second": second, "fresh": fresh, "files": collected}
    return results


def _median(
    repeats: int, remove: tuple[Path, ...], peer: str, root: Path, sources: str, **extra: str
) -> float:
    """The median wall seconds of *repeats* collectstatic runs by *peer* into *root*, each
    after removing *remove*."""
    times = []
    for _ in range(repeats):
        for path in remove:
            shutil.rmtree(path, ignore_errors=True)
        times.append(_collect(peer, root, sources, **extra))
    return statistics.median(times)


def returning_visitor(work: Path) -> dict:
    """The bytes a browser that holds yesterday's assets downloads for a module after a
    one-line change and a second collectstatic: staticmw's dcz delta
    (``STATICMW_DICTIONARIES = 1``) against WhiteNoise's brotli of the whole new file."""
    import django

    jquery = Path(django.__file__).parent / "contrib/admin/static/admin/js/vendor/jquery/jquery.js"
    text = jquery.read_text()
    results: dict[str, dict] = {}
    for peer in PEERS:
        sources = work / f"returning-sources-{peer}"
        root = work / f"returning-{peer}"
        for path in (sources, root):
            shutil.rmtree(path, ignore_errors=True)
        (sources / "js").mkdir(parents=True)
        module = sources / "js" / "vendor.js"
        module.write_text(text + "export const loaded = true;\n")
        extra = {"BENCH_DICTIONARIES": "1"} if peer == "django-staticmw" else {}
        _collect(peer, root, sources, **extra)
        lines = module.read_text().split("\n")
        lines[len(lines) // 2] += " // changed"
        module.write_text("\n".join(lines))
        later = time.time() + 10  # collectstatic copies what is newer than its copy
        os.utime(module, (later, later))
        _collect(peer, root, sources, **extra)
        paths = json.loads((root / "staticfiles.json").read_text())["paths"]
        hashed = paths["js/vendor.js"]
        row = {
            "identity": (root / hashed).stat().st_size,
            "br": (root / (hashed + ".br")).stat().st_size,
        }
        if peer == "django-staticmw":
            entry = json.loads((root / "staticmw.json").read_text())["files"]["js/vendor.js"]
            (delta,) = entry["deltas"].values()
            row["dcz"] = delta["size"]
        results[peer] = row
    return results
