"""The links of a page: from the names its rendering used to ``Link`` values of files that
exist under the mounts, remembered per route for the next navigation's 103."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from functools import partial

from . import hints, importmap
from .hints import Link
from .mounts import Mount, Mounts
from .urls import base_of, below, join

log = logging.getLogger("staticmw")

FONT_EXTENSIONS = (".woff2", ".woff", ".ttf", ".otf")
# A stylesheet is read this far for the fonts it uses.
CSS_LIMIT = 1024 * 1024
# Link sets computed per distinct list of used names (pages share them).
COMPUTED_LIMIT = 512


class PageLinks:
    """Early hints for one middleware: the route memory and the links of each page."""

    def __init__(self, mounts: Mounts, key: hints.Key | None = None):
        self.mounts = mounts
        self.key = key or hints.default_key
        self.memory = hints.Memory()
        self._computed: dict[tuple[hints.Noted, ...], tuple[str, ...]] = {}
        self._fonts: dict[tuple[str, str], tuple[str, ...]] = {}

    def forget(self) -> None:
        """A new manifest: every route's links may name files of the build before."""
        self.memory.clear()
        self._computed.clear()
        self._fonts.clear()

    def before(
        self, method: str, path: str, query: str, version: str, mode: str | None, accept: str
    ) -> tuple[str | None, tuple[str, ...]]:
        """The route of a request worth hinting (``None``: none) and the links remembered
        for it, to send as a 103 before the application runs (none to HTTP/1.0)."""
        # Asked for every page, so written inline: a GET that loads a page (Sec-Fetch-Mode
        # navigate, or HTML accepted where the browser sends no Sec-Fetch-Mode) ...
        if method != "GET" or (
            mode != "navigate" if mode is not None else "text/html" not in accept
        ):
            return None, ()
        key = path if self.key is hints.default_key else self.key(path, query)
        if key is None:
            return None, ()
        # ... and a 103 only to a client that knows 1xx answers: HTTP/1.0 and 0.9 know none
        # (RFC 9110 §15.2).
        return key, () if version in ("1.0", "0.9") else self.memory.get(key, ())

    def remembered(self, path: str, query: str = "") -> tuple[str | None, tuple[str, ...]]:
        """The route of *path* (``None``: none) and the links remembered for it, which the
        next GET navigation there gets as a 103; for :meth:`StaticFiles.explain`."""
        key = self.key(path, query)
        return key, () if key is None else self.memory.get(key, ())

    def after(self, key: str, page: hints.Page, used: Sequence[hints.Noted]) -> tuple[str, ...]:
        """The Link values for the final response, remembered for the route; anything but a
        page (a redirect, an error, JSON, a page the app turned off) forgets the route."""
        if not hints.wanted(page):
            self.memory.put(key, ())
            return ()
        links = self.links(used)
        self.memory.put(key, links)
        return links

    def at_start(
        self,
        key: str,
        page: hints.Page,
        used: Sequence[hints.Noted],
        remembered: tuple[str, ...],
    ) -> tuple[str, ...]:
        """The Link values for a page's final headers: those of the names it used so far;
        or, when it has named none yet (it renders after its headers), those it used the
        last time, which :meth:`at_end` replaces once it has rendered."""
        if used or not hints.wanted(page):
            return self.after(key, page, used)
        return remembered

    def at_end(
        self,
        key: str,
        page: hints.Page,
        named_at_start: int,
        used: Sequence[hints.Noted],
        remembered: tuple[str, ...],
    ) -> None:
        """Once a page's body is done: what it named after its headers went is remembered
        for the next visit (its answer carried what it used the last time)."""
        if named_at_start == 0 and (used or remembered):
            self.after(key, page, used)

    def needs_disk(self, page: hints.Page, used: Sequence[hints.Noted]) -> bool:
        """Whether the links of *used* are still to be worked out from the files, which an
        event loop hands to a thread."""
        return bool(used) and hints.wanted(page) and tuple(used) not in self._computed

    def links(self, used: Sequence[hints.Noted]) -> tuple[str, ...]:
        """The Link values for the names a page used: each stylesheet and the fonts it
        references, each module and its static imports; only names a manifest lists and
        whose file is there."""
        noted = tuple(used)
        found = self._computed.get(noted)
        if found is None:
            collected: list[Link] = []
            for kind, name, url in noted:
                collected += self._links_of(kind, name, url)
            found = hints.values(collected)
            if len(self._computed) >= COMPUTED_LIMIT:
                self._computed.clear()
            self._computed[noted] = found
        return found

    def _links_of(self, kind: str, name: str, noted_url: str) -> list[Link]:
        located = self._locate(name)
        if located is None:
            return []
        mount, logical, hashed = located
        # The files' URLs as the page has them: below the base of the URL the helper gave
        # (Django's STATIC_URL, Flask's script root, a CDN host), else the mount's own.
        base = base_of(noted_url, hashed) if noted_url else None
        url = partial(below, base) if base else partial(join, mount.urls.host, mount.prefix)
        lowered = logical.lower()
        if lowered.endswith(".css") and kind == hints.ASSET:
            fonts = [Link(url(font), "preload", "font") for font in self._fonts_of(mount, hashed)]
            return [Link(url(hashed), "preload", "style"), *fonts]
        if kind != hints.ENTRY or not importmap.is_module(logical):
            # A script named through static_url may be a classic one, which a module
            # preload would fetch in the wrong mode: only an importmap_tag entry is hinted.
            return []
        record = mount.importmap
        if record is None or logical not in record.modules:
            return [Link(url(hashed), "modulepreload")]
        found = []
        for each in (logical, *record.preloads(logical)):
            module = record.modules[each]
            if self._exists(mount, module.hashed):
                found.append(Link(url(module.hashed), "modulepreload", "", module.integrity))
        return found

    def _locate(self, name: str) -> tuple[Mount, str, str] | None:
        """The mount whose manifest lists *name* (a logical name, or a URL path below a
        prefix), the logical name and its hashed name, when that file is there."""
        mounts, name = self.mounts.named(name)
        for mount in mounts:
            hashed = mount.manifest.lookup(name) if mount.manifest is not None else None
            if hashed is not None and self._exists(mount, hashed):
                return mount, name, hashed
        return None

    def _exists(self, mount: Mount, name: str) -> bool:
        return self.mounts.resolver.exists(mount.directory, name.split("/"), directory=False)

    def _fonts_of(self, mount: Mount, hashed: str) -> tuple[str, ...]:
        """The hashed names of the fonts a built stylesheet references, read once."""
        key = (mount.directory, hashed)
        found = self._fonts.get(key)
        if found is not None:
            return found
        # The build's CSS scanner, loaded only here: serving alone never loads the build.
        from . import rewrite

        content = self._read(mount, hashed)
        names = []
        for reference in rewrite.find_references(hashed, content):
            target = rewrite.local_target(hashed, reference.url.split("?")[0].split("#")[0])
            if (
                target
                and target.lower().endswith(FONT_EXTENSIONS)
                and mount.manifest is not None
                and mount.manifest.entry(target) is not None
                and self._exists(mount, target)
            ):
                names.append(target)
        found = self._fonts[key] = tuple(dict.fromkeys(names))
        return found

    def _read(self, mount: Mount, name: str) -> bytes:
        """The start of a file of the mount, opened through the resolver; ``b""`` if gone."""
        try:
            opened = self.mounts.resolver.open(mount.directory, name.split("/"))
        except OSError as exc:
            log.warning("staticmw: cannot read %s for its fonts: %s", name, exc)
            return b""
        if opened is None:
            return b""
        try:
            if opened.is_dir:
                return b""
            return os.pread(opened.fd, CSS_LIMIT, 0)
        except OSError:
            return b""
        finally:
            opened.close()
