"""The figures the README and the documentation quote in prose, each computed from one
results file.

A page marks a figure as ``<!-- figure NAME -->text<!-- /figure -->``, and the performance
page holds the tables of ``bench/results/latest.md`` between ``<!-- results -->`` and
``<!-- /results -->``. ``python bench/figures.py`` rewrites both from
``bench/results/latest.{json,md}`` (``make bench`` does so after a full run), and
``make docs`` and ``tests/test_bench.py`` fail when a page and the results disagree, or when
a figure (a ratio or a time) appears in prose unmarked.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"
DOCS = HERE.parent / "docs"
RESULTS = HERE / "results" / "latest.json"


def pages() -> list[Path]:
    """The README and every documentation page."""
    return [README, *sorted(DOCS.glob("*.md"))]


_FIGURE = re.compile(r"<!-- figure ([a-z0-9_]+) -->(.*?)<!-- /figure -->")
_RESULTS = re.compile(r"(<!-- results -->\n)(.*?)(<!-- /results -->)", re.DOTALL)
# What counts as a figure in prose: a ratio (0.93×) or a time in microseconds.
_UNMARKED = re.compile(r"\d(?:[.,]\d+)?\s?(?:×|µs\b)")


def _ratio(value: float) -> str:
    return f"{value:.2f}×"


def _startup_rss(data: dict) -> float:
    start = data["startup"]
    mine = start["staticmw"]["100000"]["rss_after_all"]
    return mine / start["whitenoise"]["100000"]["rss_after_all"]


def _in_process(data: dict, workload: str) -> float:
    proc = data["in_process"]
    return proc["staticmw"][workload] / proc["whitenoise"][workload]


def _paired(data: dict, server: str, workload: str = "1 KB (200)") -> float:
    ratio: float = data["paired_asgi"][server][workload]["ratio"]
    return ratio


def _granian_wsgi_1kb(data: dict) -> float:
    served = data["served"]
    return (
        served["staticmw (granian)"]["1 KB (200)"]["rps"]
        / (served["bare (granian)"]["pass-through"]["rps"])
    )


def _hints(data: dict, row: str, key: str) -> float:
    value: float = data["hints"][row][key]
    return value


_SMALL_PAGE = "the smallest page, naming no assets"
_LISTING = "a page that names no assets (a 50-row listing)"
_JQUERY = "jquery.min.js (85 KiB, minified): version string"


def _django(data: dict, key: str) -> float:
    served = data["django"]["served"]
    return served["django-staticmw"][key] / served["django-whitenoise"][key]


# Each figure: a name the README uses, and how its text is made from the results.
FIGURES: dict[str, Callable[[dict], str]] = {
    "rss_100k_vs_whitenoise": lambda d: _ratio(_startup_rss(d)),
    "in_process_1kb_vs_whitenoise": lambda d: _ratio(_in_process(d, "1 KB (200)")),
    "asgi_uvicorn_1kb_vs_same_answer": lambda d: _ratio(_paired(d, "uvicorn")),
    "asgi_granian_1kb_vs_same_answer": lambda d: _ratio(_paired(d, "granian")),
    "asgi_uvicorn_1kb_added_us": lambda d: (
        f"{d['paired_asgi']['uvicorn']['1 KB (200)']['added_us']:+.1f} µs"
    ),
    "evicted_vs_first_request": lambda d: _ratio(
        d["lookups"]["evicted, asked again"] / d["lookups"]["first request"]
    ),
    "evicted_us": lambda d: f"{d['lookups']['evicted, asked again']:.0f} µs",
    "granian_wsgi_1kb_vs_bare": lambda d: _ratio(_granian_wsgi_1kb(d)),
    "hints_static_file": lambda d: _ratio(_hints(d, "a static file (200)", "ratio")),
    "hints_small_page_added_us": lambda d: (
        f"{_hints(d, _SMALL_PAGE, 'on') - _hints(d, _SMALL_PAGE, 'off'):.0f} µs"
    ),
    "hints_small_page_us": lambda d: f"{_hints(d, _SMALL_PAGE, 'off'):.0f} µs",
    "hints_small_page_ratio": lambda d: _ratio(_hints(d, _SMALL_PAGE, "ratio")),
    "hints_listing_added_us": lambda d: (
        f"{_hints(d, _LISTING, 'on') - _hints(d, _LISTING, 'off'):.0f} µs"
    ),
    "hints_listing_us": lambda d: f"{_hints(d, _LISTING, 'off'):.0f} µs",
    "hints_listing_ratio": lambda d: _ratio(_hints(d, _LISTING, "ratio")),
    "dcz_jquery_delta_bytes": lambda d: f"{d['deltas'][_JQUERY]['dcz']:,}",
    "dcz_jquery_br_bytes": lambda d: f"{d['deltas'][_JQUERY]['br']:,}",
    "django_10mib_rate": lambda d: _ratio(_django(d, "10 MiB MiB/s")),
    "django_10mib_cpu": lambda d: _ratio(_django(d, "10 MiB worker CPU ms/response")),
}


def computed(data: dict) -> dict[str, str | None]:
    """Every figure's text from the results *data*; ``None`` for one they do not hold."""
    figures: dict[str, str | None] = {}
    for name, make in FIGURES.items():
        try:
            figures[name] = make(data)
        except (KeyError, TypeError, ZeroDivisionError):
            figures[name] = None
    return figures


