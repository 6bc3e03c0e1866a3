"""Turn a request path into an open file inside the allowed roots, or refuse it.

Two stages. :func:`split_request_path` is pure: it rejects every request-derived
trick (dot segments, separators, Windows names, control characters, ...) before any
file-system call. :class:`Resolver` then opens the file, and the decision that it
may be served is made about the descriptor it opened, never about a name that was
checked earlier and opened again later: the tree may change between any two calls.

How a file is opened, for every open (originals, precompressed variants, index
files, the bytes kept in memory, large files reopened on each request, autorefresh):

1. On Linux with ``openat2`` (5.6+), one call opens ``root/a/b/c`` with
   ``RESOLVE_NO_SYMLINKS``: the kernel refuses the whole path if any component is
   a link at the moment it is looked up, so the descriptor is the file that those
   checked names spell out, inside the root.
2. When that call meets a link (``ELOOP``), or where there is no ``openat2``
   (macOS, the BSDs, older kernels, sandboxes that forbid it), the path is walked
   one component at a time: each directory is opened with ``O_NOFOLLOW`` relative
   to its parent's descriptor, and the file last, also with ``O_NOFOLLOW``. A link
   met on the way is read with ``readlink`` and its target walked the same way
   (at most 40 links), so a link is followed only while it stays within an allowed
   root; a target outside every root ends the walk. Swapping a directory for a
   link during the walk cannot redirect it, since each step opens a name inside
   a directory descriptor that is already proven, and never follows a link.

``follow_symlinks=True`` hands the path to the kernel and follows links anywhere,
as configured. ``serve_hidden=False`` applies to the names of the final real path.
A root listed in ``single_link_roots`` refuses a regular file with more than one hard
link, judged on the ``fstat`` of the descriptor opened: a hard link is a second name of
a file that may live anywhere on the same file system, and no walk can see where.
Trusted: the roots' own paths, which the operator configures (they are opened by
name), and device nodes, which only an administrator can create in a tree.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import stat
import unicodedata
from collections.abc import Sequence

from ..http.dictionaries import delta_original
from ..http.encodings import ALL_SIDECAR_SUFFIXES
from .openat2 import Opener, no_symlinks_opener

log = logging.getLogger("staticmw")

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
    relative: str, serve_hidden: bool = False, why: list[str] | None = None
) -> tuple[tuple[str, ...], bool] | None:
    """Split the decoded path below a prefix into checked segments.

    Returns ``(segments, trailing_slash)`` or ``None`` when the path must not be
    looked up, and then says why in *why* when given. The empty path (the prefix
    itself) gives ``((), True)``.
    """
    if len(relative) > MAX_PATH_CHARS:
        if why is not None:
            why.append(f"longer than {MAX_PATH_CHARS} characters")
        return None
    trailing = relative == "" or relative.endswith("/")
    body = relative[:-1] if relative.endswith("/") else relative
    if not body:
        # The prefix itself; "//" after a prefix is an empty segment.
        if relative == "":
            return (), True
        if why is not None:
            why.append("an empty segment")
        return None
    segments = body.split("/")
    if len(segments) > MAX_SEGMENTS:
        if why is not None:
            why.append(f"more than {MAX_SEGMENTS} segments")
        return None
    for segment in segments:
        if not segment_is_safe(segment, serve_hidden):
            if why is not None:
                why.append(f"segment {segment!r} is refused by the path rules")
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


def _hidden(names: Sequence[str]) -> bool:
    return any(name.startswith(".") for name in names)


# A name that starts with a dot, within a joined path; and the names that are not names.
_HIDDEN_PART = os.sep + "."
_DOT_NAMES = frozenset({".", ".."})
# Whether os.open takes dir_fd here: everywhere but Windows.
_HAS_DIR_FD = os.open in os.supports_dir_fd


# The file finally opened: never through a link (the walk resolves links
# itself), never blocking on a FIFO, never inherited by a child process.
OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
# follow_symlinks=True: links are followed anywhere, by the kernel.
_FOLLOW_FLAGS = OPEN_FLAGS & ~getattr(os, "O_NOFOLLOW", 0)
# A directory on the way: a real directory, never a link. O_PATH (Linux) needs
# only search permission and reads nothing.
_DIR_FLAGS = (
    (getattr(os, "O_PATH", 0) or os.O_RDONLY)
    | getattr(os, "O_DIRECTORY", 0)
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
)
_ROOT_FLAGS = _DIR_FLAGS & ~getattr(os, "O_NOFOLLOW", 0)

# As many links as Linux follows in one path before it gives up with ELOOP.
MAX_LINK_HOPS = 40

# What a refused O_NOFOLLOW open of a link reports: ELOOP (Linux, macOS),
# EMLINK (FreeBSD), ENOTDIR (with O_DIRECTORY on Linux).
_MAYBE_LINK = frozenset({errno.ELOOP, errno.EMLINK, errno.ENOTDIR})

# Errors that say something about the server, not about the path: they reach the
# caller, which logs them (and answers 503 for exhaustion) instead of a 404.
_SERIOUS = frozenset(
    {errno.EACCES, errno.EPERM, errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS}
    | {errno.EIO, errno.EAGAIN}
)


def _check(exc: OSError) -> None:
    """Re-raise *exc* when it is about the server; otherwise the path is simply not served."""
    if exc.errno in _SERIOUS:
        raise exc


_OPENAT2: Opener | None = no_symlinks_opener(OPEN_FLAGS)
FAST_OPEN_AVAILABLE = _OPENAT2 is not None
# STATICMW_RESOLVER=walk forces the portable walk, as on systems without openat2.
_fast_open = None if os.environ.get("STATICMW_RESOLVER") == "walk" else _OPENAT2


def use_fast_open(enabled: bool) -> bool:
    """Turn the openat2 fast path on or off (off forces the walk); returns the old state."""
    global _fast_open
    old = _fast_open is not None
    _fast_open = _OPENAT2 if enabled else None
    return old


class Opened:
    """A descriptor proven to lie inside the roots, its real path and its ``fstat``."""

    __slots__ = ("fd", "is_dir", "path", "stat")

    def __init__(self, fd: int, path: str, st: os.stat_result):
        self.fd = fd
        self.path = path
        self.stat = st
        self.is_dir = stat.S_ISDIR(st.st_mode)

    def close(self) -> None:
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            os.close(fd)


class Resolver:
    """Opens request paths below the allowed roots; see the module docstring for the rule."""

    __slots__ = ("follow_symlinks", "roots", "serve_hidden", "single_link_roots")

    def __init__(
        self,
        roots: Sequence[str],
        follow_symlinks: bool = False,
        serve_hidden: bool = False,
        single_link_roots: Sequence[str] = (),
    ):
        # Real paths, read on every call: roots added later count at once.
        self.roots = roots
        self.follow_symlinks = follow_symlinks
        self.serve_hidden = serve_hidden
        self.single_link_roots = single_link_roots

    def open(self, root: str, parts: Sequence[str]) -> Opened | None:
        """Open ``root/parts`` if it is a regular file or a directory that may be served.

        ``None`` when it is missing, leaves the roots, is hidden, or is anything
        else (FIFO, socket, device). Errors about the server itself raise.
        """
        found = self.open_fd(root, parts)
        if found is None:
            return None
        fd, path = found
        try:
            st = os.fstat(fd)
        except BaseException:
            os.close(fd)
            raise
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)) or not self.links_ok(
            path, fd, st
        ):
            os.close(fd)
            return None
        return Opened(fd, path, st)

    def links_ok(self, path: str, fd: int, st: os.stat_result) -> bool:
        """The hard-link rule for the file *fd* opened as *path*, whose ``fstat`` is *st*.

        In a root that refuses hard links, a regular file is served only when its one
        and only name is *path*. The count alone would not do: a second name may be
        removed between the open and the ``fstat``, and a rename over *path* lowers the
        old file's count before the name stops leading to it. So, after the count, the
        directory is read (which waits for any rename in it to finish), the name is
        looked at through it, and the file's change time must not have moved meanwhile:
        adding or removing a name changes it.
        """
        if not self.single_link_roots or not stat.S_ISREG(st.st_mode):
            return True
        if containing_root(path, self.single_link_roots) is None:
            return True
        if st.st_nlink > 1:
            log.warning(
                "staticmw: %s has %d hard links; not served from a root that refuses them",
                path,
                st.st_nlink,
            )
            return False
        named = self._stat_name(path)
        if named is None or (named.st_dev, named.st_ino, named.st_nlink) != (
            st.st_dev,
            st.st_ino,
            1,
        ):
            return False
        after = os.fstat(fd)
        return after.st_nlink == 1 and after.st_ctime_ns == st.st_ctime_ns

    def _stat_name(self, path: str) -> os.stat_result | None:
        """``lstat`` of *path*, through its directory opened as a request path would be,
        once any rename under way in that directory has finished."""
        directory, name = os.path.split(path)
        try:
            if self.follow_symlinks or not _HAS_DIR_FD:
                _wait_for_renames(directory)
                return os.stat(path, follow_symlinks=False)
            root = containing_root(directory, self.roots)
            found = None if root is None else self._open_below(root, directory)
            if found is None:
                return None
            try:
                _wait_for_renames(found[0])
                return os.stat(name, dir_fd=found[0], follow_symlinks=False)
            finally:
                os.close(found[0])
        except OSError:
            return None

    def exists(self, root: str, parts: Sequence[str], directory: bool | None = None) -> bool:
        """Whether :meth:`open` would succeed (and give a directory or not, if asked)."""
        opened = self.open(root, parts)
        if opened is None:
            return False
        opened.close()
        return directory is None or opened.is_dir == directory

    def reopen(self, path: str) -> int | None:
        """A new descriptor for a *path* that :meth:`open` returned earlier, checked again."""
        if self.follow_symlinks:
            fd = _open_following(path)
        else:
            root = containing_root(path, self.roots)
            found = None if root is None else self._open_below(root, path)
            fd = None if found is None else found[0]
        if fd is not None and self.single_link_roots:
            try:
                ok = self.links_ok(path, fd, os.fstat(fd))
            except BaseException:
                os.close(fd)
                raise
            if not ok:
                os.close(fd)
                return None
        return fd

    def open_fd(self, root: str, parts: Sequence[str]) -> tuple[int, str] | None:
        """The descriptor and real path for ``root/parts``, of whatever type, or ``None``."""
        path = os.path.join(root, *parts)
        if "\x00" in path:
            return None  # no file has such a name; os calls would raise ValueError
        if self.follow_symlinks:
            fd = _open_following(path)
            return None if fd is None else (fd, path)
        if not self.serve_hidden and _HIDDEN_PART in path[len(root.rstrip(os.sep)) :]:
            return None
        # A cheap negative answer first: a name that resolves to nothing now is a
        # miss whatever the rule (only "no" is taken from it; "yes" proves nothing).
        try:
            os.stat(path)
        except OSError as exc:
            _check(exc)
            return None
        return self._open_below(root, path)

    def _open_below(self, root: str, path: str) -> tuple[int, str] | None:
        """Open *path*, lexically inside *root*, with no link on the way or by the walk."""
        relative = path[len(root.rstrip(os.sep)) :]
        if _HIDDEN_PART in relative and _DOT_NAMES.intersection(relative.split(os.sep)):
            return None  # "." or ".." would make the lexical containment a lie
        if not _HAS_DIR_FD:
            return _open_checked_by_name(path, self.roots, self.serve_hidden)
        fast = _fast_open
        if fast is not None:
            fd = fast(path.encode("utf-8", "surrogateescape"))
            if fd >= 0:
                return fd, path
            if fd != -errno.ELOOP:
                if -fd in _SERIOUS:
                    raise OSError(-fd, os.strerror(-fd), path)
                return None
            # A link on the way: the walk decides where it may lead.
        return _Walk(self.roots, self.serve_hidden).run(root, relative.split(os.sep))


def _wait_for_renames(directory: int | str) -> None:
    """Read one entry of *directory* (a descriptor or a path): reading takes the lock that
    a rename in it holds to the end, so a rename under way has finished when this returns."""
    with os.scandir(directory) as entries:
        next(entries, None)


def _open_checked_by_name(
    path: str, roots: Sequence[str], hidden_ok: bool
) -> tuple[int, str] | None:
    """Where ``open`` takes no directory descriptor (Windows): resolve, check, then open.

    This is the one place where a name is checked before it is opened, so a tree
    that changes meanwhile is not covered there; every POSIX system has the walk.
    """
    try:
        real = os.path.realpath(path, strict=True)
    except (OSError, ValueError):
        return None
    root = containing_root(real, roots)
    if root is None or (not hidden_ok and _HIDDEN_PART in real[len(root.rstrip(os.sep)) :]):
        return None
    try:
        return os.open(real, OPEN_FLAGS), real
    except OSError as exc:
        _check(exc)
        return None


def _open_following(path: str) -> int | None:
    try:
        return os.open(path, _FOLLOW_FLAGS)
    except OSError as exc:
        _check(exc)
        return None


class _Refused(Exception):
    """The walk met something that may not be served (or followed)."""


class _Walk:
    """One component at a time from a root's descriptor; links resolved by hand.

    ``names`` and ``fds`` are the real directories below ``root`` (each opened
    with O_NOFOLLOW from its parent's descriptor). Outside every root, after an
    absolute link or a ``..`` above one, the walk keeps only a lexical position
    and must come back into a root by name, or it fails.
    """

    __slots__ = ("fds", "hidden_ok", "hops", "names", "outside", "root", "root_fd", "roots")

    def __init__(self, roots: Sequence[str], hidden_ok: bool):
        self.roots = roots
        self.hidden_ok = hidden_ok
        self.root: str | None = None
        self.root_fd = -1
        self.names: list[str] = []
        self.fds: list[int] = []
        self.outside: list[str] = []
        self.hops = 0

    def run(self, root: str, parts: Sequence[str]) -> tuple[int, str] | None:
        pending = [part for part in reversed(parts) if part not in ("", ".")]
        try:
            self._enter(root)
            while pending:
                name = pending.pop()
                if name == "..":
                    self._up(pending)
                elif self.root is None:
                    self._outside_step(name, pending)
                else:
                    done = self._step(name, pending)
                    if done is not None:
                        return done
            # No name left: the path ended on a directory (the root itself, or
            # a ".." from a link's target).
            path = self._real_path(self.names)
            return os.open(".", OPEN_FLAGS, dir_fd=self.fds[-1] if self.fds else self.root_fd), path
        except _Refused:
            return None
        except OSError as exc:
            _check(exc)
            return None
        finally:
            self._close_all()

    def _step(self, name: str, pending: list[str]) -> tuple[int, str] | None:
        """Open one component below the current directory; the result when it was the last."""
        here = self.fds[-1] if self.fds else self.root_fd
        last = not pending
        try:
            fd = os.open(name, OPEN_FLAGS if last else _DIR_FLAGS, dir_fd=here)
        except OSError as exc:
            if exc.errno not in _MAYBE_LINK:
                raise
            # Not a directory, or a link: only a link is read and followed.
            self._follow(os.readlink(name, dir_fd=here), pending)
            return None
        if not last:
            self.names.append(name)
            self.fds.append(fd)
            return None
        try:
            return fd, self._real_path([*self.names, name])
        except _Refused:
            os.close(fd)
            raise

    def _real_path(self, names: list[str]) -> str:
        """The path of what the walk opened, once it is known to be allowed."""
        if self.root is None or (not self.hidden_ok and _hidden(names)):
            raise _Refused
        return os.path.join(self.root, *names)

    def _follow(self, target: str, pending: list[str]) -> None:
        """Continue with a link's target; an absolute one starts from outside every root."""
        self.hops += 1
        if self.hops > MAX_LINK_HOPS or not target:
            raise _Refused
        parts = [part for part in target.split("/") if part not in ("", ".")]
        if target.startswith("/"):
            self._leave([])
        pending.extend(reversed(parts))
        if self.root is None:
            self._settle(pending)

    def _up(self, pending: list[str]) -> None:
        if self.fds:
            os.close(self.fds.pop())
            self.names.pop()
        elif self.root is not None:
            self._leave(self.root.split(os.sep)[1:-1])
            self._settle(pending)
        elif self.outside:
            self.outside.pop()
            self._settle(pending)

    def _outside_step(self, name: str, pending: list[str]) -> None:
        """Outside every root: step lexically, and only towards a root."""
        self.outside.append(name)
        if self._settle(pending):
            return
        here = "/" + "/".join(self.outside)
        if not any(root.startswith(here + "/") for root in self.roots):
            raise _Refused

    def _settle(self, pending: list[str]) -> bool:
        """Re-enter the root that holds the lexical position, if one does."""
        here = "/" + "/".join(self.outside)
        for root in self.roots:
            if is_within(here, root):
                rest = here[len(root) :].strip("/")
                self._enter(root)
                if rest:
                    pending.extend(reversed(rest.split("/")))
                return True
        return False

    def _enter(self, root: str) -> None:
        self._close_all()
        # A root is configuration: its own path, set by the operator, is trusted.
        self.root_fd = os.open(root, _ROOT_FLAGS)
        self.root = root

    def _leave(self, position: list[str]) -> None:
        self._close_all()
        self.root = None
        self.outside = position

    def _close_all(self) -> None:
        for fd in self.fds:
            os.close(fd)
        self.fds.clear()
        self.names.clear()
        if self.root_fd >= 0:
            fd, self.root_fd = self.root_fd, -1
            os.close(fd)


def sidecar_original(name: str) -> str | None:
    """For ``app.css.gz`` return ``app.css`` (and for a delta, ``app.3f2a9c1b9d0e.css`` from
    ``app.3f2a9c1b9d0e.css.0123456789abcdef.dcz``); ``None`` when *name* is no sidecar."""
    delta = delta_original(name)
    if delta is not None:
        return delta
    lowered = name.lower()
    for suffix in ALL_SIDECAR_SUFFIXES:
        if lowered.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return None
