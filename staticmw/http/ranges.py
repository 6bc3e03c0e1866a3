"""The Range header (RFC 9110 §14.1-§14.2), parsed into byte spans of a representation."""

from __future__ import annotations

from itertools import pairwise
from typing import Final

# §17.15: many small or overlapping ranges are a denial-of-service signal. A
# request with more ranges than this is ignored and gets the whole file (200).
MAX_RANGES: Final = 16

# Any number with more digits than this is larger than every file; it is
# clamped instead of converted, so huge values cost nothing.
_MAX_DIGITS = 18
_HUGE: int = 10**_MAX_DIGITS


class _Unsatisfiable:
    __slots__ = ()

    def __repr__(self) -> str:
        return "UNSATISFIABLE"


UNSATISFIABLE: Final = _Unsatisfiable()
"""Returned when the header is valid but no range overlaps the representation (416)."""

Spans = list[tuple[int, int]]


def _number(text: str) -> int | None:
    if not text or not text.isascii() or not text.isdigit():
        return None
    if len(text) > _MAX_DIGITS:
        return _HUGE
    return int(text)


def parse_range(
    value: str, size: int, max_ranges: int = MAX_RANGES
) -> Spans | _Unsatisfiable | None:
    """Byte spans ``(first, last)`` (inclusive) to send, :data:`UNSATISFIABLE`, or ``None``.

    ``None`` means "ignore the header and send the whole representation": an
    unknown unit (§14.2 MUST ignore), a malformed range set (§14.2 MAY ignore),
    more ranges than *max_ranges*, or an empty representation, for which no
    byte range can be expressed. Overlapping or adjacent ranges are merged
    (§15.3.7.2); otherwise the request order is kept.
    """
    unit, sep, range_set = value.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    if size <= 0:
        return None
    members = [m.strip(" \t") for m in range_set.split(",")]
    members = [m for m in members if m]
    if not members or len(members) > max_ranges:
        return None
    spans: Spans = []
    for member in members:
        first_text, dash, last_text = member.partition("-")
        if not dash:
            return None
        if not first_text:
            # suffix-range: the last N bytes; N = 0 is unsatisfiable (§14.1.2).
            suffix = _number(last_text)
            if suffix is None:
                return None
            if suffix > 0:
                spans.append((max(0, size - suffix), size - 1))
            continue
        first = _number(first_text)
        if first is None:
            return None
        if last_text:
            last = _number(last_text)
            if last is None or last < first:
                return None
        else:
            last = size - 1
        if first < size:
            spans.append((first, min(last, size - 1)))
    if not spans:
        return UNSATISFIABLE
    return _coalesce(spans)


def _coalesce(spans: Spans) -> Spans:
    """Merge overlapping or touching spans; keep request order when none touch."""
    if len(spans) == 1:
        return spans
    ordered = sorted(spans)
    if all(prev[1] + 1 < cur[0] for prev, cur in pairwise(ordered)):
        return spans
    merged: Spans = [ordered[0]]
    for first, last in ordered[1:]:
        top_first, top_last = merged[-1]
        if first <= top_last + 1:
            merged[-1] = (top_first, max(top_last, last))
        else:
            merged.append((first, last))
    return merged
