"""The build and ``staticmw compress`` while their trees change underneath: a directory
swapped for a link to outside, at a chosen moment or by another process as fast as it can,
never lets an outside byte into an output and never sends a write outside."""

from __future__ import annotations

import gzip
import os
import shutil
import time
from pathlib import Path

import brotli
import pytest
import zstandard

from staticmw.build import pipeline, precompress, tree
from staticmw.build.pipeline import BuildConfig

from ..helpers import write
from ..serve.test_races import CAP_SECONDS, MARK, MIN_SWAPS, SECONDS, Flipper

CSS = b"body { color: #123456 }\n" * 200
JS = b"export const value = 1;\n" * 200


def outside_tree(base: Path) -> Path:
    """Files outside every root, under the names the roots use, full of the mark."""
    outside = base / "outside"
    for name in ("d/app.css", "d/app.js", "d/other.css"):
        write(outside / name, MARK * 600)
    return outside


def snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }


def decoded(path: Path) -> bytes:
    data = path.read_bytes()
    if path.suffix == ".gz":
        return gzip.decompress(data)
    if path.suffix == ".br":
        return brotli.decompress(data)
    if path.suffix == ".zst":
        return zstandard.ZstdDecompressor().decompress(data, max_output_size=1 << 24)
    return data


def assert_no_outside_byte(directory: Path) -> None:
    for path in directory.rglob("*"):
        if path.is_file() and not path.is_symlink() and path.suffix != ".dcz":
            assert MARK not in decoded(path), f"{path} holds bytes from outside"


def sources(base: Path) -> Path:
    src = base / "src"
    write(src / "d" / "app.css", CSS)
    write(src / "d" / "app.js", JS)
    write(src / "d" / "other.css", CSS + b"/* other */\n")
    return src


def config(src: Path, out: Path) -> BuildConfig:
    return BuildConfig(sources=[str(src)], out=str(out), codecs=["gzip", "br", "zstd"], jobs=1)


def swap_for_link(directory: Path, target: Path) -> None:
    directory.rename(directory.with_name(directory.name + ".away"))
    directory.symlink_to(target, target_is_directory=True)


# -- a swap at the worst moment -------------------------------------------------------


def test_a_source_directory_swapped_between_the_walk_and_the_open(tmp_path, monkeypatch):
    src, outside = sources(tmp_path), outside_tree(tmp_path)
    out = tmp_path / "out"
    real_collect = pipeline.collect

    def collect_then_swap(*args, **kwargs):
        found = real_collect(*args, **kwargs)
        swap_for_link(src / "d", outside / "d")
        return found

    monkeypatch.setattr(pipeline, "collect", collect_then_swap)
    report = pipeline.build(config(src, out))
    assert any("d/app.css" in error and "cannot read" in error for error in report.errors)
    assert not out.exists() or not snapshot(out).get("d/app.css")
    if out.exists():
        assert_no_outside_byte(out)


def test_a_link_inside_the_source_retargeted_outside_before_the_open(tmp_path, monkeypatch):
    """The other way round: a link the walk saw leading inside the source leads outside by
    the time the file is opened; it is not followed there."""
    src, outside = sources(tmp_path), outside_tree(tmp_path)
    (src / "alias.css").symlink_to(src / "d" / "app.css")
    out = tmp_path / "out"
    real_collect = pipeline.collect

    def collect_then_retarget(*args, **kwargs):
        found = real_collect(*args, **kwargs)
        assert "alias.css" in found
        (src / "alias.css").unlink()
        (src / "alias.css").symlink_to(outside / "d" / "app.css")
        return found

    monkeypatch.setattr(pipeline, "collect", collect_then_retarget)
    report = pipeline.build(config(src, out))
    assert any("alias.css" in error for error in report.errors)
    if out.exists():
        assert_no_outside_byte(out)


