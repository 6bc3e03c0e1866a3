"""References in a stylesheet: ``url()`` and ``@import`` outside comments, and its
``sourceMappingURL``; and the file a relative reference names. Read by the build, which
rewrites them, and by early hints, which follow a stylesheet to its fonts.
"""

from __future__ import annotations

import bisect
import posixpath
import re
from urllib.parse import unquote, urlsplit

# Each pattern can match in only one way at a given start, and each match attempt reads
# no further than the next quote, parenthesis or line, so a crafted or broken file (an
# unclosed comment or ``url(``, a megabyte of spaces) costs what its length does.
_CSS_URL = re.compile(
    rb"""url\(\s*(?:"(?P<dq>[^"\n]*)"\s*|'(?P<sq>[^'\n]*)'\s*|(?P<bare>[^'"\s()]+)\s*|)\)""",
    re.I,
)
_CSS_IMPORT = re.compile(rb"""@import\s+(?:"(?P<dq>[^"\n]*)"|'(?P<sq>[^'\n]*)')""", re.I)
_CSS_SOURCEMAP = re.compile(rb"/\*[#@][ \t]*sourceMappingURL=(?P<bare>[^\s*]+)[ \t]*\*/")


def group_span(match: re.Match[bytes]) -> tuple[int, int]:
    """Where a reference pattern's URL text sits (one past the end for ``url()``)."""
    for group in ("dq", "sq", "bare"):
        if group in match.re.groupindex and match.group(group) is not None:
            return match.span(group)
    return match.end(), match.end()  # "url()": an empty URL, skipped by the callers


def css_comments(content: bytes) -> list[tuple[int, int]]:
    """The spans of CSS comments, in order; one never closed runs to the end."""
    spans = []
    position = content.find(b"/*")
    while position >= 0:
        end = content.find(b"*/", position + 2)
        if end < 0:
            spans.append((position, len(content)))
            break
        spans.append((position, end + 2))
        position = content.find(b"/*", end + 2)
    return spans


def css_spans(content: bytes) -> list[tuple[int, int]]:
    """Where each reference's URL text sits in a stylesheet: ``url()`` and ``@import``
    outside comments, then a ``/*# sourceMappingURL=... */`` comment."""
    comments = css_comments(content)
    starts = [start for start, _ in comments]

    def in_comment(position: int) -> bool:
        index = bisect.bisect_right(starts, position) - 1
        return index >= 0 and position < comments[index][1]

    spans = []
    for pattern in (_CSS_URL, _CSS_IMPORT):
        for match in pattern.finditer(content):
            if not in_comment(match.start()):
                spans.append(group_span(match))
    spans += [group_span(m) for m in _CSS_SOURCEMAP.finditer(content)]
    return spans


def css_urls(content: bytes) -> list[str]:
    """The URLs a stylesheet references, in the order they stand in it."""
    found = []
    for start, end in sorted(set(css_spans(content))):
        url = content[start:end].decode("utf-8", "replace").strip()
        if url:
            found.append(url)
    return found


# The files a stylesheet names that early hints preload as fonts, and the build records.
FONT_EXTENSIONS = (".woff2", ".woff", ".ttf", ".otf")


def is_font(name: str) -> bool:
    """Whether *name* is a font file by its extension."""
    return name.lower().endswith(FONT_EXTENSIONS)


def local_target(referrer: str, url: str) -> str | None:
    """The root-relative file a relative URL in *referrer* names, or ``None`` to leave it.

    ``data:``, absolute URLs (scheme or ``//host``), root-absolute paths and
    fragment- or query-only references are left alone. A path that climbs out
    of the root gives ``""`` (a broken reference).
    """
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. "//host[" (a malformed IPv6 literal): not ours to resolve
        return None
    if parts.scheme or parts.netloc or not parts.path or parts.path.startswith("/"):
        return None
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(referrer), unquote(parts.path)))
    if joined == ".." or joined.startswith("../") or joined == ".":
        return ""
    return joined
