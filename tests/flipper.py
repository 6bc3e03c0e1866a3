"""Swap a directory for a link to somewhere else, and back, as fast as possible.

    python tests/flipper.py [--progress COUNTFILE] DIRECTORY TARGET SECONDS
    python tests/flipper.py [--progress COUNTFILE] --hardlink FILE TARGET SECONDS
    python tests/flipper.py [--progress COUNTFILE] --exchange DIRECTORY TARGET SECONDS

Prints ``ready`` once it starts and the number of swaps when it stops (after
SECONDS, or on SIGTERM); with ``--progress``, it also keeps the count so far in
COUNTFILE (rewritten every 16 swaps) for a test to read while it runs. Race tests
run it beside a server: at any instant DIRECTORY is the real directory, missing, or
a link to TARGET. The real directory is held for 200 µs and the link for 50 µs
(busy-waiting), so that requests meet both, not only the gaps between renames, which
take tens of µs each on ext4.

With ``--exchange``, DIRECTORY and a link to TARGET trade places in one call
(``renameat2`` with ``RENAME_EXCHANGE``, Linux), so DIRECTORY is never missing: for a
writer that would make it again where it found none.

With ``--hardlink``, FILE is swapped (by rename, so it is never missing) between a
regular file with its original bytes and a hard link to TARGET, an outside file.
"""

from __future__ import annotations

import os
import signal
import sys
import time


def _hold(seconds: float) -> None:
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        pass


def _flip_directory(directory: str, target: str) -> None:
    away = directory + ".away"
    os.rename(directory, away)
    os.symlink(target, directory)
    _hold(50e-6)
    os.unlink(directory)
    os.rename(away, directory)
    _hold(200e-6)


_RENAME_EXCHANGE = 2


def _exchange_flipper(directory: str, target: str):
    """One swap of DIRECTORY for a link to TARGET and back, each a single exchange."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    link = directory + ".link"
    os.symlink(target, link)
    at = -100  # AT_FDCWD

    def exchange() -> None:
        if libc.renameat2(at, directory.encode(), at, link.encode(), _RENAME_EXCHANGE) != 0:
            raise OSError(ctypes.get_errno(), "renameat2")

    def flip(_: str, __: str) -> None:
        exchange()
        _hold(50e-6)
        exchange()
        _hold(200e-6)

    return flip


def _hard_link_flipper(path: str, target: str):
    """One swap of FILE for a hard link to TARGET and back, as a function."""
    with open(path, "rb") as original:
        data = original.read()
    st = os.stat(path)
    folder, name = os.path.split(path)
    linked, copy = os.path.join(folder, f".{name}.link"), os.path.join(folder, f".{name}.copy")

    def flip(_: str, __: str) -> None:
        os.link(target, linked)
        os.replace(linked, path)
        _hold(50e-6)
        with open(copy, "wb") as fresh:
            fresh.write(data)
        os.utime(copy, ns=(st.st_atime_ns, st.st_mtime_ns))
        os.replace(copy, path)
        _hold(200e-6)

    return flip


def main() -> int:
    args = sys.argv[1:]
    progress = None
    if args[0] == "--progress":
        progress = os.open(args[1], os.O_WRONLY | os.O_CREAT, 0o644)
        args = args[2:]
    flip = _flip_directory
    if args[0] == "--hardlink":
        args = args[1:]
        flip = _hard_link_flipper(args[0], args[1])
    elif args[0] == "--exchange":
        args = args[1:]
        flip = _exchange_flipper(args[0], args[1])
    directory, target, seconds = args[0], args[1], float(args[2])
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    deadline = time.monotonic() + seconds
    swaps = 0
    print("ready", flush=True)
    while not stopping and time.monotonic() < deadline:
        flip(directory, target)
        swaps += 1
        if progress is not None and swaps % 16 == 0:
            os.pwrite(progress, b"%012d" % swaps, 0)
    print(swaps, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