def problems(text: str, data: dict, markdown: str, results: bool = True) -> list[str]:
    """Where a page disagrees with the results, or quotes a figure it does not mark; with
    *results*, it must hold the results block too."""
    found = []
    figures = computed(data)
    for match in _FIGURE.finditer(text):
        name, said = match.groups()
        if name not in figures:
            found.append(f"unknown figure {name!r}")
        elif figures[name] is None:
            found.append(f"figure {name}: not in the results")
        elif said != figures[name]:
            found.append(f"figure {name}: the page says {said!r}, the results {figures[name]!r}")
    block = _RESULTS.search(text)
    if block is None:
        if results:
            found.append("no <!-- results --> block")
    elif block.group(2) != markdown:
        found.append("the results block is not bench/results/latest.md")
    found += [f"unmarked figure in prose: {line!r}" for line in unmarked(text)]
    return found


def everywhere(data: dict, markdown: str) -> list[str]:
    """:func:`problems` of every page, each named; the results block on the performance page."""
    found = []
    for page in pages():
        text = page.read_text()
        results = page.name == "performance.md"
        found += [f"{page.name}: {p}" for p in problems(text, data, markdown, results)]
    return found


def unmarked(text: str) -> list[str]:
    """Prose lines with a ratio or a time outside a figure mark (tables and code excepted)."""
    text = _RESULTS.sub("", text)
    lines, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
            continue
        if fenced or line.lstrip().startswith("|"):
            continue
        bare = _FIGURE.sub("", line)
        bare = re.sub(r"`[^`]*`", "", bare)  # code in a sentence is no figure
        if _UNMARKED.search(bare):
            lines.append(line)
    return lines


def rewrite(text: str, data: dict, markdown: str) -> str:
    """A page with every marked figure and the results block taken from the results."""
    figures = computed(data)

    def figure(match: re.Match[str]) -> str:
        name, old = match.groups()
        return f"<!-- figure {name} -->{figures.get(name) or old}<!-- /figure -->"

    text = _FIGURE.sub(figure, text)
    return _RESULTS.sub(lambda m: m.group(1) + markdown + m.group(3), text)


def main(argv: list[str]) -> int:
    """Rewrite every page from the results (``--check``: only say where they disagree)."""
    import json

    data = json.loads(RESULTS.read_text())
    markdown = RESULTS.with_suffix(".md").read_text()
    if "--check" not in argv:
        for page in pages():
            page.write_text(rewrite(page.read_text(), data, markdown))
    left = everywhere(data, markdown)
    for problem in left:
        print(problem, file=sys.stderr)
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
