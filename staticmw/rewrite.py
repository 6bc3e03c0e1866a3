"""Find and rewrite references between assets: ``url()`` and ``@import`` in CSS, relative
module specifiers in JavaScript (static and dynamic imports, re-exports), and
``sourceMappingURL`` in both, so hashed files point at hashed files.
"""

from __future__ import annotations

import bisect
import posixpath
import re
from collections.abc import Callable
from urllib.parse import quote, unquote, urlsplit

from . import jsscan

# Each pattern can match in only one way at a given start, and each match attempt reads
# no further than the next quote, parenthesis or line, so a crafted or broken file (an
# unclosed comment or ``url(``, a megabyte of spaces) costs what its length does.
_CSS_URL = re.compile(
    rb"""url\(\s*(?:"(?P<dq>[^"\n]*)"\s*|'(?P<sq>[^'\n]*)'\s*|(?P<bare>[^'"\s()]+)\s*|)\)""",
    re.I,
)
_CSS_IMPORT = re.compile(rb"""@import\s+(?:"(?P<dq>[^"\n]*)"|'(?P<sq>[^'\n]*)')""", re.I)
_CSS_SOURCEMAP = re.compile(rb"/\*[#@][ \t]*sourceMappingURL=(?P<bare>[^\s*]+)[ \t]*\*/")
_JS_SOURCEMAP = re.compile(rb"^//[#@][ \t]*sourceMappingURL=(?P<bare>\S+)[ \t]*$", re.M)

REWRITABLE_EXTENSIONS = (".css", ".js", ".mjs", ".cjs")


class Reference:
    """One reference in a file: where its URL text sits, the URL, and its line."""

    __slots__ = ("end", "line", "start", "url")

    def __init__(self, start: int, end: int, url: str, line: int):
        self.start = start
        self.end = end
        self.url = url
        self.line = line

    def __repr__(self) -> str:
        return f"Reference({self.url!r}, line {self.line})"


def is_rewritable(name: str) -> bool:
    """Whether references in this file are looked for (CSS and JavaScript)."""
    return name.lower().endswith(REWRITABLE_EXTENSIONS)


def _group(match: re.Match[bytes]) -> tuple[int, int]:
    for group in ("dq", "sq", "bare"):
        if group in match.re.groupindex and match.group(group) is not None:
            return match.span(group)
    return match.end(), match.end()  # "url()": an empty URL, skipped below


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


def line_numbers(content: bytes, offsets: list[int]) -> list[int]:
    """The 1-based line of each of *offsets* (in increasing order), counted in one pass."""
    lines, line, position = [], 1, 0
    for offset in offsets:
        line += content.count(b"\n", position, offset)
        position = offset
        lines.append(line)
    return lines


def find_references(
    name: str, content: bytes, specifiers: list[jsscan.Specifier] | None = None
) -> list[Reference]:
    """References in a CSS or JavaScript file, in order; none in other files.

    In CSS, ``url()`` and ``@import`` inside comments are ignored, while a
    ``/*# sourceMappingURL=... */`` comment is a reference. A JavaScript file's
    *specifiers* are those :func:`module_specifiers` found, when already known.
    """
    lowered = name.lower()
    spans: list[tuple[int, int]] = []
    if lowered.endswith(".css"):
        comments = css_comments(content)
        starts = [start for start, _ in comments]

        def in_comment(position: int) -> bool:
            index = bisect.bisect_right(starts, position) - 1
            return index >= 0 and position < comments[index][1]

        for pattern in (_CSS_URL, _CSS_IMPORT):
            for match in pattern.finditer(content):
                if not in_comment(match.start()):
                    spans.append(_group(match))
        spans += [_group(m) for m in _CSS_SOURCEMAP.finditer(content)]
    elif lowered.endswith(REWRITABLE_EXTENSIONS):
        spans += [_group(m) for m in _JS_SOURCEMAP.finditer(content)]
        if specifiers is None:
            specifiers = module_specifiers(content)
        spans += _relative_spans(content, specifiers)
    ordered = sorted(set(spans))
    lines = line_numbers(content, [start for start, _ in ordered])
    references = []
    for (start, end), line in zip(ordered, lines, strict=True):
        url = content[start:end].decode("utf-8", "replace").strip()
        if url:
            references.append(Reference(start, end, url, line))
    return references


def module_specifiers(content: bytes) -> list[jsscan.Specifier]:
    """Every module specifier of a JavaScript file (offsets in characters)."""
    if b"import" not in content and b"export" not in content:
        return []
    return jsscan.scan(content.decode("utf-8", "surrogateescape"))


def is_bare(specifier: str) -> bool:
    """A bare module name (``"chart"``, ``"lit/html.js"``): resolved only by an import map."""
    if specifier.startswith(("./", "../", "/")) or not specifier:
        return False
    try:
        return not urlsplit(specifier).scheme
    except ValueError:
        return True


def _relative_spans(content: bytes, specifiers: list[jsscan.Specifier]) -> list[tuple[int, int]]:
    """Byte spans of relative module specifiers (``./x.js``, ``../y.js``), quotes excluded.

    Bare names (``"chart"``, for an import map), absolute URLs and ``data:`` URLs
    are not files of the build and are left alone.
    """
    relative = [s for s in specifiers if s.value.startswith(("./", "../"))]
    if not relative:
        return []
    text = content.decode("utf-8", "surrogateescape")
    spans = []
    # Character offsets to byte offsets, encoding each stretch of text once (in order).
    position = offset = 0
    for specifier in relative:
        start = specifier.start + 1  # after the opening quote
        offset += len(text[position:start].encode("utf-8", "surrogateescape"))
        position = start
        spans.append((offset, offset + len(specifier.value.encode("utf-8", "surrogateescape"))))
    return spans


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


def replace_path(url: str, hashed_basename: str) -> str:
    """*url* with its last path segment swapped for *hashed_basename*.

    Whatever follows the path (``?v=1``, ``#frag``, even the bare ``?#iefix``
    of old font hacks) is kept exactly.
    """
    cut = min((i for i in (url.find("?"), url.find("#")) if i >= 0), default=len(url))
    path, rest = url[:cut], url[cut:]
    head, slash, last = path.rpartition("/")
    new_last = hashed_basename if unquote(last) == last else quote(hashed_basename)
    return head + slash + new_last + rest


def rewrite(
    content: bytes, references: list[Reference], replacement: Callable[[Reference], str | None]
) -> bytes:
    """*content* with each reference's URL replaced by ``replacement(ref)``, unless ``None``."""
    pieces = []
    position = 0
    for ref in references:
        new = replacement(ref)
        if new is None:
            continue
        pieces.append(content[position : ref.start])
        pieces.append(new.encode("utf-8"))
        position = ref.end
    pieces.append(content[position:])
    return b"".join(pieces)
