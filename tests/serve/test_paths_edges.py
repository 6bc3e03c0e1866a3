"""Edges of the path resolver that only a mutation run showed untested: the walk's
re-entry into nested roots and its final directory, the hard-link rule's every branch,
descriptor 0, errors from the fast open, names the rules keep or refuse exactly."""

from __future__ import annotations

import contextlib
import errno
import logging
import os

import pytest

from staticmw.serve import paths
from staticmw.serve.paths import (
    Opened,
    Resolver,
    segment_is_safe,
    sidecar_original,
    split_request_path,
)

from ..helpers import write


def inode(fd_or_path) -> tuple[int, int]:
    st = os.fstat(fd_or_path) if isinstance(fd_or_path, int) else os.stat(fd_or_path)
    return st.st_dev, st.st_ino


@contextlib.contextmanager
def descriptor_zero_free():
    """Close descriptor 0 (stdin) for the block, so the next open gets it; then restore."""
    saved = os.dup(0)
    os.close(0)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.close(0)
        os.dup2(saved, 0)
        os.close(saved)


def open_bytes(resolver: Resolver, root: str, parts: list[str]) -> bytes | None:
    opened = resolver.open(root, parts)
    if opened is None:
        return None
    try:
        return os.pread(opened.fd, 1000, 0)
    finally:
        opened.close()


# -- names --------------------------------------------------------------------------


def test_why_a_path_is_refused_is_said_exactly():
    cases = {
        "a" * (paths.MAX_PATH_CHARS + 1): f"longer than {paths.MAX_PATH_CHARS} characters",
        "/": "an empty segment",
        "/".join(["a"] * (paths.MAX_SEGMENTS + 1)): f"more than {paths.MAX_SEGMENTS} segments",
        "a/..": "segment '..' is refused by the path rules",
    }
    for relative, reason in cases.items():
        why: list[str] = []
        assert split_request_path(relative, why=why) is None
        assert why == [reason], (relative, why)


@pytest.mark.parametrize(
    "segment",
    ["fileX", "conX.txt", "con\u1680.txt", "a~1.txt", "PROGRA~1"],
)
def test_names_near_a_rule_are_kept(segment):
    """A trailing letter is not a trailing dot; only spaces end a device name; 8.3 short
    names are a Windows matter."""
    assert segment_is_safe(segment)


def test_a_delta_names_the_hashed_file_it_was_made_for():
    delta = "app.3f2a9c1b9d0e.css." + "0123456789abcdef" + ".dcz"
    assert sidecar_original(delta) == "app.3f2a9c1b9d0e.css"
    assert sidecar_original("app.css.br") == "app.css"


# -- the resolver's own answers ---------------------------------------------------------


def test_exists_tells_files_from_directories(tmp_path):
    write(tmp_path / "d" / "f.txt", b"x")
    resolver = Resolver([str(tmp_path)])
    root = str(tmp_path)
    assert resolver.exists(root, ["d", "f.txt"])
    assert resolver.exists(root, ["d", "f.txt"], directory=False)
    assert not resolver.exists(root, ["d", "f.txt"], directory=True)
    assert resolver.exists(root, ["d"], directory=True)
    assert not resolver.exists(root, ["d"], directory=False)
    assert not resolver.exists(root, ["missing"])


