"""The benchmark and soak harnesses: their checks must be able to fail."""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

import soak


def check(name, body, headers):
    checker = soak.Checker(port=0, stop_at=0)
    checker.verify(name, 200, headers, body)
    return checker


def etag_for(body: bytes) -> str:
    return f'"1a2b-{len(body):x}"'


def test_a_true_version_passes():
    body = soak.content("small-3.txt", 7)
    checker = check("small-3.txt", body, {"etag": etag_for(body), "content-length": str(len(body))})
    assert checker.problems == [] and checker.checked == 1


def test_empty_snapshot_passes():
    checker = check("small-3.txt", b"", {"etag": etag_for(b""), "content-length": "0"})
    assert checker.problems == []


def test_mixed_versions_are_caught():
    body = soak.content("small-3.txt", 7)
    spliced = body[:50] + soak.content("small-3.txt", 8)[50:]
    checker = check(
        "small-3.txt", spliced, {"etag": etag_for(spliced), "content-length": str(len(spliced))}
    )
    assert checker.problems and checker.checked == 0


def test_wrong_length_or_etag_is_caught():
    body = soak.content("small-3.txt", 7)
    short = check(
        "small-3.txt", body[:-1], {"etag": etag_for(body), "content-length": str(len(body))}
    )
    assert "Content-Length" in short.problems[0]
    tagged = check(
        "small-3.txt", body, {"etag": etag_for(body[:-1]), "content-length": str(len(body))}
    )
    assert "ETag" in tagged.problems[0]


def test_gzip_variants_are_decoded_and_checked():
    body = soak.content("mid-1.js", 2)
    packed = gzip.compress(body)
    good = check("mid-1.js", packed, {"etag": '"1-2-gzip"', "content-length": str(len(packed)),
                                      "content-encoding": "gzip"})  # fmt: skip
    assert good.problems == []
    bad = gzip.compress(body[:-5] + b"XXXXX")
    broken = check("mid-1.js", bad, {"etag": '"1-2-gzip"', "content-length": str(len(bad)),
                                     "content-encoding": "gzip"})  # fmt: skip
    assert broken.problems


def test_application_answers_are_not_file_bodies():
    checker = check("small-1.txt", b"hello from the app\n", {"content-length": "19"})
    assert checker.problems == [] and checker.checked == 0


def test_the_delta_table_measures_real_deltas(tmp_path):
    import deltas

    results = deltas.measure(tmp_path)
    assert len(results) == 2
    for row in results.values():
        assert 0 < row["dcz"] < row["br"] / 100 < row["identity"]
    assert "| dcz delta |" in "\n".join(deltas.table(results))


def test_the_hints_table_reports_what_it_is_given():
    """The table, from numbers given (no benchmark runs in the unit suite: ``make bench``
    measures, and the bench smoke in ``make test`` runs the harness): µs added, the ratio the
    rounds gave, or one derived for results saved before the rounds."""
    import hints

    results = {
        "a JSON request": {"off": 40.0, "on": 40.5, "ratio": 1.0125},
        "the smallest page, naming no assets": {"off": 66.0, "on": 69.0},  # saved before
    }
    text = "\n".join(hints.table(results))
    assert "| a JSON request | 40.0 | 40.5 | +0.5 | 1.012× |" in text
    assert "| the smallest page, naming no assets | 66.0 | 69.0 | +3.0 | 1.045× |" in text
    assert set(hints.HELD) < set(hints.CASES)  # the smallest page is reported, not held
    assert hints.table({}) == []


