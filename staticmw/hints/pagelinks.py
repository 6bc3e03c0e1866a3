"""The links of a page: from the names its rendering used to ``Link`` values of files that
exist under the mounts, remembered per route for the next navigation's 103."""

from __future__ import annotations

import logging
import os
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Sequence,
)
from contextvars import Token
from functools import partial

from ..manifest import importmaps
from ..manifest.urls import base_of, below, join
from ..serve.mounts import Mount, Mounts
from . import memory
from .cssrefs import css_urls, is_font, local_target
from .memory import Link

log = logging.getLogger("staticmw")

# A stylesheet is read this far for the fonts it uses.
CSS_LIMIT = 1024 * 1024
# Link sets computed per distinct list of used names (pages share them): at most this many,
# within this many characters of names, URLs and values.
COMPUTED_LIMIT = 512
COMPUTED_BYTES = 2 * 1024 * 1024


class Navigation:
    """One navigation worth hinting, from before the application runs to the end of its
    page. The adapters send :attr:`early` as a 103 their protocol's way and feed the
    answer's start and end here; every rule of the cycle is in this class and
    :class:`PageLinks`, none in an adapter.

    The cycle: :meth:`record` before the application runs (the URL helpers note into
    :attr:`used`), :meth:`pause` once it has returned; :meth:`start` with the final status
    and headers, which gives the headers to send (the opt-out removed, the page's links
    added); :meth:`end` once the body is done, directly or through :meth:`wrap_body`.
    """

    __slots__ = (
        "_answer",
        "_named",
        "_page",
        "_token",
        "early",
        "host",
        "key",
        "links",
        "private",
        "root",
        "used",
    )

    def __init__(
        self,
        links: PageLinks,
        key: memory.RouteKey,
        early: tuple[str, ...],
        host: str,
        root: str,
        private: bool,
    ):
        self.links = links
        # The route in the memory, and the links remembered there: the 103 to send before
        # the application runs.
        self.key = key
        self.early = early
        # The request's Host (lower case) and script root: a link on that host is
        # remembered as a path, and the memory is kept apart per script root.
        self.host = host
        self.root = root
        # The request carried credentials: its page is for that visitor alone.
        self.private = private
        # The names the page's rendering asked the URL helpers for, as they are noted.
        self.used: list[memory.Noted] = []
        # The final answer: its status and headers, and its page once they are read.
        self._answer: tuple[int | str, Iterable[tuple[str, str]]] | None = None
        self._page: memory.Page | None = None
        self._named = 0  # names used by the time the answer started
        self._token: Token[list[memory.Noted] | None] | None = None

    def record(self) -> None:
        """Note what the URL helpers are asked for from here on, for this page."""
        self._token = memory.USED.set(self.used)

    def pause(self) -> None:
        """Stop noting: the application has returned (a body that renders later resumes in
        :meth:`wrap_body`)."""
        try:  # noqa: SIM105 -- on every navigation: contextlib.suppress costs a third more
            memory.USED.reset(self._token)  # type: ignore[arg-type]
        except (ValueError, TypeError):  # set in another context, or never
            pass

    def page(self, status: int, headers: Iterable[tuple[str, str]]) -> memory.Page:
        """Take the final answer's status and headers (text); what decides its links."""
        self._page = page = memory.page_of(status, headers)
        self._answer = (status, ())
        self._named = len(self.used)
        return page

    def _final(self) -> memory.Page:
        """The final answer's page, read from its headers when first needed."""
        if self._page is None:
            assert self._answer is not None
            status, headers = self._answer
            if isinstance(status, str):  # a WSGI status line
                status = int(status[:3]) if status[:3].isdigit() else 0
            self._page = memory.page_of(status, headers)
        return self._page

    def needs_disk(self) -> bool:
        """Whether :meth:`links_for` (or :meth:`end`) reads files: an event loop hands it
        to a thread."""
        return self._answer is not None and self.links.needs_disk(self._final(), self.used)

    def links_for(self) -> tuple[str, ...]:
        """The Link values for the answer taken by :meth:`page`: what the page named so
        far, or what it named the last time while it has named nothing yet."""
        if self._answer is None or not (self.used or self.early):
            return ()
        return self.links.at_start(self, self._final(), self.used)

    def start(self, status: int | str, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """The headers to send for this final answer (its status as a number, or a WSGI
        status line): the opt-out removed, one ``Link`` field per value added. A page that
        has named nothing, with nothing remembered, gets no links: its headers are read only
        if it names something later."""
        self._answer, self._page, self._named = (status, headers), None, len(self.used)
        if not (self.used or self.early):
            return memory.without_off(headers)
        page = self._final()
        sent = memory.without_off(headers) if page.turned_off else headers
        links = self.links_for()
        return sent + [("Link", value) for value in links] if links else sent

    @property
    def answered(self) -> bool:
        """Whether the final answer has started (:meth:`page` or :meth:`start`)."""
        return self._answer is not None

    def streams(self) -> bool:
        """Whether the page had named nothing when its answer started: a body sent from
        then on renders it, so it is recorded (:meth:`wrap_body`)."""
        return self._answer is not None and self._named == 0 and memory.wanted(self._final())

    def pending(self) -> bool:
        """Whether the page named nothing before its answer started, so that what it names
        while its body is sent is still to be remembered (at :meth:`end`)."""
        return self._answer is not None and self._named == 0 and bool(self.used or self.early)

    def end(self) -> None:
        """The body is done: what the page named after its answer started is remembered."""
        if self.pending():
            self.links.after(self, self._final(), self.used)

    def wrap_body(self, body: Iterable[bytes]) -> Iterator[bytes]:
        """*body*, noting what it names as it renders; :meth:`end` once it is done."""
        return memory.recorded(body, self.used, self.end)

    def wrap_async_body(
        self, body: AsyncIterable[bytes], end: Callable[[], Awaitable[None]]
    ) -> AsyncIterator[bytes]:
        """:meth:`wrap_body` for an async body; *end* is this session's :meth:`end` as the
        event loop runs it (in a thread when :meth:`needs_disk`)."""
        return memory.recorded_async(body, self.used, end)


class PageLinks:
    """Early hints for one middleware: the route memory and the links of each page.

    What a page's answer carries is that page's business; what is remembered for the next
    visitor is not, so only links below a base the configuration knows are remembered: a
    mount's prefix (below the request's script root, whose memory is its own), a mount's
    ``static_host``, or a base added by :meth:`trust` (Django's absolute ``STATIC_URL``).
    A link on the request's own host is remembered as a path, so a forged ``Host`` reaches
    no one else. An answer for one visitor (credentials, a cookie set, ``private`` or
    ``no-store``) keeps its own links and leaves the memory as it was.
    """

    def __init__(self, mounts: Mounts, key: memory.Key | None = None):
        self.mounts = mounts
        self.key = key or memory.default_key
        self.memory = memory.Memory()
        self.trusted: tuple[str, ...] = ()
        self._computed: dict[tuple[memory.Noted, ...], tuple[tuple[str, ...], tuple[Link, ...]]]
        self._computed = {}
        self._computed_size = 0
        self._fonts: dict[tuple[str, str], tuple[str, ...]] = {}

    def trust(self, base: str) -> None:
        """Remember links below *base* too: a URL (``https://cdn.example.org/static/``) or a
        path that the configuration, not a request, puts files under."""
        if base and base not in self.trusted:
            self.trusted += (base if base.endswith("/") else base + "/",)

    def forget(self) -> None:
        """A new manifest: every route's links may name files of the build before."""
        self.memory.clear()
        self._computed.clear()
        self._computed_size = 0
        self._fonts.clear()

    def navigation(
        self,
        method: str,
        path: str,
        query: str,
        version: str,
        mode: str | None,
        accept: str,
        host: str = "",
        root: str = "",
        authorized: bool = False,
    ) -> Navigation | None:
        """The session of a request worth hinting (``None``: none), with the links
        remembered for its route, to send as a 103 before the application runs (none to
        HTTP/1.0)."""
        # Asked for every page, so written inline: a GET that loads a page (Sec-Fetch-Mode
        # navigate, or HTML accepted where the browser sends no Sec-Fetch-Mode) ...
        if method != "GET" or (
            mode != "navigate" if mode is not None else "text/html" not in accept
        ):
            return None
        found = path if self.key is memory.default_key else self.key(path, query)
        if found is None:
            return None
        key: memory.RouteKey = (root, found) if root else found
        # ... and a 103 only to a client that knows 1xx answers: HTTP/1.0 and 0.9 know none
        # (RFC 9110 §15.2). The version as the server gives it: "HTTP/1.1" or "1.1".
        early = () if version.endswith(("1.0", "0.9")) else self.memory.get(key, ())
        return Navigation(self, key, early, host.lower(), root, authorized)

    def remembered(self, path: str, query: str = "") -> tuple[str | None, tuple[str, ...]]:
        """The route of *path* (``None``: none) and the links remembered for it, which the
        next GET navigation there gets as a 103; for :meth:`StaticFiles.explain`."""
        key = self.key(path, query)
        return key, () if key is None else self.memory.get(key, ())

    def after(
        self, visit: Navigation, page: memory.Page, used: Sequence[memory.Noted]
    ) -> tuple[str, ...]:
        """The Link values for the final response, remembered for the route; anything but a
        page (a redirect, an error, JSON, a page the app turned off) forgets the route. An
        answer for one visitor changes nothing remembered."""
        shared = not (visit.private or page.private)
        if not memory.wanted(page):
            if shared:
                self.memory.put(visit.key, ())
            return ()
        values, links = self._linked(used)
        if shared:
            self.memory.put(visit.key, self._shared(links, visit))
        return values

    def _shared(self, links: tuple[Link, ...], visit: Navigation) -> tuple[str, ...]:
        """The values of the *links* that may be replayed to other visitors of the route."""
        kept = []
        for link in links:
            url = self._shared_url(link.url, visit)
            if url is not None:
                kept.append(link if url is link.url else link._replace(url=url))
        return memory.values(kept)

    def _shared_url(self, url: str, visit: Navigation) -> str | None:
        """*url* as remembered for the route, or ``None``: below a trusted base or a mount's
        ``static_host``, as it is; on the request's own host, as a path; below a mount's
        prefix (under the request's script root), as it is; anything else, never."""
        if url.startswith(self.trusted):
            return url
        for mount in self.mounts.added:
            if mount.urls.host and url.startswith(mount.urls.host + mount.prefix):
                return url
        scheme = "//" if url.startswith("//") else url.partition("://")[0] + "://"
        if scheme in ("//", "http://", "https://") and url.startswith(scheme):
            authority, slash, rest = url[len(scheme) :].partition("/")
            if not visit.host or authority.lower() != visit.host or not slash:
                return None
            url = "/" + rest
        if not url.startswith("/") or url.startswith("//"):
            return None
        for mount in self.mounts.added:
            if url.startswith(visit.root + mount.prefix):
                return url
        return None

    def at_start(
        self, visit: Navigation, page: memory.Page, used: Sequence[memory.Noted]
    ) -> tuple[str, ...]:
        """The Link values for a page's final headers: those of the names it used so far;
        or, when it has named none yet (it renders after its headers), those it used the
        last time, which :meth:`Navigation.end` replaces once it has rendered."""
        if used or not memory.wanted(page):
            return self.after(visit, page, used)
        return visit.early

    def needs_disk(self, page: memory.Page, used: Sequence[memory.Noted]) -> bool:
        """Whether the links of *used* are still to be worked out from the files, which an
        event loop hands to a thread."""
        return bool(used) and memory.wanted(page) and tuple(used) not in self._computed

    def links(self, used: Sequence[memory.Noted]) -> tuple[str, ...]:
        """The Link values for the names a page used: each stylesheet and the fonts it
        references, each module and its static imports; only names a manifest lists and
        whose file is there."""
        return self._linked(used)[0]

    def _linked(self, used: Sequence[memory.Noted]) -> tuple[tuple[str, ...], tuple[Link, ...]]:
        """:meth:`links`, and the links behind those values; kept per list of names within
        :data:`COMPUTED_BYTES` (the names and URLs come from requests)."""
        noted = tuple(used)
        found = self._computed.get(noted)
        if found is None:
            collected: list[Link] = []
            for kind, name, url in noted:
                collected += self._links_of(kind, name, url)
            # A stylesheet both named (static_url) and rendered with integrity is preloaded
            # once, where it first appears, as the page loads it.
            sri = {link.url: link for link in collected if link.kind == "style" and link.integrity}
            collected = [sri.get(c.url, c) if c.kind == "style" else c for c in collected]
            links = tuple(dict.fromkeys(link for link in collected if link.value() is not None))
            found = (memory.values(list(links)), links[: memory.MAX_LINKS])
            size = sum(len(n) + len(u) + 100 for _, n, u in noted)
            size += sum(len(value) + 100 for value in found[0])
            if len(self._computed) >= COMPUTED_LIMIT or self._computed_size + size > COMPUTED_BYTES:
                self._computed.clear()
                self._computed_size = 0
            if size <= COMPUTED_BYTES:
                self._computed[noted] = found
                self._computed_size += size
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
        if lowered.endswith(".css") and kind in (memory.ASSET, memory.STYLESHEET):
            sri = self.mounts.integrity(mount, hashed) if kind == memory.STYLESHEET else None
            fonts = [Link(url(font), "preload", "font") for font in self._fonts_of(mount, hashed)]
            return [Link(url(hashed), "preload", "style", sri or ""), *fonts]
        if kind in (memory.SCRIPT, memory.PLAIN_SCRIPT):
            # A classic script rendered by script_tag: preloaded as its tag fetches it.
            sri = self.mounts.integrity(mount, hashed) if kind == memory.SCRIPT else None
            return [Link(url(hashed), "preload", "script", sri or "")]
        if kind != memory.ENTRY or not importmaps.is_module(logical):
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
        """The hashed names of the fonts a built stylesheet references, found once: from the
        build's record of them, or where there is none (Django's storage, a Vite manifest, an
        older build), by reading the stylesheet."""
        key = (mount.directory, hashed)
        found = self._fonts.get(key)
        if found is not None:
            return found
        manifest = mount.manifest
        entry = manifest.entry(hashed) if manifest is not None else None
        recorded = entry.fonts if entry is not None else None
        urls = recorded if recorded is not None else css_urls(self._read(mount, hashed))
        names = []
        for url in urls:
            target = local_target(hashed, url.split("?")[0].split("#")[0])
            if (
                target
                and is_font(target)
                and manifest is not None
                and manifest.entry(target) is not None
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
