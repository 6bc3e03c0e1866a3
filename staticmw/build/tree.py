"""Files below one directory, reached only through directory descriptors: the discipline the
server has, for what the build and ``compress`` read and write.

Every name is walked from the root one component at a time, each directory opened with
``O_NOFOLLOW`` relative to its parent's descriptor, and the file last, also with
``O_NOFOLLOW``. A directory swapped for a symlink at any moment fails the call (``ELOOP`` or
``ENOTDIR``) instead of leading elsewhere: no byte is read from outside the root and none is
written there. The root's own path is trusted, as a configured root is when serving.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
import stat
from collections.abc import Callable, Iterator
from typing import BinaryIO

from .atomic import TMP_SUFFIX

_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_CHUNK = 1 << 20

# Called where a component has been checked and is about to be opened: tests swap the tree
# here, to prove that a swap at that moment changes nothing.
before_open: Callable[[str, str], None] | None = None


def _parts(name: str) -> list[str]:
    """The components of a ``/``-separated name below a root; refused if any could climb."""
    parts = name.split("/")
    if not name or any(part in ("", ".", "..") for part in parts):
        raise OSError(errno.EINVAL, f"not a name below the root: {name!r}")
    return parts


class Tree:
    """One root directory, and what its files can be asked for by name below it.

    The directories it has opened stay open until :meth:`close` (or the tree is dropped):
    each was reached without a link, and a swap after that cannot redirect a descriptor
    already open, so a run asks for each directory once.
    """

    __slots__ = ("_open", "root")

    def __init__(self, root: str | os.PathLike[str]):
        self.root = os.fspath(root)
        self._open: dict[tuple[str, ...], int] = {}

    def __enter__(self) -> Tree:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    def close(self) -> None:
        """Let go of the directories opened so far."""
        opened, self._open = self._open, {}
        for fd in opened.values():
            with contextlib.suppress(OSError):
                os.close(fd)

    def _directory(self, parts: list[str], create: bool = False) -> int:
        """A descriptor of the directory *parts* name (the root for none), made when asked;
        the tree's to close."""
        key = tuple(parts)
        fd = self._open.get(key)
        if fd is not None:
            return fd
        if not parts:
            fd = self._open[key] = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            return fd
        parent = self._directory(parts[:-1], create)
        part = parts[-1]
        if create:
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, 0o755, dir_fd=parent)
        if before_open is not None:
            before_open(self.root, part)
        fd = self._open[key] = os.open(part, _DIRECTORY, dir_fd=parent)
        return fd

    def place(self, name: str, create: bool = False) -> tuple[int, str]:
        """The descriptor of *name*'s directory (the tree's), and its last component."""
        parts = _parts(name)
        return self._directory(parts[:-1], create), parts[-1]

    def open(self, name: str) -> int:
        """A descriptor of the regular file *name*, read-only; ``OSError`` for anything
        else (missing, a symlink, a directory, a FIFO) or a way out of the root."""
        directory, base = self.place(name)
        if before_open is not None:
            before_open(self.root, base)
        fd = os.open(base, _READ, dir_fd=directory)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise OSError(errno.EINVAL, f"not a regular file: {name!r}")
        return fd

    def read(self, name: str) -> bytes:
        fd = self.open(name)
        with open(fd, "rb", closefd=True) as handle:
            return handle.read()

    def digest(self, name: str) -> str:
        """The SHA-256 of the file's bytes, in hex, read in blocks."""
        return digest_of(self.open(name))

    def size(self, name: str) -> int | None:
        """The size of the regular file *name*, ``None`` when there is none."""
        try:
            st = self.lstat(name)
        except OSError:
            return None
        return st.st_size if stat.S_ISREG(st.st_mode) else None

    def lstat(self, name: str) -> os.stat_result:
        """The status of *name* itself (a symlink is not followed)."""
        directory, base = self.place(name)
        return os.stat(base, dir_fd=directory, follow_symlinks=False)

    def exists(self, name: str) -> bool:
        """Whether *name* is a regular file below the root (a symlink is not)."""
        try:
            st = self.lstat(name)
        except OSError:
            return False
        return stat.S_ISREG(st.st_mode)

    def unlink(self, name: str) -> None:
        directory, base = self.place(name)
        os.unlink(base, dir_fd=directory)

    @contextlib.contextmanager
    def replacing(self, name: str) -> Iterator[BinaryIO]:
        """A handle to a new temporary dotfile beside *name*, renamed into place on success
        and removed on any exception: no crash leaves part of a file under its name."""
        directory, base = self.place(name, create=True)
        temporary = f".{base}.{secrets.token_hex(4)}{TMP_SUFFIX}"
        fd = os.open(temporary, _CREATE, 0o644, dir_fd=directory)
        try:
            with open(fd, "wb", closefd=True) as handle:
                yield handle
            os.replace(temporary, base, src_dir_fd=directory, dst_dir_fd=directory)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary, dir_fd=directory)
            raise

    def write(self, name: str, data: bytes) -> bool:
        """Write *data* as *name* through a temporary file; skip when it holds them already.
        Whether it was written."""
        if self.holds(name, data):
            return False
        with self.replacing(name) as handle:
            handle.write(data)
        return True

    def holds(self, name: str, data: bytes) -> bool:
        """Whether *name* is a regular file with exactly these bytes."""
        try:
            fd = self.open(name)
        except OSError:
            return False
        with open(fd, "rb", closefd=True) as handle:
            return handle.read(len(data) + 1) == data

    def copy_in(self, fd: int, name: str) -> None:
        """Write what the open file *fd* holds (from its start) as *name*."""
        with self.replacing(name) as handle:
            offset = 0
            while chunk := os.pread(fd, _CHUNK, offset):
                handle.write(chunk)
                offset += len(chunk)

    def link_in(self, fd: int, name: str) -> bool:
        """A second name in this tree for the file open as *fd* (the file itself, whatever
        its name is now; Linux); whether it was made."""
        try:
            directory, base = self.place(name, create=True)
            os.link(f"/proc/self/fd/{fd}", base, dst_dir_fd=directory, follow_symlinks=True)
        except FileExistsError:
            return True
        except OSError:
            return False
        return True

    def files(self) -> set[str]:
        """Every regular file below the root, no link followed, as ``/``-separated names
        (temporary files of a write under way left out)."""
        return {
            f"{below}{filename}"
            for below, filenames, _ in self._walk()
            for filename in filenames
            if not filename.endswith(TMP_SUFFIX)
        }

    def remove_leftovers(self) -> None:
        """Delete the temporary files a killed run left behind."""
        for _, filenames, dir_fd in self._walk():
            for filename in filenames:
                if filename.endswith(TMP_SUFFIX):
                    with contextlib.suppress(OSError):
                        os.unlink(filename, dir_fd=dir_fd)

    def _walk(self) -> Iterator[tuple[str, list[str], int]]:
        """Each directory below the root (its name and ``/``, ``""`` for the root), the
        names of its regular files and a descriptor of it; none when the root is not there.
        A directory is entered through its parent's descriptor without following a link,
        and the kind of each entry comes from the directory itself where the file system
        records it, so a large tree costs no call per file."""
        try:
            # The root this tree opens names through, so what is listed is what is opened.
            top = os.dup(self._directory([]))
        except (FileNotFoundError, NotADirectoryError):
            return
        pending = [("", top)]
        try:
            while pending:
                below, fd = pending.pop()
                try:
                    filenames = []
                    with os.scandir(fd) as entries:
                        for entry in entries:
                            with contextlib.suppress(OSError):
                                if entry.is_file(follow_symlinks=False):
                                    filenames.append(entry.name)
                                elif entry.is_dir(follow_symlinks=False):
                                    sub = os.open(entry.name, _DIRECTORY, dir_fd=fd)
                                    pending.append((f"{below}{entry.name}/", sub))
                    yield below, filenames, fd
                finally:
                    os.close(fd)
        finally:
            for _, fd in pending:
                os.close(fd)


def digest_of(fd: int) -> str:
    """The SHA-256 of what the open file *fd* holds, in hex; closes *fd*."""
    digest = hashlib.sha256()
    try:
        while chunk := os.read(fd, _CHUNK):
            digest.update(chunk)
    finally:
        os.close(fd)
    return digest.hexdigest()
