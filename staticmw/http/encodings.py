"""Accept-Encoding (RFC 9110 §12.5.3) and the choice among precompressed variants."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

IDENTITY = "identity"


class Coding(NamedTuple):
    """A content coding served from a precompressed file beside the original."""

    name: str  # the coding's token (RFC 9110 §8.4.1)
    suffixes: tuple[str, ...]  # its files' suffixes; the build writes the first
    extra: str | None  # the optional extra that installs its library, if one is needed


# The one table of content codings, for serving, the build, ``compress``, Django's storage and
# ``check`` alike. Serving looks for variants in this order, which breaks a tie of equal
# q-value and equal size. A dcz delta (RFC 9842) is named
# ``<hashed name>.<16 hex of the dictionary>.dcz``.
CODINGS = (
    Coding("br", (".br",), "brotli"),
    Coding("zstd", (".zst", ".zstd"), "zstd"),
    Coding("gzip", (".gz",), None),
)
SIDECAR_SUFFIXES: dict[str, tuple[str, ...]] = {coding.name: coding.suffixes for coding in CODINGS}
ALL_SIDECAR_SUFFIXES = tuple(s for coding in CODINGS for s in coding.suffixes)
# Coding -> the suffix the build writes.
WRITTEN_SUFFIX = {coding.name: coding.suffixes[0] for coding in CODINGS}
DELTA_SUFFIX = ".dcz"

# Media types that are compressed already: a variant of them would not be smaller.
_INCOMPRESSIBLE_PREFIXES = ("image/", "audio/", "video/")
_INCOMPRESSIBLE = frozenset(
    {
        "font/woff",
        "font/woff2",
        "application/gzip",
        "application/zip",
        "application/zstd",
        "application/x-brotli",
        "application/x-bzip2",
        "application/x-xz",
        "application/x-7z-compressed",
        "application/pdf",
    }
)


def worth_compressing(media_type: str) -> bool:
    """Whether files of this (bare) media type are worth a precompressed variant."""
    if media_type == "image/svg+xml":
        return True
    return not media_type.startswith(_INCOMPRESSIBLE_PREFIXES) and media_type not in _INCOMPRESSIBLE


# §8.4.1.3: x-gzip is an alias of gzip; coding names are case-insensitive (§8.4.1).
_ALIASES = {"x-gzip": "gzip", "x-compress": "compress"}

# §12.4.2 qvalue grammar: at most three decimals, never above 1.
_QVALUE = re.compile(r"0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")

# Parsed header values, keyed by the raw value. Browsers send a handful of
# distinct values, so this turns the common case into one dict lookup. Only values
# of a browser's length are kept: a server may accept megabytes in one header, and
# a cache keyed by request text must not hold what a client chose to send.
_CACHE_LIMIT = 256
CACHED_VALUE_CHARS = 256
_cache: dict[str, dict[str, float]] = {}


def parse_accept_encoding(value: str) -> dict[str, float]:
    """Map each listed coding (lower-case, aliases folded) to its q-value.

    Members that are not valid (bad token, bad q) are dropped. A coding listed
    twice keeps its lowest q, so a ``q=0`` anywhere is honoured.
    """
    prefs: dict[str, float] = {}
    for member in value.split(","):
        coding, *params = member.split(";")
        coding = coding.strip().lower()
        if not _TOKEN.fullmatch(coding):
            continue
        q: float | None = 1.0
        for param in params:
            name, _, raw = param.partition("=")
            if name.strip().lower() == "q":
                raw = raw.strip()
                q = float(raw) if _QVALUE.fullmatch(raw) else None
        if q is None:
            continue
        coding = _ALIASES.get(coding, coding)
        previous = prefs.get(coding)
        prefs[coding] = q if previous is None else min(previous, q)
    return prefs


def cached_preferences(value: str) -> dict[str, float]:
    """:func:`parse_accept_encoding` through a small cache bounded in entries and bytes."""
    prefs = _cache.get(value)
    if prefs is None:
        prefs = parse_accept_encoding(value)
        if len(value) > CACHED_VALUE_CHARS:
            return prefs
        if len(_cache) >= _CACHE_LIMIT:
            _cache.clear()
        _cache[value] = prefs
    return prefs


def quality(coding: str, prefs: dict[str, float]) -> float | None:
    """The q-value *prefs* give a coding; 0 means not acceptable.

    ``None`` for an identity that is neither listed nor covered by ``*``: §12.5.3
    keeps it acceptable without giving it a weight.
    """
    q = prefs.get(coding)
    if q is not None:
        return q
    star = prefs.get("*")
    if star is not None:
        return star
    # §12.5.3: identity is acceptable unless excluded; unlisted codings are not.
    return None if coding == IDENTITY else 0.0


def choose(available: Sequence[tuple[str, int]], header: str | None) -> int:
    """Index into *available* ``(coding, size)`` pairs of the variant to send.

    ``available[0]`` must be identity (an empty *available* means identity alone). With no
    header, identity. Otherwise the
    highest q wins, then the smallest size, then the earlier entry. When nothing
    is acceptable the header is disregarded and identity is sent (§12.1).
    """
    if header is None or len(available) <= 1:
        return 0
    prefs = cached_preferences(header)
    scores = [quality(coding, prefs) for coding, _ in available]
    if scores[0] is None:
        # An unlisted identity ties with the best listed coding, so a client
        # asking for "gzip;q=0.5" gets gzip unless the original is smaller.
        scores[0] = max((q for q in scores[1:] if q), default=1.0)
    best = 0
    best_key: tuple[float, int] | None = None
    for index, q in enumerate(scores):
        if not q:
            continue
        key = (q, -available[index][1])
        if best_key is None or key > best_key:
            best, best_key = index, key
    return best
