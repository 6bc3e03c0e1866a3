"""Precompression for the build step: reproducible gzip, brotli and zstd (RFC 9659 window)."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from typing import Any

from ..http.encodings import CODINGS

# From the one table of codings (:data:`staticmw.http.encodings.CODINGS`): the optional extra
# each needs, and every codec the build can write.
EXTRAS = {coding.name: coding.extra for coding in CODINGS if coding.extra}
ALL_CODECS = tuple(coding.name for coding in CODINGS)

GZIP_LEVEL = 9
BROTLI_QUALITY = 11
ZSTD_LEVEL = 19
# RFC 9659 §3: the "zstd" content coding must not need a window above 8 MiB.
ZSTD_MAX_WINDOW_LOG = 23

# A variant is kept only when it is at most this fraction of the original.
KEEP_RATIO = 0.95


class CodecUnavailable(RuntimeError):
    """A requested codec whose library is not installed."""


def gzip_compress(data: bytes) -> bytes:
    """gzip level 9 with no timestamp or file name in the header: same input, same bytes."""
    return gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)


def _brotli() -> Callable[[bytes], bytes]:
    try:
        import brotli  # type: ignore[import-untyped, unused-ignore]
    except ImportError:
        raise CodecUnavailable(
            "brotli compression needs the 'brotli' package: pip install 'staticmw[brotli]'"
        ) from None

    def compress(data: bytes) -> bytes:
        return bytes(brotli.compress(data, quality=BROTLI_QUALITY))

    return compress


def _zstd() -> Callable[[bytes], bytes]:
    try:
        import zstandard
    except ImportError:
        raise CodecUnavailable(
            "zstd compression needs the 'zstandard' package: pip install 'staticmw[zstd]'"
        ) from None

    def compress(data: bytes) -> bytes:
        params = zstd_parameters(len(data))
        return bytes(zstandard.ZstdCompressor(compression_params=params).compress(data))

    return compress


def zstd_parameters(size: int) -> Any:
    """zstd's settings for *size* bytes: level 19, the window at most 8 MiB (RFC 9659, and
    RFC 9842 for ``dcz``), with a checksum and the content size in the frame."""
    import zstandard

    make = zstandard.ZstdCompressionParameters.from_level
    window_log = min(make(ZSTD_LEVEL, source_size=size).window_log, ZSTD_MAX_WINDOW_LOG)
    return make(
        ZSTD_LEVEL, source_size=size, window_log=window_log, write_checksum=1, write_content_size=1
    )


def worth_keeping(packed: int, original: int) -> bool:
    """Whether a variant of *packed* bytes is worth keeping beside *original* bytes."""
    return packed <= original * KEEP_RATIO


def compressor(codec: str) -> Callable[[bytes], bytes]:
    """The compression function for a coding name; :class:`CodecUnavailable` if not installed."""
    if codec == "gzip":
        return gzip_compress
    if codec == "br":
        return _brotli()
    if codec == "zstd":
        return _zstd()
    raise ValueError(f"unknown codec {codec!r}; choose from {', '.join(ALL_CODECS)}")


def variant(codec: str, data: bytes) -> bytes | None:
    """*data* compressed with *codec*, or ``None`` when that would not be worth keeping."""
    packed = compressor(codec)(data)
    return packed if worth_keeping(len(packed), len(data)) else None


def parse_codec_list(text: str | None) -> list[str] | None:
    """A ``--codecs`` value: ``"gzip, br"`` -> ``["gzip", "br"]``, ``"none"`` -> ``[]``, and
    ``None`` (not given) -> ``None``, every installed codec. Unknown names are the build's
    to report."""
    if text is None:
        return None
    names = [name.strip() for name in text.split(",")]
    return [name for name in names if name and name != "none"]


def available() -> list[str]:
    """The codecs whose libraries are installed, in preference order."""
    found = []
    for codec in ALL_CODECS:
        try:
            compressor(codec)
        except CodecUnavailable:
            continue
        found.append(codec)
    return found
