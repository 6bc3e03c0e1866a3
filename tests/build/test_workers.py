"""The compression engine the build and precompress share."""

from __future__ import annotations

import gzip
import hashlib
import os
import select
import signal
import subprocess
import sys

import pytest
import zstandard

from staticmw.build import workers as engine
from staticmw.build.deltas import undo

from ..helpers import alive, children_of, still_alive_after

TEXT = b"".join(f".c{i} {{ color: #{i * 7919 % 0xFFFFFF:06x}; }}\n".encode() for i in range(2000))


def test_a_variant_goes_to_every_destination(tmp_path):
    source = tmp_path / "a.css"
    source.write_bytes(TEXT)
    dests = (str(tmp_path / "a.css.gz"), str(tmp_path / "b.css.gz"))
    size = engine.make(engine.Task("gzip", str(source), dests))
    assert size is not None and size < len(TEXT)
    for dest in dests:
        assert os.path.getsize(dest) == size
        with open(dest, "rb") as handle:
            assert gzip.decompress(handle.read()) == TEXT


def test_a_dry_run_writes_nothing_and_sizes_the_bytes_given(tmp_path):
    assert engine.make(engine.Task("gzip", TEXT)) == len(gzip.compress(TEXT, 9, mtime=0))
    assert os.listdir(tmp_path) == []


def test_not_worth_keeping_removes_only_when_asked(tmp_path):
    noise = os.urandom(4096)
    stale = tmp_path / "noise.bin.gz"
    stale.write_bytes(b"old")
    kept = engine.Task("gzip", noise, (str(stale),))
    assert engine.make(kept) is None and stale.exists()
    assert engine.make(kept._replace(remove_unkept=True)) is None and not stale.exists()


def test_a_delta_against_an_earlier_version(tmp_path):
    old = tmp_path / "old.css"
    old.write_bytes(TEXT)
    new = TEXT.replace(b".c1000 ", b".changed ")
    dest = tmp_path / "new.css.dcz"
    size = engine.make(engine.Task("dcz", new, (str(dest),), dictionary=str(old)))
    assert size is not None and size < len(zstandard.compress(new))
    assert undo(TEXT, dest.read_bytes()) == new


def test_run_reports_each_task_and_its_error(tmp_path):
    source = tmp_path / "a.css"
    source.write_bytes(TEXT)
    work = [
        ("good", engine.Task("gzip", str(source))),
        ("gone", engine.Task("gzip", str(tmp_path / "missing.css"))),
    ]
    for jobs in (1, 2):
        seen: dict = {}

        def done(n, key, size, error, seen=seen):
            seen[key] = (size, error)

        engine.run(work, jobs, done)
        assert seen["good"][0] is not None and seen["good"][1] is None
        assert seen["gone"][0] is None and isinstance(seen["gone"][1], FileNotFoundError)


def test_the_heaviest_tasks_go_first():
    """Large brotli work is started before small and cheap work, so that it does not end
    the run on one worker while the others stand idle."""
    sizes = {"small css": 2_000, "large js": 300_000, "medium svg": 40_000}
    work = [
        (f"{name} {codec}", engine.Task(codec, TEXT, weight=engine.weight(codec, size)))
        for name, size in sizes.items()
        for codec in ("gzip", "br")
    ]
    order: list[str] = []
    engine.run(work, 1, lambda n, key, size, error: order.append(key))
    assert order == [
        "large js br", "medium svg br", "large js gzip", "small css br",
        "medium svg gzip", "small css gzip",
    ]  # fmt: skip
    assert engine.weight("br", 10) > engine.weight("zstd", 10) > engine.weight("gzip", 10)


def test_file_digest_reads_in_blocks(tmp_path):
    data = os.urandom(3 * (1 << 20) + 5)
    (tmp_path / "big").write_bytes(data)
    assert engine.file_digest(str(tmp_path / "big")) == hashlib.sha256(data).hexdigest()


WORKERS_THAT_HANG = """
import os, sys, time
from staticmw.build import workers as engine

def hang(task):
    os.write(1, b"%d\\n" % os.getpid())  # one write: lines of two workers never mix
    time.sleep(600)

engine.make = hang
engine.run([(n, engine.Task("gzip", b"x")) for n in range(4)], 2, lambda *done: None)
"""


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_workers_end_with_the_build_however_it_ends(how):
    """A build stopped by ``timeout``, ``docker stop`` or a cancelled job (SIGTERM), or
    killed outright, leaves none of its worker processes behind."""
    parent = subprocess.Popen(
        [sys.executable, "-c", WORKERS_THAT_HANG], stdout=subprocess.PIPE, text=True
    )
    workers: list[int] = []
    try:
        ready, _, _ = select.select([parent.stdout], [], [], 120)
        if not ready:
            pytest.skip("no worker started within 120 s on this machine: nothing to prove")
        workers.append(int(parent.stdout.readline()))
        workers += [pid for pid in children_of(parent.pid) if pid not in workers]
        assert workers and all(alive(pid) for pid in workers)
        parent.send_signal(how)
        parent.wait(60)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        parent.stdout.close()
    assert still_alive_after(workers, 30) == []
