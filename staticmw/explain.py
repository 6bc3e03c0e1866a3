"""Why a URL is served, redirected or passed through: the answer behind ``staticmw check --url``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import unquote_to_bytes

from . import paths
from .options import Options
from .request import Request
from .resources import Resource


class Explainable(Protocol):
    """What :func:`explain` needs of a middleware (kept abstract: no import cycle)."""

    options: Options

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

    def lines(self) -> list[str]:
        """The human-readable form, one fact a line."""
        if self.outcome != "served":
            return [f"{self.url}: {self.reason}"]
        variants = ", ".join(f"{coding} ({size} bytes)" for coding, size, _ in self.representations)
        return [
            f"{self.url}: served from {self.file}",
            f"  representations  {variants}",
            f"  for Accept-Encoding {self.accept_encoding!r}: {self.chosen}, {self.chosen_file}",
            *(f"  {name}: {value}" for name, value in self.headers),
        ]


def explain(
    static: Explainable,
    url: str,
    accept_encoding: str | None,
    available_dictionary: str | None = None,
) -> Explanation:
    """Decide *url* (a URL path, percent-encoded as sent) as a GET would, without sending it.

    The representation is chosen as for a request carrying *accept_encoding* and
    *available_dictionary* (RFC 9842), when given.
    """
    raw = url.split("?", 1)[0]
    path_info = unquote_to_bytes(raw).decode("latin-1")
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
