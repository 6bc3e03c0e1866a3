"""What the core remembers between requests: found files, recent misses, and bytes held."""

from __future__ import annotations

import contextlib
import threading
from time import monotonic

from .files import Representation, Resource

# Bound on remembered files; the oldest entry goes first when it is reached.
CACHE_ENTRIES = 200_000
# Bound on remembered misses (each for the recheck interval): random URLs under a
# prefix cost a dictionary lookup, not a file-system walk, and memory stays flat.
MISS_ENTRIES = 10_000


class ResourceCache:
    """Resources by request path, misses until they expire, and a budget for bodies in memory.

    Safe to share between threads: a lost race costs a second lookup, never a wrong
    answer, and the byte budget is kept under a lock.
    """

    def __init__(self, budget: int, miss_seconds: float):
        self.resources: dict[str, Resource] = {}
        self.misses: dict[str, float] = {}
        self.budget = budget
        self.held = 0
        self.miss_seconds = miss_seconds
        self._lock = threading.Lock()

    def clear(self) -> None:
        for path in list(self.resources):
            self.forget(path)
        self.misses.clear()

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
        misses.pop(path, None)
        return False

    def remember_miss(self, path: str) -> None:
        if self.miss_seconds <= 0:
            return
        misses = self.misses
        if len(misses) >= MISS_ENTRIES:
            with contextlib.suppress(RuntimeError, StopIteration, KeyError):
                del misses[next(iter(misses))]
        misses[path] = monotonic() + self.miss_seconds

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
        body = rep.content
        if body is not None:
            rep.content = None
            self.unreserve(len(body))
