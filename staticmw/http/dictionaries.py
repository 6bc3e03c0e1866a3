"""Compression dictionaries (RFC 9842): an earlier version of an asset as the dictionary
for its next one, so that a returning visitor downloads only the difference.

The pure, serve-side parts live here: the header fields (``Use-As-Dictionary``,
``Available-Dictionary``), delta file names, the ``dcz`` framing, and the checks of
§8 that decide whether a request may get one. Making a delta is the build's
(:mod:`staticmw.build.deltas`).
"""

from __future__ import annotations

import base64
import binascii
import posixpath
import re

from .encodings import DELTA_SUFFIX

DCZ = "dcz"
# §5: a Zstandard skippable frame (magic 0x184D2A5E, little-endian) of 32 bytes, which hold
# the SHA-256 of the dictionary; the zstd stream follows.
DCZ_MAGIC = b"\x5e\x2a\x4d\x18\x20\x00\x00\x00"
DCZ_HEADER_SIZE = len(DCZ_MAGIC) + 32
# Deltas use compress.zstd_parameters: RFC 9659's 8 MiB window holds for them too (RFC 9842
# §5 allows more, up to 1.25 times the dictionary, but a client need not accept more than
# 8 MB for a small one).
# Assets worth keeping old versions of: code and styles, which change a little per deploy.
EXTENSIONS = (".js", ".mjs", ".css", ".wasm")
# How a delta file is named beside its asset: <hashed name>.<16 hex of the dictionary>.dcz
SUFFIX = DELTA_SUFFIX
_DELTA_NAME = re.compile(r"(.+)\.([0-9a-f]{16})\.dcz")
# Characters with a meaning in a URL pattern's pathname (URLPattern), escaped with "\".
_PATTERN_SPECIAL = re.compile(r"([\\*+?(){}:])")
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def wanted(name: str) -> bool:
    """Whether a build keeps earlier versions of this file as dictionaries."""
    return name.lower().endswith(EXTENSIONS)


def delta_name(hashed: str, dictionary_hash: str) -> str:
    """The file a delta of *hashed* against a dictionary (its SHA-256, hex) is stored in."""
    return f"{hashed}.{dictionary_hash[:16]}{SUFFIX}"


def delta_original(name: str) -> str | None:
    """For ``app.3f2a9c1b9d0e.js.0123456789abcdef.dcz`` return ``app.3f2a9c1b9d0e.js``."""
    match = _DELTA_NAME.fullmatch(name)
    return match.group(1) if match else None


def match_pattern(logical: str) -> str:
    """The URL pattern, relative to an asset's URL, that its future hashed names match.

    ``js/app.js`` is served as ``app.<hash>.js``: the pattern is ``app.*.js``, which a
    browser resolves against the asset's own URL, prefix and CDN host included (§2.1.1).
    """
    base = posixpath.basename(logical)
    stem, dot, extension = base.rpartition(".")
    if not dot or not stem:
        stem, extension = base, ""
    escaped = _PATTERN_SPECIAL.sub(r"\\\1", stem)
    tail = "." + _PATTERN_SPECIAL.sub(r"\\\1", extension) if extension else ""
    return f"{escaped}.*{tail}"


def sf_string(value: str) -> str:
    """An RFC 8941 String: quoted, with ``\\`` and ``"`` escaped; printable ASCII only."""
    if any(not (0x20 <= ord(char) <= 0x7E) for char in value):
        raise ValueError(f"not printable ASCII: {value!r}")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_sf_string(value: str) -> str | None:
    """An RFC 8941 String's value (§4.2.5), or ``None`` when *value* is not exactly one,
    such as a ``Dictionary-ID`` or the ``match`` of a ``Use-As-Dictionary``."""
    text = value.strip(" \t")
    if len(text) < 2 or text[0] != '"':
        return None
    found: list[str] = []
    position = 1
    while position < len(text):
        char = text[position]
        if char == "\\":
            if position + 1 >= len(text) or text[position + 1] not in '"\\':
                return None
            found.append(text[position + 1])
            position += 2
        elif char == '"':
            return "".join(found) if position == len(text) - 1 else None
        elif not 0x20 <= ord(char) <= 0x7E:
            return None
        else:
            found.append(char)
            position += 1
    return None


def use_as_dictionary(logical: str) -> str | None:
    """The ``Use-As-Dictionary`` value for an asset; ``None`` when its name cannot be one
    (outside printable ASCII: the URL is percent-encoded, and such a pattern would not match)."""
    try:
        return "match=" + sf_string(match_pattern(logical))
    except ValueError:
        return None


def parse_available_dictionary(value: str | None) -> bytes | None:
    """The SHA-256 an ``Available-Dictionary`` field names (RFC 8941 Byte Sequence, §2.2).

    ``None`` for anything else: absent, not a byte sequence, not 32 bytes, or more than one
    value. Parameters after the item are allowed and ignored.
    """
    if value is None:
        return None
    item = value.strip(" \t")
    if ";" in item:
        item = item.split(";", 1)[0].rstrip(" \t")
    if len(item) < 2 or item[0] != ":" or item[-1] != ":":
        return None
    encoded = item[1:-1]
    if not _BASE64.fullmatch(encoded):
        return None
    # RFC 8941 §4.2.7: padding may be missing; decode what a parser would.
    try:
        digest = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None
    return digest if len(digest) == 32 else None


def frame(dictionary_hash: bytes, stream: bytes) -> bytes:
    """A ``dcz`` body: the 40-byte header naming the dictionary, then the zstd stream."""
    if len(dictionary_hash) != 32:
        raise ValueError("a dcz header holds a 32-byte SHA-256")
    return DCZ_MAGIC + dictionary_hash + stream


def allowed(
    sec_fetch_site: str | None,
    sec_fetch_mode: str | None,
    origin: str | None,
    allow_origin: str | None,
) -> bool:
    """§8.4: whether a request may get a dictionary-compressed answer, by its fetch
    metadata; a cross-origin request must be one the response is readable to anyway."""
    if sec_fetch_site is None or sec_fetch_site.strip() == "same-origin":
        return True
    if sec_fetch_mode is None:
        return True
    mode = sec_fetch_mode.strip()
    if mode in ("navigate", "same-origin"):
        return True
    if mode == "cors":
        if allow_origin is None or origin is None:
            return False
        return allow_origin == "*" or allow_origin == origin.strip()
    return False
