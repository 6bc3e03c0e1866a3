"""Making and undoing ``dcz`` deltas (RFC 9842): build-side zstd beside
:mod:`staticmw.build.compress`.

Serving needs none of this: it sends the files the build made, framed as
:mod:`staticmw.http.dictionaries` describes.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from ..http.dictionaries import DCZ_HEADER_SIZE, DCZ_MAGIC, frame
from . import compress

if TYPE_CHECKING:
    import zstandard


def _raw_dictionary(dictionary: bytes) -> zstandard.ZstdCompressionDict:
    import zstandard

    return zstandard.ZstdCompressionDict(dictionary, dict_type=zstandard.DICT_TYPE_RAWCONTENT)


def delta(dictionary: bytes, content: bytes) -> bytes:
    """*content* as a ``dcz`` body against *dictionary* (a raw-content zstd dictionary)."""
    import zstandard

    params = compress.zstd_parameters(len(content))
    compressor = zstandard.ZstdCompressor(
        dict_data=_raw_dictionary(dictionary), compression_params=params
    )
    stream = compressor.compress(content)
    return frame(hashlib.sha256(dictionary).digest(), bytes(stream))


def undo(dictionary: bytes, body: bytes) -> bytes:
    """The content a ``dcz`` body stands for, checked against *dictionary* (for tests and
    ``staticmw check``); ``ValueError`` when the header does not name this dictionary."""
    import zstandard

    if body[: len(DCZ_MAGIC)] != DCZ_MAGIC:
        raise ValueError("not a dcz body: wrong magic number")
    if body[len(DCZ_MAGIC) : DCZ_HEADER_SIZE] != hashlib.sha256(dictionary).digest():
        raise ValueError("the dcz body names another dictionary")
    decompressor = zstandard.ZstdDecompressor(
        dict_data=_raw_dictionary(dictionary),
        max_window_size=1 << compress.ZSTD_MAX_WINDOW_LOG,
    )
    return bytes(decompressor.decompress(body[DCZ_HEADER_SIZE:]))
