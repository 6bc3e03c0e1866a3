"""Checked descriptors that a server reopens by name: ASGI ``http.response.pathsend``.

A server given a path opens it later, on its own schedule (Granian opens it in a
task after ``send`` has returned). Handing it the file's own name would let a swap
between our check and its open serve something else. So the name handed over is
``/proc/self/fd/N`` of the descriptor the core opened and checked: opening it opens
that same file, whatever happens to the tree.

The descriptor must stay open, and its number must keep meaning that file, until
the server has opened it. A response that names a pin holds it *in flight* until the
server says the response has been sent: ASGI has ``receive()`` answer
``http.disconnect`` once it has (Granian does so right after it opened the file). A
pin is never retired while any response holds it, and not for :data:`GRACE` seconds
after the last one let go, shared by every request for the same unchanged file. It
is then retired: its number is pointed at ``/dev/null`` (a late open reads nothing
and the response comes up short) and only reused, by ``dup2``, for another checked
file. A pinned number therefore never names anything but a checked file or
``/dev/null``, and never another file while a response that named it is in flight.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from time import monotonic
from typing import Any

log = logging.getLogger("staticmw")

PROC_FD = "/proc/self/fd/"
# Seconds a pinned descriptor stays open after it was last handed to the server.
GRACE = 30.0
# Files pinned at once; beyond this, bodies are streamed instead.
LIMIT = 256

_Key = tuple[int, int, int, int]


def available() -> bool:
    """Whether this system names open descriptors under ``/proc/self/fd`` (Linux)."""
    try:
        fd = os.open(os.devnull, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return False
    try:
        reopened = os.open(PROC_FD + str(fd), os.O_RDONLY)
    except OSError:
        return False
    finally:
        os.close(fd)
    os.close(reopened)
    return True


class Pins:
    """Descriptors pinned for a server to reopen, by file identity; safe between threads."""

    def __init__(self, grace: float = GRACE, limit: int = LIMIT):
        self.grace = grace
        self.limit = limit
        self._lock = threading.Lock()
        # file identity -> [descriptor number, when it may be retired, responses in flight]
        self._pinned: dict[_Key, list[Any]] = {}
        self._keys: dict[int, _Key] = {}
        # retired numbers, each pointing at /dev/null, ready for reuse
        self._spare: list[int] = []
        self._null = -1
        self._next_sweep = 0.0

    def path(self, fd: int, in_flight: bool = False) -> str | None:
        """The name to hand over for the checked descriptor *fd*, which this takes over.

        ``None`` (and *fd* is left open, still the caller's) when too many files
        are pinned already. With *in_flight*, the pin is held until :meth:`release`
        is called with the name, and retired no sooner than the grace period after.
        """
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ValueError("only regular files are pinned")
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        now = monotonic()
        with self._lock:
            if now >= self._next_sweep:
                self._sweep(now)
            found = self._pinned.get(key)
            if found is not None:
                found[1] = now + self.grace
                found[2] += in_flight
                os.close(fd)
                return PROC_FD + str(found[0])
            if len(self._pinned) >= self.limit:
                return None
            if self._spare:
                number = self._spare.pop()
                os.dup2(fd, number, inheritable=False)
                os.close(fd)
            else:
                number = fd
            self._pinned[key] = [number, now + self.grace, int(in_flight)]
            self._keys[number] = key
            return PROC_FD + str(number)

    def release(self, name: str) -> None:
        """A response that named *name* (with ``in_flight``) has been sent or abandoned."""
        number = int(name[len(PROC_FD) :])
        with self._lock:
            key = self._keys.get(number)
            found = None if key is None else self._pinned.get(key)
            if found is None or found[2] <= 0:
                log.error("staticmw: pin %s released more often than handed out", name)
                return
            found[2] -= 1
            found[1] = monotonic() + self.grace

    def _sweep(self, now: float) -> None:
        """Retire what has not been handed out for the grace period (lock held)."""
        self._next_sweep = now + 1.0
        expired = [
            key for key, (_, until, users) in self._pinned.items() if until <= now and not users
        ]
        if not expired:
            return
        if self._null < 0:
            self._null = os.open(os.devnull, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        for key in expired:
            number = self._pinned.pop(key)[0]
            del self._keys[number]
            os.dup2(self._null, number, inheritable=False)
            self._spare.append(number)

    @property
    def pinned(self) -> int:
        """How many files are pinned now."""
        return len(self._pinned)
