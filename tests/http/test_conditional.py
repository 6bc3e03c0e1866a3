from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.http import http_date

from staticmw.http import etags
from staticmw.http.conditional import Conditions, evaluate, if_range_holds, parse_http_date

ETAG = '"5f-a0"'
LM = 784111777  # Sun, 06 Nov 1994 08:49:37 GMT
LM_TEXT = "Sun, 06 Nov 1994 08:49:37 GMT"
EARLIER = http_date(LM - 10)
LATER = http_date(LM + 10)


def run(method="GET", im=None, ius=None, inm=None, ims=None, lm=LM):
    return evaluate(method, ETAG, lm, Conditions(im, ius, inm, ims))


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, None),
        # step 1: If-Match, strong comparison
        ({"im": ETAG}, None),
        ({"im": '"x", ' + ETAG}, None),
        ({"im": "*"}, None),
        ({"im": '"other"'}, 412),
        ({"im": "W/" + ETAG}, 412),  # weak never matches strongly
        ({"im": "garbage"}, 412),
        # step 2: If-Unmodified-Since, only without If-Match
        ({"ius": LATER}, None),
        ({"ius": LM_TEXT}, None),
        ({"ius": EARLIER}, 412),
        ({"ius": "not a date"}, None),  # invalid date: ignored
        ({"im": ETAG, "ius": EARLIER}, None),  # ignored when If-Match present
        # step 3: If-None-Match, weak comparison
        ({"inm": ETAG}, 304),
        ({"inm": "W/" + ETAG}, 304),
        ({"inm": '"a", "b,c", ' + ETAG}, 304),
        ({"inm": "*"}, 304),
        ({"inm": '"other"'}, None),
        ({"inm": ETAG, "method": "POST"}, 412),
        # step 4: If-Modified-Since, only GET/HEAD and only without If-None-Match
        ({"ims": LM_TEXT}, 304),
        ({"ims": LATER}, 304),
        ({"ims": EARLIER}, None),
        ({"ims": "Sunday, 06-Nov-94 08:49:37 GMT"}, 304),  # RFC 850 form
        ({"ims": "Sun Nov  6 08:49:37 1994"}, 304),  # asctime form
        ({"ims": "yesterday"}, None),
        ({"ims": LATER, "method": "HEAD"}, 304),
        ({"ims": LATER, "method": "POST"}, None),
        ({"inm": '"other"', "ims": LATER}, None),  # IMS ignored when INM present
        ({"ims": LATER, "lm": None}, None),  # no Last-Modified: nothing to compare
        # order: If-Match failure wins over If-None-Match
        ({"im": '"other"', "inm": ETAG}, 412),
        ({"ius": EARLIER, "inm": ETAG}, 412),
        ({"im": ETAG, "inm": ETAG}, 304),
    ],
)
def test_precedence(kwargs, expected):
    assert run(**kwargs) == expected


@pytest.mark.parametrize(
    ("value", "strong", "expected"),
    [
        (ETAG, True, True),
        ('"other"', True, False),
        ("W/" + ETAG, True, False),  # weak tags never match
        (LM_TEXT, True, True),
        (LATER, True, False),  # must equal exactly
        (EARLIER, True, False),
        (LM_TEXT, False, False),  # a weak Last-Modified is no validator for If-Range
        ("junk", True, False),
    ],
)
def test_if_range(value, strong, expected):
    assert if_range_holds(value, ETAG, LM, strong) is expected


def test_scan_keeps_commas_inside_tags_and_stops_at_junk():
    assert etags.scan('"a,b", W/"c" ,"d"') == [(False, '"a,b"'), (True, '"c"'), (False, '"d"')]
    assert etags.scan('"a", junk, "b"') == [(False, '"a"')]
    assert etags.scan('"unterminated') == []
    assert etags.scan(", ,") == []
    assert etags.scan('"a" "b"') == []


def test_make_etag_differs_per_coding():
    tags = {etags.make_etag(1, 2, c) for c in (None, "gzip", "br", "zstd")}
    assert len(tags) == 4
    assert all(t.startswith('"') and t.endswith('"') for t in tags)


def test_http_dates():
    assert parse_http_date(LM_TEXT) == LM
    assert parse_http_date("") is None
    assert parse_http_date("Sun, 31 Feb 1994 08:49:37 GMT") is None


@given(st.text(max_size=60))
def test_parsers_never_raise(text):
    """Any text in any field gives one of the answers its §13.2.2 step allows."""
    assert isinstance(etags.scan(text), list)
    date = parse_http_date(text)
    assert date is None or isinstance(date, int)
    for method in ("GET", "POST"):
        assert run(method=method, im=text) in (None, 412)
        assert run(method=method, ius=text) in (None, 412)
        # If-None-Match: 304 for GET, 412 for other methods (step 3).
        assert run(method=method, inm=text) in ((None, 304) if method == "GET" else (None, 412))
        # If-Modified-Since applies to GET and HEAD only (step 4).
        assert run(method=method, ims=text) in ((None, 304) if method == "GET" else (None,))
    holds = if_range_holds(text, ETAG, LM, True)
    stripped = text.strip(" \t")
    assert holds is (stripped == ETAG or parse_http_date(stripped) == LM)


def test_if_unmodified_since_is_ignored_for_a_file_with_no_last_modified():
    """§13.1.4: without a modification date the field is ignored. Mutant: the date is
    compared anyway (``None > date`` raises TypeError, a 500)."""
    conditions = Conditions(if_unmodified_since="Sat, 01 Jan 2000 00:00:00 GMT")
    assert evaluate("GET", '"x"', None, conditions) is None
    assert evaluate("GET", '"x"', 1_000_000_000, conditions) == 412


def test_a_matching_if_none_match_is_304_for_head_as_for_get_and_412_otherwise():
    conditions = Conditions(if_none_match='"abc"')
    assert evaluate("GET", '"abc"', None, conditions) == 304
    assert evaluate("HEAD", '"abc"', None, conditions) == 304
    assert evaluate("POST", '"abc"', None, conditions) == 412
    assert evaluate("head", '"abc"', None, conditions) == 412  # methods are case-sensitive


def test_if_range_strips_only_spaces_and_tabs():
    """§5.6.3's optional whitespace is spaces and tabs: other characters around the value
    leave it a value that matches nothing."""
    assert if_range_holds(' \t"abc"\t ', '"abc"', None, False)
    for value in ('"abc"\x0c', '\r"abc"', 'X"abc"', '"abc"X'):
        assert not if_range_holds(value, '"abc"', None, False), value
