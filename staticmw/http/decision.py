"""The response decision, free of I/O: request method and headers plus a file's metadata in,
status, headers and body spans out. The core opens files; the adapters copy bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import quote

from . import conditional, ranges
from .messages import Plan
from .request import (
    IF_MATCH,
    IF_MODIFIED_SINCE,
    IF_NONE_MATCH,
    IF_RANGE,
    IF_UNMODIFIED_SINCE,
    RANGE,
    Getter,
    Request,
)

if TYPE_CHECKING:
    from ..serve.bodies import BodyPart
    from ..serve.representations import Representation

ALLOWED_METHODS = ("GET", "HEAD")
ALLOW = "GET, HEAD"

# Headers a 412 or 416 keeps so the client can recover (§15.5.13, §15.5.17).
_ERROR_KEEP = frozenset(
    {"etag", "last-modified", "vary", "access-control-allow-origin", "x-content-type-options"}
)
_SINGLE_RANGE_DROP = frozenset({"content-length"})
_MULTIPART_DROP = frozenset({"content-length", "content-type"})

METHOD_NOT_ALLOWED_BODY = b"405 Method Not Allowed\n"
UNAVAILABLE_BODY = b"503 Service Unavailable\n"


def _without(headers: Sequence[tuple[str, str]], names: frozenset[str]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers if k.lower() not in names]


def _only(headers: Sequence[tuple[str, str]], names: frozenset[str]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers if k.lower() in names]


def method_not_allowed() -> Plan:
    """§15.5.6: 405 with the Allow field the origin must send (§10.2.1)."""
    headers = [
        ("Allow", ALLOW),
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(METHOD_NOT_ALLOWED_BODY))),
    ]
    return Plan(405, headers, [METHOD_NOT_ALLOWED_BODY])


def service_unavailable() -> Plan:
    """§15.6.4: the server is out of descriptors or memory; never stored by a cache."""
    headers = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(UNAVAILABLE_BODY))),
        ("Cache-Control", "no-store"),
        ("Retry-After", "1"),
    ]
    return Plan(503, headers, [UNAVAILABLE_BODY])


def redirect_to_directory(last_segment: str, query: str, max_age: int | None) -> Plan:
    """301 to the same path with a trailing slash, as a relative reference.

    Relative, so it is right under any SCRIPT_NAME mount; the segment is
    percent-encoded, so the value can never start with ``//`` or carry CR/LF.
    """
    location = quote(last_segment, safe="!$&'()*+,;=@") + "/"
    if query:
        # The query is latin-1 text standing for the raw bytes (PEP 3333 form).
        raw = query.encode("latin-1", "replace")
        location += "?" + quote(raw, safe="!$&'()*+,;=:@/?%")
    headers = [("Location", location), ("Content-Length", "0")]
    if max_age is not None:
        headers.append(("Cache-Control", f"public, max-age={max_age}"))
    return Plan(301, headers, [])


def respond(method: str, rep: Representation, get: Getter) -> Plan:
    """Decide the response for a request of a selected representation.

    *get* reads the request's header values (:mod:`staticmw.http.request`).
    HEAD gets exactly GET's status and headers; the caller drops the body.
    """
    if method not in ALLOWED_METHODS:
        return method_not_allowed()
    if_none_match = get(IF_NONE_MATCH)
    if_match = get(IF_MATCH)
    if_unmodified_since = get(IF_UNMODIFIED_SINCE)
    if_modified_since = get(IF_MODIFIED_SINCE)
    range_value = get(RANGE)
    if (
        if_none_match is None
        and if_match is None
        and if_unmodified_since is None
        and if_modified_since is None
        and range_value is None
    ):
        return rep.plan_200 or rep.make_200()

    conditions = conditional.Conditions(
        if_match, if_unmodified_since, if_none_match, if_modified_since
    )
    stop = conditional.evaluate(method, rep.etag, rep.last_modified, conditions)
    if stop == conditional.NOT_MODIFIED:
        return rep.plan_304 or rep.make_304()
    if stop == conditional.PRECONDITION_FAILED:
        return Plan(412, [*_only(rep.headers, _ERROR_KEEP), ("Content-Length", "0")], [])

    # §13.2.2 step 5: a Range under a failing If-Range is ignored (200).
    if_range = get(IF_RANGE)
    if range_value is not None and (
        if_range is None
        or conditional.if_range_holds(
            if_range, rep.etag, rep.last_modified, rep.last_modified_strong
        )
    ):
        spans = ranges.parse_range(range_value, rep.size)
        if spans is ranges.UNSATISFIABLE:
            return _unsatisfiable(rep)
        if spans:
            return _partial(rep, spans)  # type: ignore[arg-type]
    return rep.plan_200 or rep.make_200()


def decide(request: Request, rep: Representation) -> Plan:
    """:func:`respond` for a :class:`~staticmw.http.request.Request`."""
    return respond(request.method, rep, request.get)


def _unsatisfiable(rep: Representation) -> Plan:
    """§15.5.17: 416 with ``Content-Range: bytes */length``, never multipart."""
    headers = _only(rep.headers, _ERROR_KEEP)
    headers += [
        ("Content-Range", f"bytes */{rep.size}"),
        ("Accept-Ranges", "bytes"),
        ("Content-Length", "0"),
    ]
    return Plan(416, headers, [])


def boundary_for(etag: str) -> str:
    """A multipart boundary derived from the ETag, so HEAD and GET headers agree."""
    return "staticmw-" + hashlib.sha256(etag.encode("latin-1", "replace")).hexdigest()[:32]


def _partial(rep: Representation, spans: list[tuple[int, int]]) -> Plan:
    size = rep.size
    if len(spans) == 1:
        # §15.3.7.1: one part, described by Content-Range.
        first, last = spans[0]
        headers = _without(rep.headers, _SINGLE_RANGE_DROP)
        headers += [
            ("Content-Range", f"bytes {first}-{last}/{size}"),
            ("Content-Length", str(last - first + 1)),
        ]
        return Plan(206, headers, [(first, last - first + 1)])
    # §15.3.7.2 / §14.6: multipart/byteranges, each part with its own headers.
    boundary = boundary_for(rep.etag)
    content_type = next((v for k, v in rep.headers if k.lower() == "content-type"), None)
    body: list[BodyPart] = []
    length = 0
    for index, (first, last) in enumerate(spans):
        lines = "" if index == 0 else "\r\n"
        lines += f"--{boundary}\r\n"
        if content_type:
            lines += f"Content-Type: {content_type}\r\n"
        lines += f"Content-Range: bytes {first}-{last}/{size}\r\n\r\n"
        head = lines.encode("latin-1")
        body += [head, (first, last - first + 1)]
        length += len(head) + last - first + 1
    tail = f"\r\n--{boundary}--\r\n".encode("latin-1")
    body.append(tail)
    length += len(tail)
    headers = _without(rep.headers, _MULTIPART_DROP)
    headers += [
        ("Content-Type", f"multipart/byteranges; boundary={boundary}"),
        ("Content-Length", str(length)),
    ]
    return Plan(206, headers, body)


def materialize(parts: Sequence[BodyPart], content: bytes) -> bytes:
    """The body bytes of a plan, for a file whose *content* is already in memory."""
    if len(parts) == 1 and parts[0] == (0, len(content)):
        return content
    pieces = []
    for part in parts:
        if isinstance(part, bytes):
            pieces.append(part)
        else:
            offset, length = part
            pieces.append(content[offset : offset + length])
    return b"".join(pieces)
