"""A file that a running process reads again when it changes, keeping the last good version."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from time import monotonic
from typing import Generic, TypeVar

log = logging.getLogger("staticmw")

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
    """*path* as *read* makes it, read again when its fingerprint changes (looked at most
    once per *interval* seconds). A version *read* refuses with one of *errors* (caught half
    written, say) is never used: the last good one stays, and the refusal is logged once for
    that version. :meth:`current` is ``None`` until a version has been read well, and
    while the file is not there."""

    def __init__(
        self,
        path: str,
        read: Callable[[str], T],
        errors: tuple[type[Exception], ...],
        interval: float = 0.0,
    ):
        self.path = path
        self._read = read
        self._errors = errors
        self.interval = interval
        self._lock = threading.Lock()
        self._value: T | None = None
        self._seen: Fingerprint | None = None
        self._refused: Fingerprint | None = None
        self._checked = float("-inf")

    def current(self) -> T | None:
        if monotonic() - self._checked < self.interval:
            return self._value
        with self._lock:
            self._checked = monotonic()
            seen = fingerprint(self.path)
            if seen is None:  # gone: nothing to use
                self._value = self._seen = None
                return None
            if seen in (self._seen, self._refused):
                return self._value
            try:
                value = self._read(self.path)
            except self._errors as exc:
                self._refused = seen
                log.error("staticmw: %s; still using the version read before", exc)
                return self._value
            self._value, self._seen, self._refused = value, seen, None
            return value
