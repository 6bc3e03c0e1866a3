"""A file that a running process reads again when it changes, keeping the last good version:
the one rule for every manifest and import map that staticmw follows while it runs."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from time import monotonic
from typing import Generic, TypeVar

T = TypeVar("T")

# What tells one version of a file from the next: inode, size and mtime.
Fingerprint = tuple[int, int, int]


def fingerprint(path: str) -> Fingerprint | None:
    """The file's fingerprint now, ``None`` when it is not there."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class Watched(Generic[T]):
    """*path* as *read* makes it, read again when its fingerprint changes (looked at, on use,
    at most once per *interval* seconds).

    A version that *read* refuses with one of *errors* (one caught half written, say) is
    never used: the last good one stays, and the refusal is logged once for that version.
    A version over *background_over* bytes is read on a thread of its own, the last good one
    answering until it is (an event loop never waits for it). When the file is gone,
    :meth:`current` keeps the last good version if *keep_when_gone*, else gives ``None``;
    it is ``None`` too until a first version has been read well. *what* names the file in
    the log ("manifest", "import map").
    """

    def __init__(
        self,
        path: str,
        read: Callable[[str], T],
        errors: tuple[type[Exception], ...],
        interval: float = 0.0,
        what: str = "file",
        keep_when_gone: bool = False,
        background_over: int | None = None,
        log: logging.Logger | None = None,
    ):
        self.path = path
        self.interval = interval
        self._read = read
        self._errors = errors
        self._what = what
        self._keep = keep_when_gone
        self._background = background_over
        self._log = log or logging.getLogger("staticmw")
        self._lock = threading.Lock()
        self._value: T | None = None
        self._seen: Fingerprint | None = None
        self._refused: Fingerprint | None = None
        self._checked = float("-inf")
        # The thread reading a large new version, while it runs.
        self.loading: threading.Thread | None = None

    def first(self) -> T:
        """Read the file now, raising what *read* raises: a bad file at start-up is an error,
        not a version to skip."""
        with self._lock:
            seen = fingerprint(self.path)
            value = self._read(self.path)
            self._value, self._seen, self._checked = value, seen, monotonic()
            return value

    def adopt(self, value: T) -> None:
        """Take *value* as the version the file holds now (one this process just wrote)."""
        with self._lock:
            self._value, self._seen, self._refused = value, fingerprint(self.path), None
            self._checked = monotonic()

    def current(self) -> T | None:
        if monotonic() - self._checked < self.interval:
            return self._value
        with self._lock:
            self._checked = monotonic()
            if self.loading is not None:
                return self._value
            seen = fingerprint(self.path)
            if seen is None:
                if not self._keep:
                    self._value = self._seen = None
                return self._value
            if seen in (self._seen, self._refused):
                return self._value
            if self._background is not None and seen[1] > self._background:
                self.loading = threading.Thread(target=self._in_background, args=(seen,))
                self.loading.daemon = True
                self.loading.start()
                return self._value
            self._take(seen, self._attempt())
            return self._value

    def _attempt(self) -> T | Exception:
        try:
            return self._read(self.path)
        except self._errors as exc:
            return exc

    def _in_background(self, seen: Fingerprint) -> None:
        found = self._attempt()
        with self._lock:
            self._take(seen, found)
            self.loading = None

    def _take(self, seen: Fingerprint, found: T | Exception) -> None:
        """Use a version read well; remember one that was not, logged once. Under the lock."""
        if isinstance(found, Exception):
            self._refused = seen
            if self._value is not None:
                self._log.error("staticmw: %s; still using the %s read before", found, self._what)
            else:
                self._log.error("staticmw: %s; no %s used yet", found, self._what)
            return
        self._value, self._seen, self._refused = found, seen, None
        self._log.info("staticmw: %s %s read again", self._what, self.path)
