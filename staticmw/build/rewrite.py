"""Find and rewrite references between assets: ``url()`` and ``@import`` in CSS, relative
module specifiers in JavaScript (static and dynamic imports, re-exports), and
``sourceMappingURL`` in both, so hashed files point at hashed files.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from urllib.parse import quote, unquote, urlsplit

from ..hints.cssrefs import css_spans, group_span
from ..hints.cssrefs import local_target as local_target  # the build's, with the rest of rewriting
from . import jsscan

# As for CSS (staticmw.hints.cssrefs): one way to match at a start, nothing read past the line.
_JS_SOURCEMAP = re.compile(rb"^//[#@][ \t]*sourceMappingURL=(?P<bare>\S+)[ \t]*$", re.M)

# Only a file where ``import`` or ``export`` could be the keyword the lexer reports is lexed.
# The keyword is a word of its own (it cannot be written with escapes), not after one "."
# (a property; "..." is a spread) or "@", and followed by what can follow it there: a space,
# a comment, a quote, "(", "{", "*" or "." (``import.meta``) for import, "{" or "*" for
# export. So jQuery's ``module.exports``, an "@import" in a stylesheet held in a string and
# a require("../internals/export") are not lexed. A byte above 0x7f before the keyword may
# end a Unicode space, so it never rules a file out.
_MODULE_KEYWORD = re.compile(
    rb"(?:(?<![.@A-Za-z0-9$_\\])|(?<=\.\.\.))"
    rb"(?:import(?=[\s/\"'({*.])|export(?=[\s/{*]))"
)

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


def is_source_map(content: bytes, reference: Reference) -> bool:
    """Whether *reference* is a ``sourceMappingURL`` comment's (a map is optional)."""
    key = b"sourceMappingURL="
    return content[max(0, reference.start - len(key)) : reference.start] == key


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
        spans += css_spans(content)
    elif lowered.endswith(REWRITABLE_EXTENSIONS):
        spans += [group_span(m) for m in _JS_SOURCEMAP.finditer(content)]
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
    if not _MODULE_KEYWORD.search(content):
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


def target_of(referrer: str, url: str, prefix: str | None = None) -> str | None:
    """The file of the build *url* in *referrer* names (see ``local_target``); with
    *prefix*, the URL path the build is served at, a root-absolute URL below it too."""
    found = local_target(referrer, url)
    if found is not None or not prefix or not url.startswith(prefix) or url.startswith("//"):
        return found
    path = urlsplit(url).path[len(prefix) :]
    joined = posixpath.normpath(unquote(path)) if path else ""
    if not path or joined == ".." or joined.startswith(("../", "/")) or joined == ".":
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
