"""Fuzz the request-header parsers and the response decision built on them.

Run: python fuzz/fuzz_headers.py fuzz/work/headers fuzz/corpus/headers -max_total_time=60
Input: header values separated by newlines, in the order of FIELDS below.
"""

from __future__ import annotations

import os
import sys

import atheris

with atheris.instrument_imports():
    from staticmw.http import conditional, decision, encodings, etags, ranges
    from staticmw.http.request import Request
    from staticmw.serve.representations import Representation

FIELDS = (
    "range",
    "accept_encoding",
    "if_none_match",
    "if_match",
    "if_modified_since",
    "if_unmodified_since",
    "if_range",
)
SIZE = 1000
REP = Representation(
    path=os.devnull,
    coding="identity",
    size=SIZE,
    mtime_ns=784111777 * 10**9,
    etag='"2b8a3a1a3a0-3e8"',
    last_modified=784111777,
    last_modified_strong=True,
    headers=[
        ("Content-Type", "text/plain"),
        ("Content-Length", str(SIZE)),
        ("ETag", '"2b8a3a1a3a0-3e8"'),
    ],
)
AVAILABLE = [("identity", SIZE), ("br", 300), ("zstd", 320), ("gzip", 350)]
STATUSES = {200, 206, 304, 412, 416}


def _check_spans(spans, size: int) -> None:
    previous_end = None
    for first, last in sorted(spans):
        if not 0 <= first <= last < size:
            raise AssertionError(f"span out of bounds: {(first, last)} for size {size}")
        if previous_end is not None and first <= previous_end:
            raise AssertionError(f"overlapping spans: {spans}")
        previous_end = last


def TestOneInput(data: bytes) -> None:
    text = data.decode("latin-1")
    values = text.split("\n")
    fields = {name: value for name, value in zip(FIELDS, values, strict=False) if value}

    for size in (0, 1, SIZE):
        result = ranges.parse_range(text, size)
        if isinstance(result, list):
            _check_spans(result, size)

    prefs = encodings.parse_accept_encoding(text)
    index = encodings.choose(AVAILABLE, fields.get("accept_encoding", text))
    coding = AVAILABLE[index][0]
    if coding != "identity":
        q = encodings.quality(
            coding, encodings.parse_accept_encoding(fields.get("accept_encoding", text))
        )
        if not q:
            raise AssertionError(f"chose refused coding {coding!r}")
    del prefs

    etags.scan(text)
    conditional.parse_http_date(text)
    conditional.if_range_holds(text, REP.etag, REP.last_modified, True)

    for method in ("GET", "HEAD"):
        plan = decision.decide(Request(method, "/", **fields), REP)
        if plan.status not in STATUSES:
            raise AssertionError(f"unexpected status {plan.status}")
        if plan.status == 206 and len(plan.body) == 1:
            _check_spans([(plan.body[0][0], plan.body[0][0] + plan.body[0][1] - 1)], SIZE)
        declared = dict((k.lower(), v) for k, v in plan.headers).get("content-length")
        if declared is not None and plan.body is not None:
            actual = sum(len(p) if isinstance(p, bytes) else p[1] for p in plan.body)
            if int(declared) != actual:
                raise AssertionError(f"Content-Length {declared} but body {actual}")


def main() -> None:
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
