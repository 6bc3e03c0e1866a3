"""What the core remembers between requests: found files, recent misses, and bytes held."""

from __future__ import annotations

import threading
from time import monotonic

from .representations import Representation, Resource

# When the bound on remembered files (the ``cache_entries`` option) is reached, the
# oldest entry goes, unless it was asked for since the cache last passed over it: then it
# moves to the back, once (a second chance, as in the CLOCK algorithm). A hit costs one
# store (``resource.seen = True``); the rest happens on an insertion, which follows a
# lookup on disk anyway. At most this many entries get their second chance per insertion.
SECOND_CHANCES = 64
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
    answer. Changes to the entries and the byte budget are made under a lock; reads
    take none.
    """

    def __init__(self, budget: int, miss_seconds: float, entries: int):
        self.resources: dict[str, Resource] = {}
        self.entries = entries
        # path -> when the miss expires; in insertion order, so oldest (and first to
        # expire) first. misses_chars is the length of the paths held.
        self.misses: dict[str, float] = {}
        self.misses_chars = 0
        self.budget = budget
        self.held = 0
        self.miss_seconds = miss_seconds
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            while self.resources:
                self._drop(self.resources.popitem()[1])
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
        """Keep *resource* for *path*, making room within the bound first."""
        if resource.url == path:
            resource.url = path  # the same text as the key, kept once
        resources = self.resources
        with self._lock:
            if len(resources) >= self.entries:
                self._make_room()
            previous = resources.get(path)
            resources[path] = resource
            resource.remembered = True
            if previous is not None and previous is not resource:
                self._drop(previous)  # another thread's lookup of the same file

    def _make_room(self) -> None:
        """Evict until one more entry fits: the oldest not asked for since last passed over.

        Called with the lock held. Readers do not take it, and a reader that misses an
        entry being moved looks the file up again; no answer is ever wrong.
        """
        resources = self.resources
        for _ in range(SECOND_CHANCES):
            if len(resources) < self.entries:
                return
            oldest = next(iter(resources))
            resource = resources[oldest]
            if not resource.seen:
                break
            resource.seen = False
            del resources[oldest]
            resources[oldest] = resource
        while len(resources) >= self.entries:
            self._drop(resources.pop(next(iter(resources))))

    def forget(self, path: str) -> None:
        with self._lock:
            resource = self.resources.pop(path, None)
            if resource is not None:
                self._drop(resource)

    def hold(self, resource: Resource, rep: Representation, content: bytes, now: float) -> None:
        """Keep *content* in *rep*, checked at monotonic time *now*, if *resource* is still
        remembered and the budget allows: bytes are never held where no eviction finds them."""
        with self._lock:
            if resource.remembered and self.held + len(content) <= self.budget:
                self.held += len(content)
                rep.hold(content, now)

    def release(self, rep: Representation) -> None:
        """Drop the bytes *rep* holds and give them back to the budget."""
        with self._lock:
            self._release(rep)

    def _drop(self, resource: Resource) -> None:
        """A resource no longer remembered gives back the bytes it held (lock held)."""
        resource.remembered = False
        for rep in resource.representations:
            self._release(rep)

    def _release(self, rep: Representation) -> None:
        body = rep.drop()
        if body is not None:
            self.held -= len(body)