def test_the_baseline_is_the_package_at_a_ref_under_its_own_name(tmp_path, monkeypatch):
    """``run.py --baseline REF`` loads REF's staticmw beside this tree's, in one process:
    extracted as ``staticmw_baseline``, a peer of its own; the table compares them."""
    import importlib
    import os

    import baseline
    import peers

    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setitem(os.environ, "PYTHONPATH", os.environ.get("PYTHONPATH", ""))
    folder = baseline.prepare("HEAD", tmp_path)
    assert (folder / "staticmw_baseline" / "__init__.py").is_file()
    assert not any(baseline._by_name(p) for p in (folder / "staticmw_baseline").rglob("*.py"))
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "a.txt").write_bytes(b"hello")
    try:
        app = peers.build("staticmw@base", str(tmp_path / "site"))
        assert type(app).__module__.startswith("staticmw_baseline.")
    finally:
        for name in [n for n in sys.modules if n.startswith("staticmw_baseline")]:
            del sys.modules[name]
    importlib.invalidate_caches()
    text = "\n".join(
        baseline.table(
            "v1",
            {"staticmw": {"1 KB (200)": 1.5}, "staticmw@base": {"1 KB (200)": 1.2}},
            {"1 KB (200)": {"staticmw": 9000.0, "staticmw@base": 10000.0}},
        )
    )
    assert "| 1 KB (200) (µs) | 1.50 | 1.20 | 1.250× |" in text
    assert "| 1 KB (200), Gunicorn sync (req/s) | 9,000 | 10,000 | 0.900× |" in text


def test_a_module_importing_staticmw_by_name_cannot_be_a_baseline(tmp_path):
    import baseline

    (tmp_path / "by_name.py").write_text(
        '"""from staticmw import x"""\nfrom staticmw.serve.core import A\n'
    )
    (tmp_path / "relative.py").write_text('"""from staticmw import x"""\nfrom .core import A\n')
    assert baseline._by_name(tmp_path / "by_name.py")
    assert not baseline._by_name(tmp_path / "relative.py")


def test_a_soak_that_reached_too_little_skips_and_says_so():
    """A busy machine may let a short soak check nothing: that proves nothing, so the soak
    says so and passes, while any real failure still fails it."""
    assert soak.verdict([], []) == (0, ["soak: passed"])
    code, lines = soak.verdict([], ["no file was changed during the run"])
    assert code == 0 and lines == [
        "soak: skipped, ran too little to prove anything: no file was changed during the run"
    ]
    code, lines = soak.verdict(["2 responses with a 5xx status"], ["nothing verified"])
    assert code == 1 and lines == ["soak: FAIL: 2 responses with a 5xx status"]


def test_the_readme_and_the_docs_quote_the_results_file():
    """The performance page's tables are bench/results/latest.md and every figure the README
    and the docs quote in prose is computed from latest.json: none can be edited alone, and
    none goes unmarked."""
    import json

    import figures

    data = json.loads(figures.RESULTS.read_text())
    markdown = figures.RESULTS.with_suffix(".md").read_text()
    assert figures.everywhere(data, markdown) == []


def test_the_figure_check_catches_what_it_must():
    import figures

    data = {"startup": {"staticmw": {"100000": {"rss_after_all": 50}}}}
    data["startup"]["whitenoise"] = {"100000": {"rss_after_all": 200}}
    block = "<!-- results -->\n### Table\n<!-- /results -->"
    good = f"RSS is <!-- figure rss_100k_vs_whitenoise -->0.25×<!-- /figure -->.\n{block}"
    assert figures.problems(good, data, "### Table\n") == []
    stale = good.replace("0.25×", "0.20×")
    assert figures.problems(stale, data, "### Table\n") == [
        "figure rss_100k_vs_whitenoise: the page says '0.20×', the results '0.25×'"
    ]
    assert figures.rewrite(stale, data, "### Table\n") == good
    assert figures.problems(good, data, "### Other\n") == [
        "the results block is not bench/results/latest.md"
    ]
    assert figures.problems("no block", data, "", results=True) == ["no <!-- results --> block"]
    assert figures.problems("no block", data, "", results=False) == []
    unmarked = good + "\nIt is 0.5× as large, in 3 µs, but `0.9×` in code is fine.\n"
    assert figures.problems(unmarked, data, "### Table\n") == [
        "unmarked figure in prose: 'It is 0.5× as large, in 3 µs, but `0.9×` in code is fine.'"
    ]
    missing = good.replace("rss_100k_vs_whitenoise", "evicted_us")
    assert "figure evicted_us: not in the results" in figures.problems(missing, data, "### Table\n")
