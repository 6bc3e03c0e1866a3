"""Turn a request path into a file inside the allowed roots, or refuse it.

Two stages. :func:`split_request_path` is pure: it rejects every request-derived
trick (dot segments, separators, Windows names, control characters, ...) before any
file-system call. :func:`locate` then touches the file system and proves that the
resolved file lies inside an allowed root, comparing whole path segments.
"""

from __future__ import annotations

import os
import re
import stat
import unicodedata
from collections.abc import Sequence

# Bounds that keep every rejection cheap; no real asset needs more.
MAX_PATH_CHARS = 4096
MAX_SEGMENT_CHARS = 255
MAX_SEGMENTS = 64

# Characters that are separators, stream markers or otherwise unsafe on some OS:
# C0/C1 controls, DEL, backslash, colon (drive letters, NTFS streams) and the rest
# of the characters Windows refuses in names.
_FORBIDDEN = re.compile(r'[\x00-\x1f\x7f-\x9f\\:<>"|?*]')

# Windows device names, reserved with any extension, in any case, and with
# trailing spaces; the superscript digits count as digits there.
_DEVICES = frozenset(
    {"con", "prn", "aux", "nul", "conin$", "conout$", "clock$"}
    | {f"{kind}{digit}" for kind in ("com", "lpt") for digit in "0123456789\u00b9\u00b2\u00b3"}
)

# 8.3 short names such as ``PROGRA~1`` can alias a hidden or longer name on Windows.
_SHORT_NAME = re.compile(r"~[0-9]")

# Precompressed sidecar suffixes, by content coding.
SIDECAR_SUFFIXES: dict[str, tuple[str, ...]] = {
    "br": (".br",),
    "zstd": (".zst", ".zstd"),
    "gzip": (".gz",),
}
# Every suffix a precompressed sibling can have; shared by the build step and check.
ALL_SIDECAR_SUFFIXES = tuple(s for group in SIDECAR_SUFFIXES.values() for s in group)


def decode_path(raw: str) -> str | None:
    """Decode a WSGI path (latin-1 code points standing for bytes) as strict UTF-8, once."""
    try:
        return raw.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return None


def _segment_form_ok(segment: str) -> bool:
    """Checks on one segment that hold on every OS, whatever the file system."""
    if not segment or segment in (".", ".."):
        return False
    if segment[-1] in ". ":
        return False
    if _FORBIDDEN.search(segment):
        return False
    stem = segment.split(".", 1)[0].rstrip(" ").lower()
    return stem not in _DEVICES


def segment_is_safe(segment: str, serve_hidden: bool = False) -> bool:
    """Whether one decoded path segment may be looked up at all."""
    if len(segment) > MAX_SEGMENT_CHARS or not _segment_form_ok(segment):
        return False
    if not serve_hidden and segment.startswith("."):
        return False
    if os.name == "nt" and _SHORT_NAME.search(segment):
        return False
    if not segment.isascii():
        # Compatibility forms (fullwidth dots, solidus look-alikes) can turn into
        # separators or dots once some layer normalises them: refuse those too.
        folded = unicodedata.normalize("NFKC", segment)
        if folded != segment:
            if "/" in folded or not _segment_form_ok(folded):
                return False
            if not serve_hidden and folded.startswith("."):
                return False
    return True


def split_request_path(
    relative: str, serve_hidden: bool = False
) -> tuple[tuple[str, ...], bool] | None:
    """Split the decoded path below a prefix into checked segments.

    Returns ``(segments, trailing_slash)`` or ``None`` when the path must not be
    looked up. The empty path (the prefix itself) gives ``((), True)``.
    """
    if len(relative) > MAX_PATH_CHARS:
        return None
    trailing = relative == "" or relative.endswith("/")
    body = relative[:-1] if relative.endswith("/") else relative
    if not body:
        # The prefix itself; "//" after a prefix is an empty segment.
        return ((), True) if relative == "" else None
    segments = body.split("/")
    if len(segments) > MAX_SEGMENTS:
        return None
    for segment in segments:
        if not segment_is_safe(segment, serve_hidden):
            return None
    return tuple(segments), trailing


def is_within(path: str, directory: str) -> bool:
    """Segment-aware containment: ``/srv/static2`` is not inside ``/srv/static``."""
    if path == directory:
        return True
    base = directory if directory.endswith(os.sep) else directory + os.sep
    return path.startswith(base)


def containing_root(path: str, roots: Sequence[str]) -> str | None:
    """The first allowed root that contains *path*, or ``None``."""
    for root in roots:
        if is_within(path, root):
            return root
    return None


def _has_hidden_part(path: str, root: str) -> bool:
    relative = path[len(root) :].lstrip(os.sep)
    return any(part.startswith(".") for part in relative.split(os.sep) if part)


class Found:
    """A located file system entry: the real path to open and its ``stat`` result."""

    __slots__ = ("is_dir", "path", "stat")

    def __init__(self, path: str, st: os.stat_result):
        self.path = path
        self.stat = st
        self.is_dir = stat.S_ISDIR(st.st_mode)


def locate(
    candidate: str,
    allowed_roots: Sequence[str],
    follow_symlinks: bool = False,
    serve_hidden: bool = False,
) -> Found | None:
    """Stat *candidate* and prove it may be served; ``None`` when it may not.

    *candidate* must be a root joined with segments that passed
    :func:`split_request_path`, so it is lexically inside that root. Symlinks are
    resolved and the target must lie in one of *allowed_roots* (realpaths) unless
    *follow_symlinks*; with ``serve_hidden`` off, a link may not lead to a dotfile
    either. Only regular files and directories are ever returned.
    """
    try:
        st = os.stat(candidate)
    except (OSError, ValueError):
        return None
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        return None
    try:
        # The real path is what gets opened later, with O_NOFOLLOW.
        real = os.path.realpath(candidate, strict=True)
    except (OSError, ValueError):
        return None
    if follow_symlinks:
        return Found(real, st)
    root = containing_root(real, allowed_roots)
    if root is None:
        return None
    if not serve_hidden and _has_hidden_part(real, root):
        return None
    return Found(real, st)


def sidecar_original(name: str) -> str | None:
    """For ``app.css.gz`` return ``app.css``; ``None`` when *name* is no sidecar."""
    lowered = name.lower()
    for suffix in ALL_SIDECAR_SUFFIXES:
        if lowered.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return None
