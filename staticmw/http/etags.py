"""Entity tags (RFC 9110 §8.8.3): making them, scanning lists of them, comparing them."""

from __future__ import annotations

import re

# One list member: optional W/, a quoted opaque-tag (etagc = %x21 / %x23-7E /
# obs-text, so commas are legal inside), then the next comma or the end.
_MEMBER = re.compile(r'(W/)?("[\x21\x23-\x7e\x80-\xff]*")[ \t]*(?:,[ \t,]*|\Z)')
_LEADING = re.compile(r"[ \t,]*")


def make_etag(mtime_ns: int, size: int, coding: str | None = None) -> str:
    """A strong tag from the file's stat; each content coding gets its own (§8.8.3.3)."""
    if coding:
        return f'"{mtime_ns:x}-{size:x}-{coding}"'
    return f'"{mtime_ns:x}-{size:x}"'


def make_content_etag(content_hash: str, coding: str | None = None) -> str:
    """A strong tag from a content hash (a manifest's), again one per coding."""
    opaque = content_hash[:32]
    return f'"{opaque}-{coding}"' if coding else f'"{opaque}"'


def is_star(value: str) -> bool:
    """Whether a precondition field is the bare ``*`` form."""
    return value.strip(" \t") == "*"


def scan(value: str) -> list[tuple[bool, str]]:
    """The ``(weak, opaque_tag)`` members of a list, quotes kept, in order.

    Scanning stops at the first malformed member; the members before it count.
    """
    members: list[tuple[bool, str]] = []
    pos = _LEADING.match(value).end()  # type: ignore[union-attr]
    end = len(value)
    while pos < end:
        match = _MEMBER.match(value, pos)
        if match is None:
            break
        members.append((match.group(1) is not None, match.group(2)))
        pos = match.end()
    return members


def strong_match(value: str, etag: str) -> bool:
    """§8.8.3.2 strong comparison of our strong *etag* against a list (If-Match)."""
    return any(not weak and tag == etag for weak, tag in scan(value))


def weak_match(value: str, etag: str) -> bool:
    """§8.8.3.2 weak comparison: opaque tags equal, W/ ignored (If-None-Match)."""
    opaque = etag[2:] if etag.startswith("W/") else etag
    return any(tag == opaque for _, tag in scan(value))
