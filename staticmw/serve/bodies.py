"""Response bodies read from an open descriptor: whole small files, and file spans streamed."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

# A body is a sequence of literal bytes and ``(offset, length)`` spans of the file.
BodyPart = bytes | tuple[int, int]

# Bodies up to this size are read into memory and checked against a second
# fstat; larger ones are streamed (zero-copy where the server can).
SMALL_BODY = 64 * 1024
# Read size when streaming through Python: under Granian, 256 KiB blocks sent 10 MiB
# files about 15% faster than 64 KiB ones, and 1 MiB ones no faster.
BLOCK_SIZE = 256 * 1024


class FileChangedError(OSError):
    """A file shrank while its body was being sent; the connection must be dropped."""


class Changed(Exception):
    """The file changed between fstat and read; start over from the lookup."""


def read_exact(fd: int, offset: int, length: int) -> bytes:
    """*length* bytes at *offset*; :class:`Changed` when the file is shorter now."""
    os.lseek(fd, offset, os.SEEK_SET)
    chunks = []
    while length > 0:
        chunk = os.read(fd, length)
        if not chunk:
            raise Changed
        chunks.append(chunk)
        length -= len(chunk)
    return b"".join(chunks)


class FileBody:
    """Literal parts and file spans of one open descriptor, which :meth:`close` releases.

    Iterating yields blocks of at most *block_size* bytes. An adapter that can hand
    the descriptor to the server (sendfile, ``pathsend``) takes it with :meth:`detach`.
    """

    __slots__ = ("_fd", "block_size", "parts")

    def __init__(self, fd: int, parts: Sequence[BodyPart], block_size: int | None = None):
        self._fd = fd
        self.parts = parts
        self.block_size = BLOCK_SIZE if block_size is None else block_size

    @property
    def span(self) -> tuple[int, int] | None:
        """``(offset, length)`` when the body is one span of the file, else ``None``."""
        parts = self.parts
        if len(parts) == 1 and isinstance(parts[0], tuple):
            return parts[0]
        return None

    def fileno(self) -> int:
        """The open descriptor (still owned by this body)."""
        return self._fd

    def detach(self) -> int:
        """The descriptor, now owned by the caller; this body is closed."""
        fd, self._fd = self._fd, -1
        return fd

    def __iter__(self) -> Iterator[bytes]:
        for part in self.parts:
            if isinstance(part, bytes):
                yield part
                continue
            offset, length = part
            os.lseek(self._fd, offset, os.SEEK_SET)
            while length > 0:
                chunk = os.read(self._fd, min(self.block_size, length))
                if not chunk:
                    raise FileChangedError(f"file shrank while being sent ({length} bytes short)")
                length -= len(chunk)
                yield chunk

    def close(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)

    __del__ = close
