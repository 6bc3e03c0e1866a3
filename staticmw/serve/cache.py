"""What the core remembers between requests: found files, recent misses, and bytes held."""

from __future__ import annotations

import contextlib
import threading
from time import monotonic

from .representations import Representation, Resource

# Bound on remembered files; the oldest entry goes first when it is reached.
CACHE_ENTRIES = 200_000
# Bounds on remembered misses (each for the recheck interval): random URLs under a
# prefix cost a dictionary lookup, not a file-system walk, and memory stays flat. The
# paths are request text, so they are bounded in characters as well as in number.
MISS_ENTRIES = 10_000
MISS_CHARS = 1 << 20
# A longer path is never remembered: the resolver refuses it without a file-system call.
MISS_PATH_CHARS = 4096


class ResourceCache:
    """Resources by request path, misses until they expire, and a budget for bodies in memory.

    Safe to share between threads: a lost race costs a second lookup, never a wrong
    answer, and the byte budget is kept under a lock.
    """

    def __init__(self, budget: int, miss_seconds: float):
        self.resources: dict[str, Resource] = {}
        # path -> when the miss expires; in insertion order, so oldest (and first to
        # expire) first. misses_chars is the length of the paths held.
        self.misses: dict[str, float] = {}
        self.misses_chars = 0
        self.budget = budget
        self.held = 0
        self.miss_seconds = miss_seconds
        self._lock = threading.Lock()

    def clear(self) -> None:
        for path in list(self.resources):
            self.forget(path)
        with self._lock:
            self.misses.clear()
            self.misses_chars = 0

    def known_miss(self, path: str) -> bool:
        """Whether *path* was looked up and not found within the recheck interval."""
        misses = self.misses
        if not misses:
            return False
        expiry = misses.get(path)
        if expiry is None:
            return False
        if monotonic() < expiry:
            return True
        with self._lock:
            if misses.pop(path, None) is not None:
                self.misses_chars -= len(path)
        return False

    def remember_miss(self, path: str) -> None:
        """Remember that *path* is not there, for the recheck interval, within the bounds."""
        if self.miss_seconds <= 0 or len(path) > MISS_PATH_CHARS:
            return
        now = monotonic()
        with self._lock:
            misses = self.misses
            if misses.pop(path, None) is not None:
                self.misses_chars -= len(path)
            # Drop what has expired, then the oldest, until the new path fits.
            while misses:
                oldest = next(iter(misses))
                if (
                    misses[oldest] > now
                    and len(misses) < MISS_ENTRIES
                    and self.misses_chars + len(path) <= MISS_CHARS
                ):
                    break
                del misses[oldest]
                self.misses_chars -= len(oldest)
            misses[path] = now + self.miss_seconds
            self.misses_chars += len(path)

    def remember(self, path: str, resource: Resource) -> None:
        resources = self.resources
        if len(resources) >= CACHE_ENTRIES:
            # Another thread may insert meanwhile; losing an eviction is harmless.
            with contextlib.suppress(RuntimeError, StopIteration, KeyError):
                self.forget(next(iter(resources)))
        resources[path] = resource

    def forget(self, path: str) -> None:
        resource = self.resources.pop(path, None)
        if resource is not None:
            for rep in resource.representations:
                self.release(rep)

    def reserve(self, size: int) -> bool:
        """Claim *size* bytes of the in-memory budget; ``False`` when it is spent."""
        with self._lock:
            if self.held + size > self.budget:
                return False
            self.held += size
            return True

    def unreserve(self, size: int) -> None:
        with self._lock:
            self.held -= size

    def release(self, rep: Representation) -> None:
        """Drop the bytes *rep* holds and give them back to the budget."""
        body = rep.drop()
        if body is not None:
            self.unreserve(len(body))