def test_a_fifo_or_a_nul_is_not_opened(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    for follow in (False, True):
        resolver = Resolver([str(tmp_path)], follow_symlinks=follow)
        assert resolver.open(str(tmp_path), ["pipe"]) is None
        assert resolver.open(str(tmp_path), ["a\x00b"]) is None
        assert resolver.open(str(tmp_path), ["missing.txt"]) is None


def test_following_links_opens_and_reopens(tmp_path):
    write(tmp_path / "f.txt", b"data")
    resolver = Resolver([str(tmp_path)], follow_symlinks=True)
    opened = resolver.open(str(tmp_path), ["f.txt"])
    assert opened is not None
    fd = resolver.reopen(opened.path)
    assert fd is not None and inode(fd) == inode(opened.fd)
    os.close(fd)
    opened.close()


def test_use_fast_open_switches_and_says_what_it_was():
    before = paths._fast_open
    try:
        old = paths.use_fast_open(False)
        assert old == (before is not None)
        assert paths._fast_open is None
        assert paths.use_fast_open(True) is False
        assert paths._fast_open is paths._OPENAT2
        assert paths.use_fast_open(True) is (paths._OPENAT2 is not None)
    finally:
        paths._fast_open = before


def test_closing_twice_closes_once(tmp_path):
    write(tmp_path / "f.txt", b"x")
    opened = Resolver([str(tmp_path)]).open(str(tmp_path), ["f.txt"])
    assert opened is not None
    opened.close()
    assert opened.fd == -1
    opened.close()  # nothing left to close, and no other descriptor is touched
    assert opened.fd == -1


def test_descriptor_zero_is_a_descriptor_like_any_other(tmp_path):
    """A server started with stdin closed gets descriptor 0 from its first open: the
    resolver serves the file that lands there and closes it, on the fast path and the
    walk alike."""
    write(tmp_path / "f.txt", b"zero")
    write(tmp_path / "sub" / "g.txt", b"walked")
    os.symlink("sub/g.txt", tmp_path / "link")
    resolver = Resolver([str(tmp_path)])
    for name, expected in (("f.txt", b"zero"), ("link", b"walked")):
        with descriptor_zero_free():
            opened = resolver.open(str(tmp_path), [name])
            assert opened is not None and os.pread(opened.fd, 100, 0) == expected
            opened.close()
            with pytest.raises(OSError):
                os.fstat(0)  # closed again: neither the file nor a walk's root leaked


def test_a_closed_opened_with_descriptor_zero_closes_it(tmp_path):
    write(tmp_path / "f.txt", b"x")
    with descriptor_zero_free():
        fd = os.open(tmp_path / "f.txt", os.O_RDONLY)
        assert fd == 0
        Opened(fd, str(tmp_path / "f.txt"), os.fstat(fd)).close()
        with pytest.raises(OSError):
            os.fstat(0)


def test_serious_errors_of_the_fast_open_reach_the_caller(tmp_path, monkeypatch):
    """An error about the server (EACCES, EMFILE, ...) is raised with its number, message
    and path; one about the path (ENOENT) is a plain miss."""
    write(tmp_path / "f.txt", b"x")
    path = str(tmp_path / "f.txt")
    resolver = Resolver([str(tmp_path)])
    monkeypatch.setattr(paths, "_fast_open", lambda raw: -errno.EMFILE)
    with pytest.raises(OSError) as raised:
        resolver.open(str(tmp_path), ["f.txt"])
    assert (raised.value.errno, raised.value.strerror, raised.value.filename) == (
        errno.EMFILE,
        os.strerror(errno.EMFILE),
        path,
    )
    monkeypatch.setattr(paths, "_fast_open", lambda raw: -errno.ENOENT)
    assert resolver.open(str(tmp_path), ["f.txt"]) is None


@pytest.mark.skipif(paths._OPENAT2 is None, reason="openat2 is not available here")
def test_a_root_whose_name_is_not_utf8_is_opened(tmp_path):
    root = os.path.join(os.fsencode(tmp_path), b"r\xff")
    os.mkdir(root)
    with open(os.path.join(root, b"a.txt"), "wb") as handle:
        handle.write(b"bytes")
    name = os.fsdecode(root)
    assert open_bytes(Resolver([name]), name, ["a.txt"]) == b"bytes"


# -- the walk ---------------------------------------------------------------------------


def test_a_link_that_climbs_out_of_a_nested_root_lands_in_the_outer_one(tmp_path):
    """Roots ``outer`` and ``outer/b/c``: from the inner one, ``../x.txt`` is
    ``outer/b/x.txt``, which the outer root serves; the walk continues there."""
    outer = tmp_path / "outer"
    write(outer / "Xb" / "x.txt", b"outer b x")  # an X at either end of a name, kept
    write(outer / "Xb" / "c" / "y.txt", b"inner")
    write(outer / "x.txt", b"wrong")
    os.symlink("../x.txt", outer / "Xb" / "c" / "up")
    inner = str(outer / "Xb" / "c")
    resolver = Resolver([str(outer), inner])
    assert open_bytes(resolver, inner, ["up"]) == b"outer b x"


def test_a_relative_link_after_a_return_into_the_root_is_read_from_its_own_folder(tmp_path):
    """``a`` leaves the root by ``..`` and comes back into ``dir/b``, a link to ``c.txt``:
    that is ``dir/c.txt``, not the root's ``c.txt``."""
    root = tmp_path / "static"
    write(root / "dir" / "c.txt", b"right")
    write(root / "c.txt", b"wrong")
    os.symlink("c.txt", root / "dir" / "b")
    os.symlink("../static/dir/b", root / "a")
    assert open_bytes(Resolver([str(root)]), str(root), ["a"]) == b"right"


def test_a_link_through_dot_segments_is_followed(tmp_path):
    write(tmp_path / "b.txt", b"dotted")
    os.symlink("./b.txt", tmp_path / "a")
    assert open_bytes(Resolver([str(tmp_path)]), str(tmp_path), ["a"]) == b"dotted"


def test_a_walk_that_ends_on_a_directory_opens_that_directory(tmp_path):
    """A link to ``sub/deeper/..`` is ``sub``; the root itself, walked, is the root."""
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    os.symlink("sub/deeper/..", tmp_path / "l")
    resolver = Resolver([str(tmp_path)])
    opened = resolver.open(str(tmp_path), ["l"])
    assert opened is not None and opened.is_dir
    assert inode(opened.fd) == inode(str(tmp_path / "sub"))
    opened.close()
    before = paths.use_fast_open(False)
    try:
        opened = resolver.open(str(tmp_path), [])
        assert opened is not None and inode(opened.fd) == inode(str(tmp_path))
        opened.close()
    finally:
        paths.use_fast_open(before)


def test_a_walk_to_a_missing_target_is_a_miss(tmp_path):
    """Past the first screen (a file removed meanwhile): the walk's own error is a miss."""
    os.symlink("missing.txt", tmp_path / "l")
    resolver = Resolver([str(tmp_path)])
    assert resolver._open_below(str(tmp_path), str(tmp_path / "l")) is None


# -- hard links ---------------------------------------------------------------------------


def test_hard_links_in_and_out_of_a_single_link_root(tmp_path, caplog):
    """In a root that refuses hard links, a file with two names is refused (and logged with
    its path); one with a single name is served; in the other root it is served."""
    uploads, site = tmp_path / "uploads", tmp_path / "site"
    write(uploads / "one.txt", b"one")
    write(uploads / "two.txt", b"two")
    os.link(uploads / "two.txt", tmp_path / "elsewhere.txt")
    write(site / "shared.txt", b"shared")
    os.link(site / "shared.txt", tmp_path / "second-name.txt")
    resolver = Resolver([str(uploads), str(site)], single_link_roots=[str(uploads)])
    with caplog.at_level(logging.WARNING, "staticmw"):
        assert open_bytes(resolver, str(uploads), ["two.txt"]) is None
    assert [r.getMessage() for r in caplog.records] == [
        f"staticmw: {uploads / 'two.txt'} has 2 hard links; not served from a root that "
        "refuses them"
    ]
    assert open_bytes(resolver, str(uploads), ["one.txt"]) == b"one"
    assert open_bytes(resolver, str(site), ["shared.txt"]) == b"shared"


def test_the_link_rule_checks_the_name_and_the_change_time(tmp_path):
    """``links_ok`` about a descriptor: refused when the name leads to another file, or
    when the file's change time moved since its ``fstat`` (a name added or removed)."""
    write(tmp_path / "a.txt", b"a")
    write(tmp_path / "b.txt", b"b")
    resolver = Resolver([str(tmp_path)], single_link_roots=[str(tmp_path)])
    fd = os.open(tmp_path / "a.txt", os.O_RDONLY)
    try:
        st = os.fstat(fd)
        assert resolver.links_ok(str(tmp_path / "a.txt"), fd, st)
        assert not resolver.links_ok(str(tmp_path / "b.txt"), fd, st)  # another file's name
        os.chmod(tmp_path / "a.txt", 0o600)  # the change time moves
        assert not resolver.links_ok(str(tmp_path / "a.txt"), fd, st)
    finally:
        os.close(fd)


def test_reopening_in_a_single_link_root(tmp_path):
    """A held file reopened: refused once it has a second name, a miss once it is gone."""
    write(tmp_path / "f.txt", b"x")
    resolver = Resolver([str(tmp_path)], single_link_roots=[str(tmp_path)])
    path = str(tmp_path / "f.txt")
    fd = resolver.reopen(path)
    assert fd is not None
    os.close(fd)
    os.link(path, tmp_path.parent / f"{tmp_path.name}-second")
    assert resolver.reopen(path) is None
    os.unlink(tmp_path.parent / f"{tmp_path.name}-second")
    os.unlink(path)
    assert resolver.reopen(path) is None


def test_following_links_in_a_single_link_root(tmp_path):
    """With ``follow_symlinks``, a file reached through a linked folder is served; a
    symlink that is itself the name is a second name, and refused."""
    root = tmp_path / "root"
    write(root / "real" / "f.txt", b"through")
    write(tmp_path / "outside" / "g.txt", b"outside")
    os.symlink("real", root / "linked")
    os.symlink(tmp_path / "outside", root / "away")
    os.symlink("real/f.txt", root / "alias.txt")
    resolver = Resolver([str(root)], follow_symlinks=True, single_link_roots=[str(root)])
    assert open_bytes(resolver, str(root), ["linked", "f.txt"]) == b"through"
    assert open_bytes(resolver, str(root), ["away", "g.txt"]) == b"outside"  # as configured
    assert open_bytes(resolver, str(root), ["alias.txt"]) is None


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_an_error_after_the_open_closes_the_descriptor_and_is_raised(tmp_path, monkeypatch):
    """An ``fstat`` that fails right after the open (EIO), or a link check that fails on a
    reopen: the error reaches the caller, and the descriptor is closed, not leaked."""
    write(tmp_path / "f.txt", b"x")
    resolver = Resolver([str(tmp_path)], single_link_roots=[str(tmp_path)])
    real_fstat = os.fstat
    failing = {"armed": True}

    def fstat_once(fd):
        if failing.pop("armed", False):
            raise OSError(errno.EIO, "injected")
        return real_fstat(fd)

    before = open_descriptors()
    monkeypatch.setattr(paths.os, "fstat", fstat_once)
    with pytest.raises(OSError, match="injected"):
        resolver.open(str(tmp_path), ["f.txt"])
    monkeypatch.setattr(paths.os, "fstat", real_fstat)
    assert open_descriptors() == before

    def refuse(*args):
        raise OSError(errno.EIO, "link check failed")

    monkeypatch.setattr(Resolver, "links_ok", refuse)
    with pytest.raises(OSError, match="link check failed"):
        resolver.reopen(str(tmp_path / "f.txt"))
    assert open_descriptors() == before


def test_a_link_that_wanders_outside_every_root_is_refused_even_if_it_comes_back(tmp_path):
    """Outside every root the walk steps only towards one: ``/nowhere/../<root>/f.txt``
    is refused at ``/nowhere``, though it would lexically come back."""
    write(tmp_path / "f.txt", b"x")
    os.symlink(f"/nowhere/..{tmp_path}/f.txt", tmp_path / "detour")
    os.symlink(f"{tmp_path}/f.txt", tmp_path / "direct")
    resolver = Resolver([str(tmp_path)])
    assert open_bytes(resolver, str(tmp_path), ["direct"]) == b"x"
    assert resolver._open_below(str(tmp_path), str(tmp_path / "detour")) is None
