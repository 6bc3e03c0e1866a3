from __future__ import annotations

import builtins
import gzip
import os
import random

import brotli
import pytest
import zstandard

from staticmw.build import compress
from staticmw.http import encodings


def sample(size: int, seed: int = 1) -> bytes:
    """Compressible but not trivial: random words."""
    rng = random.Random(seed)
    words = [bytes(rng.choices(b"abcdefghijklmnop", k=rng.randint(2, 9))) for _ in range(500)]
    out = bytearray()
    while len(out) < size:
        out += rng.choice(words) + b" "
    return bytes(out[:size])


@pytest.mark.parametrize("codec", compress.ALL_CODECS)
def test_round_trip_and_reproducible(codec):
    data = sample(200_000)
    packed = compress.compressor(codec)(data)
    assert packed == compress.compressor(codec)(data), "same input, same bytes"
    assert len(packed) < len(data) * compress.KEEP_RATIO
    decoded = {
        "gzip": gzip.decompress,
        "br": brotli.decompress,
        "zstd": lambda b: zstandard.ZstdDecompressor().decompress(b),
    }[codec](packed)
    assert decoded == data


def test_gzip_header_has_no_timestamp_or_name():
    packed = compress.gzip_compress(b"hello " * 100)
    assert packed[:3] == b"\x1f\x8b\x08"
    flags, mtime = packed[3], packed[4:8]
    assert flags & 0x08 == 0, "no FNAME field"
    assert mtime == b"\x00\x00\x00\x00"


def test_zstd_window_fits_rfc_9659():
    # Larger than 8 MiB with long-distance repeats, which a bigger window would exploit.
    block = os.urandom(3 * 1024 * 1024)
    data = block + sample(4 * 1024 * 1024) + block + block
    packed = compress.compressor("zstd")(data)
    params = zstandard.get_frame_parameters(packed)
    assert params.window_size <= 8 * 1024 * 1024
    assert params.has_checksum
    limited = zstandard.ZstdDecompressor(max_window_size=8 * 1024 * 1024)
    assert limited.decompressobj().decompress(packed) == data


def test_missing_library_names_the_extra(monkeypatch):
    real_import = builtins.__import__

    def no_brotli(name, *args, **kwargs):
        if name in ("brotli", "zstandard"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_brotli)
    with pytest.raises(compress.CodecUnavailable, match=r"staticmw\[brotli\]"):
        compress.compressor("br")
    with pytest.raises(compress.CodecUnavailable, match=r"staticmw\[zstd\]"):
        compress.compressor("zstd")
    assert compress.available() == ["gzip"]
    with pytest.raises(ValueError, match="unknown codec"):
        compress.compressor("lzma")


@pytest.mark.parametrize(
    ("media_type", "worth"),
    [
        ("text/css", True),
        ("text/javascript", True),
        ("image/svg+xml", True),
        ("application/json", True),
        ("application/wasm", True),
        ("image/png", False),
        ("image/avif", False),
        ("font/woff2", False),
        ("font/woff", False),
        ("font/ttf", True),
        ("video/mp4", False),
        ("audio/mpeg", False),
        ("application/zip", False),
        ("application/gzip", False),
    ],
)
def test_worth_compressing(media_type, worth):
    assert encodings.worth_compressing(media_type) is worth


def test_codec_list_as_cli_and_flask_read_it():
    assert compress.parse_codec_list(None) is None
    assert compress.parse_codec_list("none") == []
    assert compress.parse_codec_list(" gzip, br ,,zstd") == ["gzip", "br", "zstd"]
    assert compress.parse_codec_list("gzip,none") == ["gzip"]
