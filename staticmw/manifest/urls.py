"""Cache-busted URLs from a manifest, with or without a middleware (templates, tools)."""

from __future__ import annotations

import logging
import os
from urllib.parse import quote

from ..serve.options import check_static_host, normalize_prefix
from .formats import Manifest

log = logging.getLogger("staticmw.urls")

_PATH_SAFE = "/!$&'()*+,;=:@~"


class NotInManifest(LookupError):
    """Raised by a strict lookup for a name the manifest does not list."""


def not_listed(name: str, strict: bool) -> None:
    """The one rule for a name no manifest lists: an error under ``manifest_strict``;
    otherwise a warning, and the caller uses the unhashed URL."""
    if strict:
        raise NotInManifest(f"{name!r} is not in the static files manifest")
    log.warning("staticmw: %r is not in the manifest; using its unhashed URL", name)


def join(host: str, prefix: str, name: str) -> str:
    """``host`` + ``prefix`` + the percent-encoded ``name``."""
    return host + quote(prefix + name.lstrip("/"), safe=_PATH_SAFE)


def base_of(url: str, name: str) -> str | None:
    """The part of *url* before *name* (encoded as :func:`join` does), ending in ``/``: where
    the page that got *url* finds the files beside it; ``None`` when *url* does not end so."""
    path = url.split("#", 1)[0].split("?", 1)[0]
    tail = quote(name.lstrip("/"), safe=_PATH_SAFE)
    if not tail or not path.endswith("/" + tail):
        return None
    return path[: len(path) - len(tail)]


def below(base: str, name: str) -> str:
    """*name*, percent-encoded, below a *base* from :func:`base_of`."""
    return base + quote(name.lstrip("/"), safe=_PATH_SAFE)


class StaticURLs:
    """``urls("css/app.css")`` -> ``/static/css/app.3f2a9c1b9d0e.css`` from a manifest.

    A name the manifest lacks gives the plain URL and a logged warning, or
    :class:`NotInManifest` when *strict*. Usable in any template engine, e.g.
    ``env.globals["static"] = StaticURLs("build/staticmw.json")`` in Jinja2.
    """

    __slots__ = ("host", "manifest", "prefix", "strict")

    def __init__(
        self,
        manifest: Manifest | str | os.PathLike[str] | None,
        prefix: str = "/static/",
        static_host: str | None = None,
        strict: bool = False,
    ):
        self.prefix = normalize_prefix(prefix)
        if manifest is not None and not isinstance(manifest, Manifest):
            manifest = Manifest.load(manifest, public_prefix=self.prefix)
        self.manifest = manifest
        self.host = check_static_host(static_host)
        self.strict = strict

    def lookup(self, name: str) -> str | None:
        """The cache-busted URL, or ``None`` when the manifest lacks *name*."""
        if self.manifest is None:
            return None
        hashed = self.manifest.lookup(name)
        return None if hashed is None else join(self.host, self.prefix, hashed)

    def __call__(self, name: str) -> str:
        url = self.lookup(name)
        if url is not None:
            return url
        return self.missing(name)

    def plain(self, name: str) -> str:
        """The unhashed URL of *name*, for roots that have no manifest."""
        return join(self.host, self.prefix, name)

    def missing(self, name: str) -> str:
        """The fallback for a name no manifest lists: plain URL and a warning, or raise."""
        not_listed(name, self.strict)
        return join(self.host, self.prefix, name)
