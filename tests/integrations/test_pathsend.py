"""Descriptors pinned for pathsend: the name a server reopens is the file that was checked."""

from __future__ import annotations

import os

import pytest

from staticmw.integrations import pathsend

from ..conftest import OLD
from ..helpers import write

pytestmark = pytest.mark.skipif(not pathsend.available(), reason="needs /proc/self/fd (Linux)")


def _open(path) -> int:
    return os.open(path, os.O_RDONLY | os.O_CLOEXEC)


def _read(name: str) -> bytes:
    with open(name, "rb") as file:
        return file.read()


def test_the_name_opens_the_checked_file_whatever_the_tree_does(tmp_path):
    write(tmp_path / "a.bin", b"public bytes", OLD)
    write(tmp_path / "outside.bin", b"SECRET bytes", OLD)
    table = pathsend.Pins()
    name = table.path(_open(tmp_path / "a.bin"))
    assert name is not None and name.startswith("/proc/self/fd/")
    # The tree changes after the check: the name still opens what was checked.
    os.unlink(tmp_path / "a.bin")
    os.symlink(tmp_path / "outside.bin", tmp_path / "a.bin")
    assert _read(name) == b"public bytes"


def test_one_descriptor_per_unchanged_file(tmp_path):
    write(tmp_path / "a.bin", b"a" * 100, OLD)
    write(tmp_path / "b.bin", b"b" * 100, OLD)
    table = pathsend.Pins()
    before = len(os.listdir("/proc/self/fd"))
    first = table.path(_open(tmp_path / "a.bin"))
    again = table.path(_open(tmp_path / "a.bin"))
    other = table.path(_open(tmp_path / "b.bin"))
    assert first == again != other
    assert table.pinned == 2
    assert len(os.listdir("/proc/self/fd")) == before + 2
    # A deployed new version is another file: it gets its own descriptor, and
    # the old name still reads the old version.
    write(tmp_path / "new.bin", b"A" * 101, OLD + 5)
    os.replace(tmp_path / "new.bin", tmp_path / "a.bin")
    edited = table.path(_open(tmp_path / "a.bin"))
    assert edited not in (first, other)
    assert _read(first) == b"a" * 100 and _read(edited) == b"A" * 101


def test_retired_numbers_read_nothing_and_are_reused_only_for_checked_files(tmp_path, monkeypatch):
    write(tmp_path / "a.bin", b"a" * 100, OLD)
    write(tmp_path / "b.bin", b"b" * 50, OLD)
    clock = [1000.0]
    monkeypatch.setattr(pathsend, "monotonic", lambda: clock[0])
    table = pathsend.Pins(grace=30)
    first = table.path(_open(tmp_path / "a.bin"))
    clock[0] += 29
    assert table.path(_open(tmp_path / "a.bin")) == first  # handed out again: kept longer
    clock[0] += 29
    table.path(_open(tmp_path / "b.bin"))
    assert _read(first) == b"a" * 100
    clock[0] += 31
    # Not handed out for the grace period: the number now reads nothing...
    later = table.path(_open(tmp_path / "b.bin"))
    assert _read(first) == b""
    write(tmp_path / "c.bin", b"c" * 10, OLD)
    # ...and is reused for the next checked file, never left for another open to take.
    reused = table.path(_open(tmp_path / "c.bin"))
    assert reused in (first, later)
    assert _read(reused) == b"c" * 10


def test_beyond_the_limit_the_caller_keeps_its_descriptor(tmp_path):
    write(tmp_path / "a.bin", b"a", OLD)
    write(tmp_path / "b.bin", b"b", OLD)
    table = pathsend.Pins(limit=1)
    assert table.path(_open(tmp_path / "a.bin")) is not None
    fd = _open(tmp_path / "b.bin")
    assert table.path(fd) is None
    assert os.read(fd, 1) == b"b"  # still open, still the caller's
    os.close(fd)
    with pytest.raises(ValueError, match="regular"):
        table.path(_open(tmp_path))


def test_a_pin_in_flight_is_never_retired_and_retires_after_its_release(tmp_path, monkeypatch):
    write(tmp_path / "a.bin", b"a" * 100, OLD)
    write(tmp_path / "b.bin", b"b" * 50, OLD)
    clock = [1000.0]
    monkeypatch.setattr(pathsend, "monotonic", lambda: clock[0])
    table = pathsend.Pins(grace=30)
    name = table.path(_open(tmp_path / "a.bin"), in_flight=True)
    clock[0] += 3600  # a server that takes an hour to open it
    table.path(_open(tmp_path / "b.bin"))  # sweeps
    assert _read(name) == b"a" * 100
    table.release(name)
    clock[0] += 29
    table.path(_open(tmp_path / "b.bin"))
    assert _read(name) == b"a" * 100  # the grace period runs from the release
    clock[0] += 2
    table.path(_open(tmp_path / "b.bin"))
    assert _read(name) == b""


def test_the_asgi_adapter_holds_a_pathsend_pin_until_the_server_says_it_was_sent(
    tmp_path, monkeypatch
):
    """A server that opens the name late: until ``receive()`` reports ``http.disconnect``,
    the number keeps naming the file whatever time passes and whatever else is pinned."""
    import asyncio

    from staticmw.integrations.asgi import StaticMiddleware
    from staticmw.serve.bodies import SMALL_BODY

    from .test_asgi import PATHSEND, asgi_fallback, scope_for

    write(tmp_path / "big.bin", b"B" * (SMALL_BODY + 1), OLD)
    write(tmp_path / "other.bin", b"O" * (SMALL_BODY + 1), OLD)
    clock = [1000.0]
    monkeypatch.setattr(pathsend, "monotonic", lambda: clock[0])
    app = StaticMiddleware(asgi_fallback, tmp_path, prefix="/static/")

    async def scenario():
        sent_done = asyncio.Event()
        names = []

        async def receive():
            if not names:
                return {"type": "http.request", "body": b"", "more_body": False}
            await sent_done.wait()
            return {"type": "http.disconnect"}

        async def send(message):
            if message["type"] == PATHSEND:
                names.append(message["path"])

        async def request(path, recv):
            scope = scope_for(path)
            scope["extensions"] = {PATHSEND: {}}
            await app(scope, recv, send)

        await request("/static/big.bin", receive)
        (name,) = names
        clock[0] += 3600
        await request("/static/other.bin", receive)  # sweeps the table
        await asyncio.sleep(0)
        assert _read(name) == b"B" * (SMALL_BODY + 1)  # still in flight: still the file
        sent_done.set()
        for _ in range(5):
            await asyncio.sleep(0)  # the watcher sees the disconnect and lets go
        clock[0] += 3600
        await request("/static/other.bin", receive)
        assert _read(name) == b""  # retired once released and the grace period passed

    asyncio.run(scenario())
