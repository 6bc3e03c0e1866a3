"""Swap a directory for a link to somewhere else, and back, as fast as possible.

    python tests/flipper.py DIRECTORY TARGET SECONDS

Prints ``ready`` once it starts and the number of swaps when it stops (after
SECONDS, or on SIGTERM). Race tests run it beside a server: at any instant
DIRECTORY is the real directory, missing, or a link to TARGET. The real directory
is held for 200 µs and the link for 50 µs (busy-waiting), so that requests meet
both, not only the gaps between renames, which take tens of µs each on ext4.
"""

from __future__ import annotations

import os
import signal
import sys
import time


def main() -> int:
    directory, target, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    away = directory + ".away"
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    deadline = time.monotonic() + seconds
    swaps = 0
    print("ready", flush=True)
    clock = time.perf_counter
    while not stopping and time.monotonic() < deadline:
        os.rename(directory, away)
        os.symlink(target, directory)
        until = clock() + 50e-6
        while clock() < until:
            pass
        os.unlink(directory)
        os.rename(away, directory)
        until = clock() + 200e-6
        while clock() < until:
            pass
        swaps += 1
    print(swaps, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
