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
