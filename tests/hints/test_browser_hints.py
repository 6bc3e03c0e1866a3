"""Early hints in a real browser (see ``bench/pageload.py`` for the setup): headless Chromium
over HTTP/2 and TLS against Hypercorn (one origin) and Gunicorn 27 serving the Django example
(files on a second origin, then on the page's own), a page that takes 300 ms to render,
round trips of 200 ms on the wire."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import pageload

pytestmark = pytest.mark.server


@pytest.mark.parametrize("kind", pageload.KINDS)
def test_early_hints_start_assets_during_the_render(tmp_path, kind):
    if not os.access(pageload.CHROMIUM, os.X_OK):
        pytest.fail("chromium is not installed: run `make tools` (make test does)")
    row = pageload.measure(tmp_path, (kind,))[kind]
    print(f"{kind}: {row}")
    assert row["protocols"] == ["h2"]
    early = row["early"]
    assert any(path.startswith("/static/css/site.") for path in early), row
    assert any(path.startswith("/static/fonts/probe.") for path in early), row
    assert sum(path.startswith("/static/js/") for path in early) == 4, row
    first = row["first_file"]
    if kind not in pageload.GAINING:
        # Gunicorn's worker answers one connection's streams one after another: with the
        # files on the page's origin, the hinted ones reach it only once the page has ended
        # (the README says so, with these numbers).
        assert first["with"] >= pageload.RENDER, first
        return
    if kind == "hypercorn":
        # One origin, one connection: the hinted files arrive while the page renders.
        assert first["with"] < pageload.RENDER, first
    else:
        # Files on a second origin need a connection of their own (TCP and TLS, two round
        # trips), longer than this render: the hints start it, and the files arrive at
        # least one round trip sooner than without them.
        assert first["without"] - first["with"] >= 2 * pageload.ONE_WAY, first
    assert row["without"] - row["with"] >= 200, row


def test_the_table_reads_saved_results():
    row = {"without": 1150.0, "with": 750.0, "first_file": {"without": 0.5, "with": 0.2}}
    text = "\n".join(pageload.table({"hypercorn": row}))
    assert "| Hypercorn, one origin | 1150 ms | 750 ms | 0.50 without, 0.20 with |" in text
