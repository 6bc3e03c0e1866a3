"""The one compression engine of ``staticmw build`` and of :mod:`staticmw.build.precompress`:
variants and ``dcz`` deltas made in worker processes, and the file digest both keep."""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple, TypeVar

from . import compress, deltas
from .tree import Tree, digest_of

Key = TypeVar("Key")


def file_digest(path: str) -> str:
    """The SHA-256 of a file's bytes, in hex, read in blocks."""
    return digest_of(os.open(path, os.O_RDONLY | os.O_CLOEXEC))


class Task(NamedTuple):
    """One variant to make: *codec*'s compression of *source* (a name, or the bytes
    themselves), or with *dictionary* (an earlier version's name) a zstd delta against it.

    The result goes to every name in *dests*; none (a dry run) writes nothing. With
    *remove_unkept*, a result not worth keeping removes what *dests* held before. Names are
    below *root*, reached through directory descriptors (:class:`~staticmw.build.tree.Tree`);
    without a root they are paths, each below its own directory.
    """

    codec: str
    source: str | bytes
    dests: tuple[str, ...] = ()
    dictionary: str | None = None
    remove_unkept: bool = False
    root: str = ""
    weight: int = 0  # the work it takes, estimated (see weight()): the heaviest go first


# The time each coding takes per byte, relative to gzip at level 9, as measured over
# JavaScript and stylesheets: brotli at quality 11 is by far the slowest.
_COST = {"br": 30, "zstd": 6, "dcz": 6}


def weight(codec: str, size: int) -> int:
    """An estimate of the work of coding *size* bytes with *codec*, for ordering tasks."""
    return size * _COST.get(codec, 1)


def _place(task: Task, name: str) -> tuple[Tree, str]:
    """The tree a task's name is below, and the name there."""
    if task.root:
        return Tree(task.root), name
    return Tree(os.path.dirname(name) or "."), os.path.basename(name)


def _read(task: Task, source: str | bytes) -> bytes:
    if isinstance(source, bytes):
        return source
    tree, name = _place(task, source)
    return tree.read(name)


def make(task: Task) -> int | None:
    """Do one task; the size kept, or ``None`` when the result is not worth keeping
    (at most 95% of the original, and for a delta the same rule). Runs in workers."""
    data = _read(task, task.source)
    packed: bytes | None
    if task.dictionary is not None:
        delta = deltas.delta(_read(task, task.dictionary), data)
        packed = delta if compress.worth_keeping(len(delta), len(data)) else None
    else:
        packed = compress.variant(task.codec, data)
    if packed is None:
        if task.remove_unkept:
            for dest in task.dests:
                tree, name = _place(task, dest)
                with contextlib.suppress(FileNotFoundError):
                    tree.unlink(name)
        return None
    for dest in task.dests:
        tree, name = _place(task, dest)
        tree.write(name, packed)
    return len(packed)


# prctl(2): the signal a process gets when the thread that started it ends.
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """Worker start-up: end this worker when the build that started it ends, however it
    ends (SIGTERM from ``timeout`` or systemd, SIGKILL), rather than wait on its queue for
    ever. On Linux the kernel sends the signal; elsewhere a thread watches the parent."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
        if armed:
            if os.getppid() != parent:  # it ended before the signal was armed
                os._exit(1)
            return
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


# Called in this process as each task ends: (tasks ended so far, its key, the size kept
# or None, the error that stopped it or None).
Done = Callable[[int, Key, "int | None", "OSError | None"], None]


def run(work: Sequence[tuple[Key, Task]], jobs: int | None, done: Done[Key]) -> None:
    """Do every task, the heaviest first, in *jobs* worker processes (default one per
    core), or here when one is enough. An ``OSError`` stops only its own task and reaches
    *done*."""
    if not work:
        return
    # The heaviest first, so that no large file is left to one worker at the end while
    # the others stand idle.
    work = sorted(work, key=lambda pair: -pair[1].weight)
    workers = min(jobs or os.cpu_count() or 1, len(work))
    if workers == 1:
        for count, (key, task) in enumerate(work, 1):
            try:
                size = make(task)
            except OSError as exc:
                done(count, key, None, exc)
            else:
                done(count, key, size, None)
        return
    with concurrent.futures.ProcessPoolExecutor(
        max_workers=workers, initializer=_die_with_parent, initargs=(os.getpid(),)
    ) as pool:
        futures = {pool.submit(make, task): key for key, task in work}
        try:
            for count, future in enumerate(concurrent.futures.as_completed(futures), 1):
                try:
                    size = future.result()
                except OSError as exc:
                    done(count, futures[future], None, exc)
                else:
                    done(count, futures[future], size, None)
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
