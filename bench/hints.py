"""What turning early hints on costs what they do not concern: static files, requests that are
not navigations, and pages that name no assets.

A Flask app (two Jinja pages and a JSON endpoint) behind ``StaticMW``, called in-process as
a WSGI server would, with ``STATICMW_EARLY_HINTS`` off and on, call by call in turn; the
table gives the median µs per call of each, what the option added, and their ratio.

A navigation pays a fixed price, whatever its page: the route's memory is read, the
rendering recorded, and the final headers looked at, a few µs. The listing page (50 table
rows, about 6 KB of HTML) shows it against a page of ordinary weight; the smallest page
Flask can render from a template shows it against almost nothing, the worst case there is.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from wsgiref.util import setup_testing_defaults

CALLS = 20_000
# Fresh pairs of apps the calls are spread over.
ROUNDS = 6

SMALL = """<!doctype html><html><head><title>{{ title }}</title></head>
<body>{% for item in items %}<p>{{ item }}</p>{% endfor %}</body></html>"""

LISTING = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head><body><header><nav>
{% for link in nav %}<a href="/{{ link }}">{{ link|title }}</a> {% endfor %}</nav></header>
<main><h1>{{ title }}</h1><table><thead><tr><th>#</th><th>Name</th><th>Owner</th>
<th>Updated</th></tr></thead><tbody>{% for row in rows %}<tr><td>{{ row.id }}</td>
<td><a href="/items/{{ row.id }}">{{ row.name }}</a></td><td>{{ row.owner }}</td>
<td>{{ row.updated }}</td></tr>{% endfor %}</tbody></table></main>
<footer>{{ rows|length }} items</footer></body></html>"""

ROWS = [
    {
        "id": i,
        "name": f"Item <{i}> & more",
        "owner": f"user{i % 7}",
        "updated": f"2026-11-{i % 28 + 1:02d}",
    }
    for i in range(50)
]
NAV = ["home", "items", "owners", "reports", "settings"]


def _app(work: Path, hints: bool) -> Any:
    from flask import Flask, jsonify

    from staticmw.integrations.flask import StaticMW

    static = work / "hints-static"
    (static / "css").mkdir(parents=True, exist_ok=True)
    (static / "css" / "site.css").write_text("body { margin: 0 }\n" * 20)
    app = Flask("hints_bench", static_folder=str(static), static_url_path="/static")
    app.config.update(STATICMW_ROOT=str(work / "hints-none"), STATICMW_EARLY_HINTS=hints)

    # Compiled once, as template files would be.
    small, listing = app.jinja_env.from_string(SMALL), app.jinja_env.from_string(LISTING)

    @app.route("/small")
    def small_page() -> str:
        return small.render(title="A page", items=range(20))

    @app.route("/items")
    def listing_page() -> str:
        return listing.render(title="Items", rows=ROWS, nav=NAV)

    @app.route("/api")
    def api() -> Any:
        return jsonify(ok=True)

    StaticMW(app)
    return app


def _environ(path: str, accept: str, mode: str) -> dict[str, Any]:
    environ: dict[str, Any] = {}
    setup_testing_defaults(environ)
    environ.update(PATH_INFO=path, SERVER_PROTOCOL="HTTP/1.1", HTTP_ACCEPT=accept)
    environ["HTTP_SEC_FETCH_MODE"] = mode
    return environ


def _call(app: Any, environ: dict[str, Any]) -> float:
    """Seconds for one request through *app*, its body read and closed."""

    def start_response(status: str, headers: Any, *exc_info: Any) -> Callable[[bytes], None]:
        return lambda data: None

    request = dict(environ)
    started = time.perf_counter()
    body = app(request, start_response)
    for _ in body:
        pass
    getattr(body, "close", lambda: None)()
    return time.perf_counter() - started


CASES = {
    "a static file (200)": ("/static/css/site.css", "text/css,*/*;q=0.1", "no-cors"),
    "a JSON request": ("/api", "application/json", "cors"),
    "a page that names no assets (a 50-row listing)": ("/items", "text/html", "navigate"),
    "the smallest page, naming no assets": ("/small", "text/html", "navigate"),
}
# Held to at most 1.02× the time without the option. The smallest page is the fixed price
# of a navigation laid bare; its row gives the µs added.
HELD = tuple(name for name in CASES if not name.startswith("the smallest"))


def measure(work: Path, calls: int = CALLS, rounds: int = ROUNDS) -> dict[str, dict[str, float]]:
    """Median µs per call of each case, early hints off and on, and their ratio.

    The two apps take turns call by call, so that the machine's moods (these machines have
    many) hit both alike. Two apps built alike can still differ by 1% (where their objects
    lie in memory), so each round builds a fresh pair and alternates which goes first; the
    ratio is the median of the rounds' ratios, the µs the median of their medians.
    """
    work.mkdir(parents=True, exist_ok=True)
    per_round = max(1, calls // rounds)
    found: dict[str, dict[str, list[float]]] = {
        name: {"off": [], "on": [], "ratio": []} for name in CASES
    }
    for turn in range(rounds):
        apps = {"off": _app(work, False), "on": _app(work, True)}
        order = ("off", "on") if turn % 2 == 0 else ("on", "off")
        for name, (path, accept, mode) in CASES.items():
            environ = _environ(path, accept, mode)
            for key in order:  # warm up: the first requests build the middleware
                for _ in range(50):
                    _call(apps[key], environ)
            times: dict[str, list[float]] = {"off": [], "on": []}
            for _ in range(per_round):
                for key in order:
                    times[key].append(_call(apps[key], environ))
            off, on = (statistics.median(times[key]) * 1e6 for key in ("off", "on"))
            found[name]["off"].append(off)
            found[name]["on"].append(on)
            found[name]["ratio"].append(on / off)
    return {
        name: {key: statistics.median(values) for key, values in each.items()}
        for name, each in found.items()
    }


def ratio(best: dict[str, float]) -> float:
    """A case's on/off ratio; results saved before the rounds carry none, so it is derived."""
    return best.get("ratio", best["on"] / best["off"])


def table(results: dict[str, dict[str, float]]) -> list[str]:
    if not results:
        return []
    lines = [
        "### Early hints on, for what they do not concern: µs per WSGI call (Flask, in-process)",
        "",
        "| request | off | on | added | ratio |",
        "|---|---|---|---|---|",
    ]
    for name, best in results.items():
        added = best["on"] - best["off"]
        lines.append(
            f"| {name} | {best['off']:.1f} | {best['on']:.1f} | {added:+.1f} | {ratio(best):.3f}× |"
        )
    return [*lines, ""]
