from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from staticmw.http.ranges import MAX_RANGES, UNSATISFIABLE, parse_range

SIZE = 120


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=5-5", [(5, 5)]),
        ("bytes=0-0", [(0, 0)]),
        ("bytes=119-119", [(119, 119)]),
        ("bytes=-1", [(119, 119)]),
        ("bytes=100-", [(100, 119)]),
        ("bytes=0-", [(0, 119)]),
        ("bytes=110-500", [(110, 119)]),
        ("bytes=-500", [(0, 119)]),
        ("bytes=0-1,4-5", [(0, 1), (4, 5)]),
        ("bytes=10-20, 0-5", [(10, 20), (0, 5)]),  # request order kept
        ("bytes=0-5,3-9", [(0, 9)]),  # overlap merged
        ("bytes=0-5,6-9", [(0, 9)]),  # adjacent merged
        ("bytes=50-60,0-5,55-70", [(0, 5), (50, 70)]),
        ("BYTES=0-0", [(0, 0)]),
        ("bytes= 0-0 ,\t2-3", [(0, 0), (2, 3)]),
        ("bytes=0-0,,2-3", [(0, 0), (2, 3)]),
        ("bytes=0-0,-0", [(0, 0)]),
        ("bytes=500-600,0-0", [(0, 0)]),
        ("bytes=0-99999999999999999999999999999", [(0, 119)]),
        ("bytes=-99999999999999999999999999999", [(0, 119)]),
        ("bytes=-0", UNSATISFIABLE),
        ("bytes=120-", UNSATISFIABLE),
        ("bytes=500-600", UNSATISFIABLE),
        ("bytes=99999999999999999999999999999-", UNSATISFIABLE),
        ("bytes=-0,500-", UNSATISFIABLE),
        ("items=0-5", None),  # unknown unit: MUST ignore
        ("bytes=abc", None),
        ("bytes=5-2", None),
        ("bytes=", None),
        ("bytes=,", None),
        ("bytes", None),
        ("bytes=0-1-2", None),
        ("bytes=--1", None),
        ("bytes=\u00b2-3", None),  # unicode digits are not digits here
        ("bytes=1 -2", None),
        ("", None),
    ],
)
def test_table(header, expected):
    assert parse_range(header, SIZE) == expected


def test_empty_representation_ignores_ranges():
    assert parse_range("bytes=0-", 0) is None
    assert parse_range("bytes=-5", 0) is None


def test_too_many_ranges_are_ignored():
    many = ",".join(f"{i * 2}-{i * 2}" for i in range(MAX_RANGES + 1))
    assert parse_range("bytes=" + many, 1000) is None
    allowed = ",".join(f"{i * 2}-{i * 2}" for i in range(MAX_RANGES))
    assert parse_range("bytes=" + allowed, 1000) == [(i * 2, i * 2) for i in range(MAX_RANGES)]


def test_huge_header_is_linear_and_ignored():
    header = "bytes=" + "0-0," * 100_000
    assert parse_range(header, 10) is None


# --- property: agrees with a direct model of RFC 9110 §14.1 --------------------

_MEMBER = re.compile(r"([0-9]*)-([0-9]*)")


def model(header: str, size: int):
    """Straight from the grammar: the set of byte positions, 'unsat' or None (ignore)."""
    if "=" not in header:
        return None
    unit, rest = header.split("=", 1)
    if unit.strip().lower() != "bytes" or size == 0:
        return None
    members = [m.strip(" \t") for m in rest.split(",") if m.strip(" \t")]
    if not members or len(members) > MAX_RANGES:
        return None
    covered: set[int] = set()
    for member in members:
        match = _MEMBER.fullmatch(member)
        if not match or not (match.group(1) or match.group(2)):
            return None
        first, last = match.groups()
        if not first:
            covered.update(range(max(0, size - int(last)), size))
            continue
        if last and int(last) < int(first):
            return None
        end = min(int(last), size - 1) if last else size - 1
        covered.update(range(int(first), end + 1))
    return covered or "unsat"


