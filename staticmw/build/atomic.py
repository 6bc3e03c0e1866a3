"""Writing a file so that no crash or interrupt ever leaves part of it under its final name."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from typing import BinaryIO

TMP_SUFFIX = ".staticmw-tmp"


@contextlib.contextmanager
def replacing(path: str) -> Iterator[BinaryIO]:
    """Yield a handle to a temporary dotfile beside *path*; rename it into place on success.

    On any exception (KeyboardInterrupt included) the temporary file is removed.
    The dotfile name is never served, and builds delete leftovers of killed runs.
    """
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    fd, temporary = tempfile.mkstemp(
        prefix="." + os.path.basename(path) + ".", suffix=TMP_SUFFIX, dir=directory
    )
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def atomic_write(path: str, data: bytes) -> bool:
    """Write *data* to *path* via a temporary file and rename; skip when unchanged.

    Returns whether the file was written. A crash or interrupt never leaves a
    partial file under *path*; the temporary name is a dotfile, never served.
    """
    try:
        with open(path, "rb") as handle:
            if handle.read(len(data) + 1) == data:
                return False
    except FileNotFoundError:
        pass
    with replacing(path) as handle:
        handle.write(data)
    return True
