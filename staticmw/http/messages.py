"""What to send, decided but not yet sent: a status, headers and body parts.

Below everything: the representations (:mod:`staticmw.serve.representations`) keep their
ready 200 and 304 plans and answers, and the decision (:mod:`staticmw.http.decision`) makes
the others, without importing each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from ..serve.bodies import BodyPart, FileBody

__all__ = ["Answer", "Body", "Plan"]

_STATUS = {
    200: "200 OK",
    206: "206 Partial Content",
    301: "301 Moved Permanently",
    304: "304 Not Modified",
    405: "405 Method Not Allowed",
    412: "412 Precondition Failed",
    416: "416 Range Not Satisfiable",
    503: "503 Service Unavailable",
}


class Plan:
    """What to send: a status line, header list, and body parts (``None`` for no body)."""

    __slots__ = ("_raw_headers", "body", "headers", "status", "status_line")

    def __init__(
        self, status: int, headers: Sequence[tuple[str, str]], body: Sequence[BodyPart] | None
    ):
        self.status = status
        self.status_line = _STATUS[status]
        self.headers = headers
        self.body = body
        self._raw_headers: list[tuple[bytes, bytes]] | None = None

    @property
    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        """The headers as ASGI sends them (lower-case names, latin-1 bytes); made once per plan.

        The 200 and 304 plans of a representation are shared, so a file served
        again reuses its encoded headers.
        """
        raw = self._raw_headers
        if raw is None:
            raw = self._raw_headers = [
                (name.lower().encode("latin-1"), value.encode("latin-1"))
                for name, value in self.headers
            ]
        return raw

    def __repr__(self) -> str:
        return f"Plan({self.status}, {self.headers!r}, {self.body!r})"


# An answer's body: bytes held in memory, or a file still to be read (the adapter sends
# it, or closes it).
Body: TypeAlias = "Sequence[bytes] | FileBody"


class Answer(tuple[Plan, Body]):
    """What the core answers: ``(plan, body)``, also read as ``.plan`` and ``.body``.

    A plain tuple underneath, made by ``Answer((plan, body))``: this is built on the
    hottest path, where a named tuple's constructor costs several times more.
    """

    __slots__ = ()

    plan = property(itemgetter(0), doc="The decision: status, headers, body spans.")
    body = property(itemgetter(1), doc="What the adapter sends, or closes.")