numbers = st.one_of(
    st.integers(0, 300).map(str), st.just(""), st.sampled_from(["9" * 25, "x", "-"])
)
member = st.builds(
    lambda a, b, ws: f"{ws}{a}-{b}{ws}", numbers, numbers, st.sampled_from(["", " ", "\t"])
)
headers = st.one_of(
    st.builds(
        lambda unit, members: unit + "=" + ",".join(members),
        st.sampled_from(["bytes", "BYTES", "Bytes", "items", " bytes"]),
        st.lists(member, min_size=0, max_size=20),
    ),
    st.text(max_size=40),
)


@given(header=headers, size=st.integers(0, 250))
def test_matches_reference_model(header, size):
    result = parse_range(header, size)
    expected = model(header, size)
    if expected is None:
        assert result is None
    elif expected == "unsat":
        assert result is UNSATISFIABLE
    else:
        assert isinstance(result, list)
        covered = set()
        for first, last in result:
            assert 0 <= first <= last < size
            span = set(range(first, last + 1))
            assert not (span & covered), "spans must not overlap"
            covered |= span
        assert covered == expected


def test_a_suffix_range_keeps_the_ranges_after_it():
    """Mutant: a suffix range ends the parse, dropping every range after it."""
    assert parse_range("bytes=-5,0-1", 100) == [(95, 99), (0, 1)]
    assert parse_range("bytes=-5,0-1,10-12", 100) == [(95, 99), (0, 1), (10, 12)]


def test_merging_never_bridges_a_gap():
    """§15.3.7.2 merges overlapping or adjacent ranges only. Mutant: ranges one byte apart
    merged too, sending a byte that was not asked for."""
    assert parse_range("bytes=0-1,3-4,4-5", 100) == [(0, 1), (3, 5)]
    assert parse_range("bytes=0-1,2-3", 100) == [(0, 3)]
    # One byte apart is not touching: the request's own order is kept.
    assert parse_range("bytes=10-11,0-1,3-4", 100) == [(10, 11), (0, 1), (3, 4)]


def test_a_one_byte_file():
    """Mutants at the edges of a file: off by one in the suffix, the open end, or the
    satisfiability check."""
    assert parse_range("bytes=0-0", 1) == [(0, 0)]
    assert parse_range("bytes=0-", 1) == [(0, 0)]
    assert parse_range("bytes=-1", 1) == [(0, 0)]
    assert parse_range("bytes=-5", 1) == [(0, 0)]
    assert parse_range("bytes=0-9", 1) == [(0, 0)]
    assert parse_range("bytes=1-", 1) is UNSATISFIABLE
    assert parse_range("bytes=-0", 1) is UNSATISFIABLE


def test_sixteen_ranges_are_honoured_and_seventeen_ignored():
    """The limit is 16, written out here rather than taken from the constant."""
    sixteen = ",".join(f"{n * 10}-{n * 10 + 1}" for n in range(16))
    assert len(parse_range(f"bytes={sixteen}", 1000)) == 16
    assert parse_range(f"bytes={sixteen},500-501", 1000) is None


def test_members_are_trimmed_of_spaces_and_tabs_only():
    assert parse_range("bytes= 0-1 ,\t3-4\t", 10) == [(0, 1), (3, 4)]
    for value in ("bytes=0-1,\x0b3-4", "bytes=X0-1", "bytes=0-1X", "bytes=\r0-1"):
        assert parse_range(value, 10) is None, value


def test_numbers_of_eighteen_digits_are_read_as_they_are():
    """Up to 18 digits a number is exact (a backwards range of them is malformed); longer
    ones only stand for "past any end"."""
    assert parse_range("bytes=200000000000000000-100000000000000000", 10) is None
    assert parse_range("bytes=0-" + "9" * 19, 10) == [(0, 9)]


def test_unsatisfiable_says_what_it_is():
    assert repr(UNSATISFIABLE) == "UNSATISFIABLE"