@pytest.mark.parametrize("moment", ["write", "read"])
def test_an_output_directory_swapped_as_it_is_opened(tmp_path, monkeypatch, moment):
    """Between the check of one component and its open, the output's folder becomes a link
    to outside: the write (or the read of an output to compress) fails, outside untouched."""
    src, outside = sources(tmp_path), outside_tree(tmp_path)
    out = tmp_path / "out"
    if moment == "read":
        assert pipeline.build(config(src, out)).ok
        for name in snapshot(out / "d"):  # outside, an impostor under every output's name
            write(outside / "d" / name, MARK * 600)
        for variant in out.rglob("*.gz"):
            variant.unlink()
        (src / "d" / "app.css").write_bytes(CSS + b"/* changed */\n")
    before = snapshot(outside)
    swapped = []

    def hook(root: str, part: str) -> None:
        if root == str(out) and part == "d" and (out / "d").is_dir() and not swapped:
            swapped.append(part)
            swap_for_link(out / "d", outside / "d")

    monkeypatch.setattr(tree, "before_open", hook)
    report = pipeline.build(config(src, out))
    assert swapped and not report.ok
    assert snapshot(outside) == before
    (out / "d").unlink()
    (out / "d.away").rename(out / "d")
    assert_no_outside_byte(out)


def test_compress_with_a_directory_swapped_as_it_is_opened(tmp_path, monkeypatch):
    folder = tmp_path / "site"
    write(folder / "d" / "app.css", CSS)
    write(folder / "d" / "other.css", CSS + b"/* other */\n")
    outside = outside_tree(tmp_path)
    before = snapshot(outside)
    swapped = []

    def hook(root: str, part: str) -> None:
        if root == str(folder) and part == "d" and (folder / "d").is_dir() and not swapped:
            swapped.append(part)
            swap_for_link(folder / "d", outside / "d")

    monkeypatch.setattr(tree, "before_open", hook)
    names = precompress.files_to_compress(str(folder))
    result = precompress.precompress(str(folder), names, ["gzip", "br"], jobs=1)
    assert swapped and result.errors
    assert snapshot(outside) == before
    (folder / "d").unlink()
    (folder / "d.away").rename(folder / "d")
    assert_no_outside_byte(folder)


# -- another process swapping as fast as it can ------------------------------------------


def _race(flipper: Flipper, attempt) -> int:
    """Run *attempt* over and over while *flipper* swaps; how many runs. Skips when the
    tree changed too little to prove anything."""
    started = time.monotonic()
    runs = 0
    try:
        while True:
            attempt()
            runs += 1
            elapsed = time.monotonic() - started
            if elapsed >= SECONDS and flipper.swaps_so_far() >= MIN_SWAPS:
                break
            if elapsed >= CAP_SECONDS:
                break
    finally:
        swaps = flipper.stop()
    if swaps < MIN_SWAPS or runs < 3:
        pytest.skip(f"only {swaps} swaps over {runs} runs on this machine: nothing proven")
    return runs


def test_builds_racing_a_source_swapper(tmp_path):
    src, outside = sources(tmp_path), outside_tree(tmp_path)
    out = tmp_path / "out"
    flipper = Flipper(src / "d", outside / "d", CAP_SECONDS + 5)

    def attempt() -> None:
        shutil.rmtree(out, ignore_errors=True)
        pipeline.build(config(src, out))
        assert_no_outside_byte(out)

    _race(flipper, attempt)


@pytest.mark.parametrize("what", ["build", "compress"])
def test_writes_racing_an_output_swapper(tmp_path, what):
    """The output's folder trades places with a link to outside again and again (never
    missing, so no writer makes it anew): nothing is written outside, and no outside byte
    is read into a variant."""
    src, outside = sources(tmp_path), outside_tree(tmp_path)
    out = tmp_path / "out"
    assert pipeline.build(config(src, out)).ok
    before = snapshot(outside)
    flipper = Flipper(out / "d", outside / "d", CAP_SECONDS + 5, "--exchange")
    count = [0]

    def attempt() -> None:
        count[0] += 1
        (src / "d" / "app.css").write_bytes(CSS + b"/* %d */\n" % count[0])
        if what == "build":
            pipeline.build(config(src, out))
        else:
            names = [f"d/{name}" for name in ("app.css", "other.css")]
            precompress.precompress(str(out), names, ["gzip", "br"], jobs=1)
        assert snapshot(outside) == before, "written outside"

    _race(flipper, attempt)
    if (out / "d").is_symlink():
        (out / "d").unlink()
    assert_no_outside_byte(out)
    assert snapshot(outside) == before
    os.unlink(out / "d.link")
