from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from staticmw.http.encodings import (
    CODINGS,
    SIDECAR_SUFFIXES,
    choose,
    parse_accept_encoding,
    quality,
    worth_compressing,
)

# identity 1000 bytes, gzip 300, br 250, zstd 260
AVAILABLE = [("identity", 1000), ("br", 250), ("zstd", 260), ("gzip", 300)]


def chosen(header, available=AVAILABLE):
    return available[choose(available, header)][0]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "identity"),  # no field: identity
        ("", "identity"),  # empty field: identity only
        ("gzip", "gzip"),
        ("gzip, br", "br"),  # equal q: smallest wins
        ("gzip, br, zstd", "br"),
        ("GZIP", "gzip"),  # case-insensitive
        ("x-gzip", "gzip"),  # alias
        ("gzip;q=1.0, br;q=0.5", "gzip"),  # q honoured over size
        ("gzip;Q=0.9, br;q=0.8", "gzip"),  # parameter name case-insensitive
        ("gzip;q=0.5", "gzip"),  # an unlisted identity does not outrank a listed coding
        ("br;q=0, gzip", "gzip"),  # q=0 never chosen
        ("br;q=0.000, gzip", "gzip"),
        ("*", "br"),
        ("*;q=0.5, gzip;q=0.6", "gzip"),
        ("*;q=0", "identity"),  # nothing acceptable: disregard, identity
        ("identity;q=0", "identity"),  # likewise
        ("gzip;q=0, identity;q=0", "identity"),
        ("identity;q=0, gzip;q=0.1", "gzip"),
        ("br;q=2, gzip", "gzip"),  # invalid q drops the member
        ("br;q=0.1234, gzip", "gzip"),  # more than three decimals is invalid
        ("br;q=abc", "identity"),
        ("gzip;q=0.5, gzip;q=0", "identity"),  # a coding listed twice keeps its lowest q
        ("deflate, compress", "identity"),  # none available
        ("gzip , br ; q=0.9", "gzip"),
        (", , gzip", "gzip"),
    ],
)
def test_choice(header, expected):
    assert chosen(header) == expected


def test_identity_wins_when_smaller():
    available = [("identity", 100), ("gzip", 140)]
    assert chosen("gzip", available) == "identity"
    assert chosen("gzip, identity;q=0", available) == "gzip"


def test_single_representation_is_always_identity():
    assert choose([("identity", 10)], "br") == 0


def test_parse():
    assert parse_accept_encoding("gzip;q=0.5, BR, *;q=0") == {"gzip": 0.5, "br": 1.0, "*": 0.0}
    assert parse_accept_encoding("") == {}
    assert quality("identity", {}) is None  # acceptable, weight left to the choice
    assert quality("identity", {"*": 0.2}) == 0.2
    assert quality("gzip", {}) == 0.0
    assert quality("gzip", {"*": 0.3}) == 0.3


codings = st.sampled_from(
    ["gzip", "br", "zstd", "identity", "*", "x-gzip", "GZip", "deflate", "b r"]
)
qvalues = st.one_of(
    st.just(""),
    st.sampled_from(
        [";q=0", ";q=0.0", ";q=1", ";q=0.5", ";q=0.001", ";Q=0.7", ";q=2", ";q=", ";x=1"]
    ),
)
accept = st.lists(st.builds(lambda c, q: c + q, codings, qvalues), max_size=8).map(", ".join)


@given(
    header=st.one_of(accept, st.text(max_size=30)),
    sizes=st.lists(st.integers(1, 10**6), min_size=4, max_size=4),
)
def test_never_picks_a_refused_coding(header, sizes):
    available = [(name, size) for (name, _), size in zip(AVAILABLE, sizes, strict=True)]
    index = choose(available, header)
    coding = available[index][0]
    prefs = parse_accept_encoding(header)
    if coding != "identity":
        assert quality(coding, prefs) > 0
        # and no other variant had a strictly higher q
        best = max(quality(c, prefs) for c, _ in available[1:])
        assert quality(coding, prefs) == best


