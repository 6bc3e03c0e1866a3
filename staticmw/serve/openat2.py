"""Linux ``openat2(2)`` through ctypes: open a path that crosses no symbolic link at all.

With ``RESOLVE_NO_SYMLINKS`` the kernel refuses (``ELOOP``) any path in which one
component is a link, so a descriptor it returns names exactly the file that the
path spells out at that instant. :mod:`staticmw.serve.paths` uses it as the one-call
fast path and falls back to its own walk wherever it is missing or refused.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import sys
from collections.abc import Callable

RESOLVE_NO_MAGICLINKS = 0x02
RESOLVE_NO_SYMLINKS = 0x04
_AT_FDCWD = -100

# openat2 has one number on every architecture that has the unified table
# (Linux 5.6 and later); the few with their own numbering are left out.
_SYSCALL_NUMBER = 437
_ARCHITECTURES = frozenset(
    {"x86_64", "amd64", "aarch64", "arm64", "armv7l", "armv8l", "i686", "i386", "ppc64le"}
    | {"ppc64", "s390x", "riscv64", "loongarch64", "mips64"}
)

# Errors that mean the call itself is unusable here (an old kernel, a seccomp
# filter, a flag it does not know): the caller switches to its fallback for good.
UNSUPPORTED = frozenset({errno.ENOSYS, errno.EPERM, errno.E2BIG, errno.EINVAL})


class _OpenHow(ctypes.Structure):
    _fields_ = (
        ("flags", ctypes.c_uint64),
        ("mode", ctypes.c_uint64),
        ("resolve", ctypes.c_uint64),
    )


Opener = Callable[[bytes], int]


def no_symlinks_opener(flags: int) -> Opener | None:
    """A function that opens an absolute path with *flags* and no link anywhere in it.

    It returns the descriptor, or the kernel's errno negated (no exception: a miss
    is common and must stay cheap). ``None`` when this platform has no usable openat2.
    """
    if not sys.platform.startswith("linux") or platform.machine() not in _ARCHITECTURES:
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        syscall = libc.syscall
    except (OSError, AttributeError):
        return None
    syscall.restype = ctypes.c_long
    syscall.argtypes = (
        ctypes.c_long,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.POINTER(_OpenHow),
        ctypes.c_size_t,
    )
    how = _OpenHow(flags, 0, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
    how_ref = ctypes.byref(how)
    how_size = ctypes.sizeof(how)
    get_errno = ctypes.get_errno

    def open_path(path: bytes) -> int:
        fd: int = syscall(_SYSCALL_NUMBER, _AT_FDCWD, path, how_ref, how_size)
        return fd if fd >= 0 else -get_errno()

    # One probe decides: a kernel without openat2, or a sandbox that forbids it,
    # says so on the first call whatever the path.
    probe = open_path(b"/")
    if probe < 0:
        return None if -probe in UNSUPPORTED else open_path
    os.close(probe)
    return open_path
