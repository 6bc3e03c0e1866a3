"""What a deploy costs a returning visitor with and without compression dictionaries.

Two real JavaScript files from Django's admin (jQuery, minified and not) get a one-line
change; each is built twice with ``staticmw build --dictionaries 1``, as two deploys would
be. The table gives the bytes a browser downloads for the new version: in full with brotli,
or as a dcz delta against the version it holds. The build's added time and disk are timed
the same way, each deploy also once without ``--dictionaries``.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

from staticmw.build.pipeline import BuildConfig, build

KiB = 1024


def _jquery() -> Path | None:
    try:
        import django
    except ImportError:
        return None
    found = Path(django.__file__).parent / "contrib/admin/static/admin/js/vendor/jquery"
    return found if found.is_dir() else None


def _cases(jquery: Path) -> dict[str, tuple[bytes, Callable[[bytes], bytes]]]:
    """Name -> (version 1, the one-line change that makes version 2)."""
    minified = (jquery / "jquery.min.js").read_bytes()
    # The first 100 KiB of the readable source, cut at a line end.
    readable = (jquery / "jquery.js").read_bytes()
    readable = readable[: readable.rindex(b"\n", 0, 100 * KiB) + 1]

    def bump_version(data: bytes) -> bytes:
        changed = data.replace(b'"3.', b'"4.', 1)
        assert changed != data
        return changed

    def edit_one_line(data: bytes) -> bytes:
        lines = data.split(b"\n")
        middle = len(lines) // 2
        while not lines[middle].strip():
            middle += 1
        lines[middle] = lines[middle] + b" // changed"
        return b"\n".join(lines)

    return {
        f"jquery.min.js ({len(minified) / KiB:.0f} KiB, minified): version string": (
            minified,
            bump_version,
        ),
        f"jquery.js, first {len(readable) / KiB:.0f} KiB (readable): one line": (
            readable,
            edit_one_line,
        ),
    }


def _deploy(source: Path, out: Path, content: bytes, dictionaries: int) -> tuple[float, dict]:
    (source / "app.js").write_bytes(content)
    config = BuildConfig(
        [str(source)], str(out), codecs=["gzip", "br", "zstd"], dictionaries=dictionaries
    )
    started = time.perf_counter()
    report = build(config)
    seconds = time.perf_counter() - started
    assert report.ok, report.errors
    import json

    return seconds, json.loads((out / "staticmw.json").read_text())["files"]["app.js"]


def measure(work: Path) -> dict[str, dict]:
    """Bytes for the new version per coding, the delta's, and the build's added cost."""
    jquery = _jquery()
    if jquery is None:
        return {}
    results = {}
    for name, (first, change) in _cases(jquery).items():
        second = change(first)
        timings = {}
        for keep in (0, 1):
            base = work / "deltas" / str(keep)
            shutil.rmtree(base, ignore_errors=True)
            (base / "src").mkdir(parents=True)
            _deploy(base / "src", base / "out", first, keep)
            seconds, entry = _deploy(base / "src", base / "out", second, keep)
            timings[keep] = seconds
        (delta,) = entry["deltas"].values()
        results[name] = {
            "identity": entry["size"],
            **entry["encodings"],
            "dcz": delta["size"],
            "build_seconds": timings[0],
            "build_seconds_dictionaries": timings[1],
        }
    return results


def table(results: dict[str, dict]) -> list[str]:
    if not results:
        return []
    lines = [
        "### A returning visitor after a one-line change: bytes for the new version "
        "(staticmw build --dictionaries 1)",
        "",
        "| file and change | identity | gzip | br | zstd | dcz delta | delta / br | "
        "second build, s (without → with) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, row in results.items():
        lines.append(
            f"| {name} | {row['identity']:,} | {row['gzip']:,} | {row['br']:,} | "
            f"{row['zstd']:,} | {row['dcz']:,} | {row['dcz'] / row['br']:.3f}× | "
            f"{row['build_seconds']:.2f} → {row['build_seconds_dictionaries']:.2f} |"
        )
    return [*lines, ""]
