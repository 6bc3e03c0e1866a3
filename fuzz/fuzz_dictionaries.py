"""Fuzz the compression-dictionary header fields (RFC 9842) and the choice of a delta.

Run: python fuzz/fuzz_dictionaries.py fuzz/work/dictionaries fuzz/corpus/dictionaries \
    -max_total_time=60
Input: header values separated by newlines, in the order of FIELDS below, then a file name.
"""

from __future__ import annotations

import base64
import hashlib
import os
import sys

import atheris

with atheris.instrument_imports():
    from staticmw.http import dictionaries, encodings
    from staticmw.http.request import Request
    from staticmw.serve.core import StaticFiles
    from staticmw.serve.representations import Representation, Resource, vary_header

FIELDS = ("accept_encoding", "available_dictionary", "sec_fetch_site", "sec_fetch_mode", "origin")
DIGEST = hashlib.sha256(b"version one").digest()
STATIC = StaticFiles()


def _rep(coding: str, size: int) -> Representation:
    return Representation(os.devnull, coding, size, 10**18, f'"x-{coding}"', None, False, ())


RESOURCE = Resource(
    "/static/app.js",
    "text/javascript",
    None,
    (_rep("identity", 1000), _rep("br", 300), _rep("gzip", 350), _rep("dcz", 40)),
    None,
    (DIGEST,),
    vary_header(3, deltas=True),
)


def TestOneInput(data: bytes) -> None:
    text = data.decode("latin-1")
    values = text.split("\n")
    fields = {name: value for name, value in zip(FIELDS, values, strict=False)}

    for value in (text, fields.get("available_dictionary")):
        digest = dictionaries.parse_available_dictionary(value)
        if digest is not None:
            if len(digest) != 32:
                raise AssertionError(f"a hash of {len(digest)} bytes from {value!r}")
            again = dictionaries.parse_available_dictionary(
                f":{base64.b64encode(digest).decode()}:"
            )
            if again != digest:
                raise AssertionError("a parsed hash does not round-trip")

    name = values[-1]
    header = dictionaries.use_as_dictionary(name)
    if header is not None:
        if not (header.startswith('match="') and header.endswith('"')):
            raise AssertionError(f"not a structured-field string: {header!r}")
        if any(not 0x20 <= ord(c) <= 0x7E for c in header):
            raise AssertionError(f"not printable ASCII: {header!r}")
    parsed = dictionaries.parse_sf_string(text)
    if (
        parsed is not None
        and dictionaries.parse_sf_string(dictionaries.sf_string(parsed)) != parsed
    ):
        raise AssertionError(f"a string that does not round-trip: {parsed!r}")
    if header is not None:
        match = dictionaries.parse_sf_string(header[len("match=") :])
        if match != dictionaries.match_pattern(name):
            raise AssertionError(f"{header!r} does not parse back to its pattern")
    original = dictionaries.delta_original(name)
    if original is not None and not name.startswith(original):
        raise AssertionError(f"{name!r} is no delta of {original!r}")

    request = Request("GET", "/static/app.js", **fields)
    index = STATIC.select(RESOURCE, request)
    chosen = RESOURCE.representations[index].coding
    if chosen == "dcz":
        # Only for the dictionary the delta was made against, and only when dcz is acceptable.
        if dictionaries.parse_available_dictionary(request.available_dictionary) != DIGEST:
            raise AssertionError("a delta for another dictionary")
        if not encodings.quality(
            "dcz", encodings.parse_accept_encoding(request.accept_encoding or "")
        ):
            raise AssertionError("a delta to a client that refused dcz")
    dictionaries.allowed(
        fields.get("sec_fetch_site"), fields.get("sec_fetch_mode"), fields.get("origin"), "*"
    )


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
