"""Conditional requests (RFC 9110 §13): which precondition stops a request, in §13.2.2 order."""

from __future__ import annotations

from typing import NamedTuple

from werkzeug.http import parse_date

from . import etags

NOT_MODIFIED = 304
PRECONDITION_FAILED = 412


def parse_http_date(value: str) -> int | None:
    """Seconds since the epoch for any of the three HTTP date forms (§5.6.7), else ``None``."""
    try:
        parsed = parse_date(value)
        return None if parsed is None else int(parsed.timestamp())
    except (ValueError, OverflowError, OSError, TypeError):
        return None


class Conditions(NamedTuple):
    """A request's precondition fields (``None`` when absent), in §13.2.2 order."""

    if_match: str | None = None
    if_unmodified_since: str | None = None
    if_none_match: str | None = None
    if_modified_since: str | None = None


def evaluate(
    method: str, etag: str, last_modified: int | None, conditions: Conditions
) -> int | None:
    """304 or 412 when a precondition stops the request, ``None`` to go on.

    The caller evaluates this only for a representation that exists and would
    otherwise get 2xx (§13.2.1), after content negotiation chose it.
    """
    if_match, if_unmodified_since, if_none_match, if_modified_since = conditions
    # §13.2.2 step 1: If-Match, strong comparison; "*" holds as the file exists.
    if if_match is not None:
        if not (etags.is_star(if_match) or etags.strong_match(if_match, etag)):
            return PRECONDITION_FAILED
    # §13.2.2 step 2: If-Unmodified-Since, only without If-Match (§13.1.4).
    elif if_unmodified_since is not None and last_modified is not None:
        date = parse_http_date(if_unmodified_since)
        if date is not None and last_modified > date:
            return PRECONDITION_FAILED
    # §13.2.2 step 3: If-None-Match, weak comparison; "*" fails as the file exists.
    if if_none_match is not None:
        if etags.is_star(if_none_match) or etags.weak_match(if_none_match, etag):
            return NOT_MODIFIED if method in ("GET", "HEAD") else PRECONDITION_FAILED
    # §13.2.2 step 4: If-Modified-Since, only for GET/HEAD without If-None-Match.
    elif if_modified_since is not None and last_modified is not None and method in ("GET", "HEAD"):
        date = parse_http_date(if_modified_since)
        if date is not None and last_modified <= date:
            return NOT_MODIFIED
    return None


def if_range_holds(
    value: str, etag: str, last_modified: int | None, last_modified_strong: bool
) -> bool:
    """§13.2.2 step 5 / §13.1.5: whether a Range may be honoured under If-Range.

    An entity tag must match strongly (a weak one never does); a date must equal
    Last-Modified exactly, and only when Last-Modified is a strong validator.
    """
    value = value.strip(" \t")
    if value.startswith(('"', "W/")):
        return value == etag
    if last_modified is None or not last_modified_strong:
        return False
    return parse_http_date(value) == last_modified
