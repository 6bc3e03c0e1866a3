"""Why a URL is served, redirected or passed through: the answer behind ``staticmw check --url``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol
from urllib.parse import unquote_to_bytes

from ..http.request import Request
from .mounts import Redirect
from .options import Options
from .representations import Resource

if TYPE_CHECKING:
    from ..hints.pagelinks import PageLinks


class Explainable(Protocol):
    """What :func:`explain` needs of a middleware (kept abstract: no import cycle)."""

    options: Options
    hints: PageLinks | None

    @property
    def roots(self) -> list[tuple[str, str]]: ...

    def traced(self, path: str) -> tuple[Resource | Redirect | None, list[str], bool]: ...

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
    found, trace, below_a_prefix = static.traced(path_info)
    explained = _decided(static, url, path_info, found, trace)
    explained.accept_encoding = accept_encoding
    if explained.outcome == "served" and isinstance(found, Resource):
        _representation(static, explained, found, path_info, accept_encoding, available_dictionary)
    # A URL below a static prefix is never a page of the application's: no route to tell.
    if explained.outcome == "passed" and static.hints is not None and not below_a_prefix:
        explained.hints_route, explained.hints = static.hints.remembered(path_info, query)
    return explained


def _decided(
    static: Explainable,
    url: str,
    path_info: str,
    found: Resource | Redirect | None,
    trace: list[str],
) -> Explanation:
    """The lookup's outcome, with its steps as the reason."""
    if isinstance(found, Resource):
        return Explanation(url, "served", f"served from {found.representations[0].path}")
    steps = "; ".join(trace)
    if isinstance(found, Redirect):
        return Explanation(url, "redirect", f"{steps}: redirects to {found.segment}/")
    if not trace:
        prefixes = ", ".join(prefix for prefix, _ in static.roots)
        return Explanation(url, "passed", f"under no prefix ({prefixes}): passes through")
    return Explanation(url, "passed", f"{steps}: passes through")


def _representation(
    static: Explainable,
    explained: Explanation,
    found: Resource,
    path_info: str,
    accept_encoding: str | None,
    available_dictionary: str | None,
) -> None:
    """Which representation a GET with these header values gets, and its headers."""
    request = Request(
        "GET", path_info, accept_encoding=accept_encoding, available_dictionary=available_dictionary
    )
    reps = found.representations
    rep = reps[static.select(found, request)]
    explained.file = reps[0].path
    explained.representations = [(r.coding, r.size, r.path) for r in reps]
    explained.chosen = rep.coding
    explained.chosen_file = rep.path
    explained.headers = list(rep.headers)
