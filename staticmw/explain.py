"""Why a URL is served, redirected or passed through: the answer behind ``staticmw check --url``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol
from urllib.parse import unquote_to_bytes

from . import paths
from .options import Options
from .request import Request
from .resources import Resource

if TYPE_CHECKING:
    from .pagelinks import PageLinks


class Explainable(Protocol):
    """What :func:`explain` needs of a middleware (kept abstract: no import cycle)."""

    options: Options
    hints: PageLinks | None

    @property
    def roots(self) -> list[tuple[str, str]]: ...

    def lookup(self, path_info: str) -> object | None: ...

    def select(self, resource: Resource, request: Request) -> int: ...


@dataclass
class Explanation:
    """The middleware's decision for one URL, in words and in detail.

    ``outcome`` is ``"served"``, ``"redirect"`` or ``"passed"`` (to the wrapped
    application); ``reason`` says why in one line.
    """

    url: str
    outcome: str
    reason: str
    accept_encoding: str | None = None
    file: str | None = None
    # (coding, size in bytes, file) for every representation, identity first
    representations: list[tuple[str, int, str]] = field(default_factory=list)
    chosen: str | None = None
    chosen_file: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    # For a URL that passes through with early hints on: its route (None: the app's key
    # gives none) and the Link values remembered for it, the next navigation's 103.
    hints_route: str | None = None
    hints: tuple[str, ...] | None = None

    def lines(self) -> list[str]:
        """The human-readable form, one fact a line."""
        if self.outcome != "served":
            return [f"{self.url}: {self.reason}", *self._hint_lines()]
        variants = ", ".join(f"{coding} ({size} bytes)" for coding, size, _ in self.representations)
        return [
            f"{self.url}: served from {self.file}",
            f"  representations  {variants}",
            f"  for Accept-Encoding {self.accept_encoding!r}: {self.chosen}, {self.chosen_file}",
            *(f"  {name}: {value}" for name, value in self.headers),
        ]

    def _hint_lines(self) -> list[str]:
        if self.hints is None:
            return []
        if self.hints_route is None:
            return ["  early hints: none (the early_hints_key gives this URL no route)"]
        if not self.hints:
            return [
                f"  early hints: nothing remembered for route {self.hints_route!r} yet "
                "(a navigation that renders a page naming assets teaches it)"
            ]
        return [
            f"  early hints: the next navigation to route {self.hints_route!r} gets a 103 with",
            *(f"    Link: {value}" for value in self.hints),
        ]


def explain(
    static: Explainable,
    url: str,
    accept_encoding: str | None,
    available_dictionary: str | None = None,
) -> Explanation:
    """Decide *url* (a URL path, percent-encoded as sent) as a GET would, without sending it.

    The representation is chosen as for a request carrying *accept_encoding* and
    *available_dictionary* (RFC 9842), when given. A URL that passes through to the
    application also tells, with early hints on, what its route would be hinted.
    """
    raw, _, query = url.partition("?")
    path_info = unquote_to_bytes(raw).decode("latin-1")
    explained = _decide(static, url, path_info, accept_encoding, available_dictionary)
    if explained.outcome == "passed" and static.hints is not None:
        explained.hints_route, explained.hints = static.hints.remembered(path_info, query)
    return explained


def _decide(
    static: Explainable,
    url: str,
    path_info: str,
    accept_encoding: str | None,
    available_dictionary: str | None,
) -> Explanation:
    """The decision alone for *url* (*path_info* its decoded path): served, redirected or
    passed, and why."""
    prefixes = [prefix for prefix, _ in static.roots]
    matching = [p for p in prefixes if path_info.startswith(p.encode().decode("latin-1"))]
    if not matching:
        reason = f"under no prefix ({', '.join(prefixes)}): passes through"
        return Explanation(url, "passed", reason)
    hidden_ok = static.options.serve_hidden
    for prefix in matching:
        relative = paths.decode_path(path_info[len(prefix.encode().decode("latin-1")) :])
        if relative is None:
            return Explanation(
                url, "passed", "not valid UTF-8 after percent-decoding: passes through"
            )
        body = relative.rstrip("/")
        for segment in body.split("/") if body else []:
            if not paths.segment_is_safe(segment, hidden_ok):
                reason = f"segment {segment!r} is refused by the path rules: passes through"
                return Explanation(url, "passed", reason)
        if paths.split_request_path(relative, hidden_ok) is None:
            reason = "refused by the path rules (empty segment or too long): passes through"
            return Explanation(url, "passed", reason)
    found = static.lookup(path_info)
    if found is None:
        roots = ", ".join(d for p, d in static.roots if p in matching)
        reason = (
            f"no servable file in {roots} (missing, a directory without index, hidden, "
            "or a link leaving the roots): passes through"
        )
        return Explanation(url, "passed", reason)
    if not isinstance(found, Resource):
        segment = getattr(found, "segment", "")
        return Explanation(url, "redirect", f"a directory: redirects to {segment}/")
    request = Request(
        "GET", path_info, accept_encoding=accept_encoding, available_dictionary=available_dictionary
    )
    reps = found.representations
    rep = reps[static.select(found, request)]
    return Explanation(
        url,
        "served",
        f"served from {reps[0].path}",
        accept_encoding=accept_encoding,
        file=reps[0].path,
        representations=[(r.coding, r.size, r.path) for r in reps],
        chosen=rep.coding,
        chosen_file=rep.path,
        headers=list(rep.headers),
    )
