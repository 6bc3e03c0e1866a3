"""Precompression in place: build's rules, and nothing redone for unchanged files."""

from __future__ import annotations

import gzip
import json

from staticmw.build import precompress

from ..helpers import write

CSS = b"body { color: #123456; margin: 0 auto; }\n" * 200


def test_rules_and_the_record(tmp_path):
    write(tmp_path / "a.css", CSS)
    write(tmp_path / "tiny.js", b"x")
    write(tmp_path / "photo.png", b"\x89PNG" + bytes(3000))
    result = precompress.precompress(str(tmp_path), ["a.css", "tiny.js", "photo.png"], ["gzip"])
    assert gzip.decompress((tmp_path / "a.css.gz").read_bytes()) == CSS
    assert not (tmp_path / "tiny.js.gz").exists()  # would not save 5%
    assert not (tmp_path / "photo.png.gz").exists()  # already compressed media
    assert (result.compressed, result.skipped, result.errors) == (1, 1, [])
    record = json.loads((tmp_path / precompress.RECORD).read_text())
    assert record["a.css"]["kept"] == ["gzip"] and record["tiny.js"]["kept"] == []


def test_only_changed_or_missing_variants_are_redone(tmp_path):
    write(tmp_path / "a.css", CSS)
    write(tmp_path / "b.css", CSS + b"/* b */\n")
    precompress.precompress(str(tmp_path), ["a.css", "b.css"], ["gzip"])
    again = precompress.precompress(str(tmp_path), ["a.css", "b.css"], ["gzip"])
    assert (again.compressed, again.unchanged) == (0, 2)
    write(tmp_path / "b.css", CSS + b"/* edited */\n")
    (tmp_path / "a.css.gz").unlink()
    third = precompress.precompress(str(tmp_path), ["a.css", "b.css"], ["gzip"])
    assert (third.compressed, third.unchanged) == (2, 0)
    assert gzip.decompress((tmp_path / "b.css.gz").read_bytes()).endswith(b"/* edited */\n")
    # A new codec is a change too.
    fourth = precompress.precompress(str(tmp_path), ["a.css"], ["gzip", "zstd"])
    assert fourth.compressed == 2 and (tmp_path / "a.css.zst").is_file()


def test_an_unreadable_name_is_reported_not_raised(tmp_path):
    result = precompress.precompress(str(tmp_path), ["missing.css"], ["gzip"])
    assert result.errors and result.errors[0].startswith("missing.css: cannot read")


def test_identical_files_share_one_compression(tmp_path):
    write(tmp_path / "a.css", CSS)
    write(tmp_path / "a.0123456789ab.css", CSS)  # a hashed copy with the same bytes
    result = precompress.precompress(str(tmp_path), ["a.css", "a.0123456789ab.css"], ["gzip"])
    assert result.compressed == 2
    first = (tmp_path / "a.css.gz").read_bytes()
    assert first == (tmp_path / "a.0123456789ab.css.gz").read_bytes()
    assert gzip.decompress(first) == CSS