@pytest.mark.parametrize("coding", CODINGS, ids=lambda coding: coding.name)
def test_each_coding_of_the_table_is_written_served_and_checked(tmp_path, coding):
    """The table is the one list: ``compress`` writes a coding's first suffix, the middleware
    serves every suffix of it, and ``check`` counts a file with any of them as compressed."""
    from staticmw.build import precompress
    from staticmw.cli.check import report
    from staticmw.middleware import StaticMiddleware, no_application

    from ..helpers import call

    built = tmp_path / "built"
    built.mkdir()
    (built / "app.css").write_text("body { color: red }\n" * 200)
    precompress.precompress(str(built), ["app.css"], codecs=[coding.name], jobs=1)
    written = built / ("app.css" + coding.suffixes[0])
    assert sorted(p.name for p in built.iterdir() if not p.name.startswith(".")) == [
        "app.css",
        written.name,
    ]
    for suffix in coding.suffixes:
        site = tmp_path / suffix.strip(".")
        site.mkdir()
        (site / "app.css").write_bytes((built / "app.css").read_bytes())
        app = StaticMiddleware(no_application, str(site), "/static/")
        assert any("no .br/.zst/.gz variant" in line for line in report(app, app)[1])
        (site / ("app.css" + suffix)).write_bytes(written.read_bytes())
        app = StaticMiddleware(no_application, str(site), "/static/")
        answer = call(app, "/static/app.css", headers={"Accept-Encoding": coding.name})
        assert answer.headers["content-encoding"] == coding.name
        assert answer.body == written.read_bytes()
        assert not any("variant" in line for line in report(app, app)[1])


def test_compressible_types_come_from_the_table():
    assert worth_compressing("text/css") and worth_compressing("image/svg+xml")
    assert not worth_compressing("image/png") and not worth_compressing("font/woff2")
    assert [coding.name for coding in CODINGS] == list(SIDECAR_SUFFIXES)


def test_a_coding_listed_twice_keeps_its_lower_weight():
    """Mutant: the later listing wins, so ``gzip;q=0, gzip;q=0.5`` would choose gzip."""
    available = [("identity", 1000), ("gzip", 300)]
    assert chosen("gzip;q=0, gzip;q=0.5", available) == "identity"
    assert chosen("gzip;q=0.5, gzip;q=0", available) == "identity"


def test_identity_inherits_the_weight_of_the_one_variant():
    """An unlisted identity ties with the best listed coding; with one variant, that is its
    weight. Mutant: identity inherits only from the second variant on (here: none, so 1.0),
    and the smaller gzip asked for at q=0.5 would lose to it."""
    assert chosen("gzip;q=0.5", [("identity", 1000), ("gzip", 300)]) == "gzip"
    assert chosen("gzip;q=0.5", [("identity", 200), ("gzip", 300)]) == "identity"


def test_a_parameter_is_split_at_its_first_equals_sign():
    """``q=0=5`` is a malformed weight: the member is dropped, not taken at q=1."""
    assert parse_accept_encoding("gzip;q=0=5, br") == {"br": 1.0}


def test_among_equal_weights_and_sizes_the_earlier_variant_wins():
    available = [("identity", 100), ("gzip", 50), ("br", 50)]
    assert choose(available, "gzip, br") == 1
    assert choose(available, "br, gzip") == 1  # the header's order does not matter


def test_parsed_values_are_cached_within_their_bounds(monkeypatch):
    """A value up to CACHED_VALUE_CHARS long is parsed once and kept; a longer one is not
    kept; the cache never holds more than its limit of entries."""
    from staticmw.http import encodings

    monkeypatch.setattr(encodings, "_cache", {})
    short = "gzip, br;q=0.5" + " " * (encodings.CACHED_VALUE_CHARS - 14)
    assert len(short) == encodings.CACHED_VALUE_CHARS
    first = encodings.cached_preferences(short)
    assert first == {"gzip": 1.0, "br": 0.5}
    assert encodings.cached_preferences(short) is first
    longer = short + " "
    assert encodings.cached_preferences(longer) is not encodings.cached_preferences(longer)
    assert longer not in encodings._cache
    encodings._cache.clear()
    for number in range(encodings._CACHE_LIMIT):
        encodings.cached_preferences(f"gzip;q=0.{number % 10}, x{number}")
    assert len(encodings._cache) == encodings._CACHE_LIMIT
    encodings.cached_preferences("br")
    assert len(encodings._cache) == 1
