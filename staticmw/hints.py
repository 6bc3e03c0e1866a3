"""Early hints (RFC 8297): which assets a page used, remembered per route, as ``Link`` values.

While the application renders a page, the URL helpers (``static_url``, ``importmap_tag``,
Flask's ``url_for("static")``) note the names they were asked for. When the page is a 200
``text/html`` answer to a navigation, the core turns those names into ``Link`` values
(stylesheets, the fonts they use, modules and their static imports), adds them to the
page's headers and remembers them for its route. The next navigation to that route gets
them as a 103 before the application runs. Pure decisions here; the adapters do the I/O.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
)
from contextvars import ContextVar
from typing import NamedTuple

# One use of a URL helper: what kind of name (ASSET or ENTRY), the name it was given, and the
# URL the page got for it ("" when the helper does not know it).
Noted = tuple[str, str, str]

# The names a request's rendering asked the URL helpers for, while it is recorded.
USED: ContextVar[list[Noted] | None] = ContextVar("staticmw_hints_used", default=None)

# Bounds: names noted per request, links per page, routes remembered.
MAX_NOTED = 256
MAX_LINKS = 32
MAX_ROUTES = 2048

# A response header by which the application turns hints off for its page; never sent on.
OFF_HEADER = "x-staticmw-early-hints"
_OFF_SIZE = len(OFF_HEADER)

# What a URL in a Link value may hold: RFC 3986 characters less those that could end the
# <...> or start another header (no space, quote, angle bracket, backslash, control), and
# less "," and ";", which careless Link parsers split on.
_URL = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+=%]+")
_INTEGRITY = re.compile(r"sha(?:256|384|512)-[A-Za-z0-9+/]+={0,2}")

ASSET = "asset"  # a name given to static_url: a stylesheet or a module is hinted
ENTRY = "entry"  # the entry module given to importmap_tag


def note(kind: str, name: str, url: str = "") -> None:
    """Note that the page being rendered uses *name*, at *url*; nothing when no request is
    recorded. The links use the URL's origin and path before the file's name, so that they
    name exactly what the page will ask for (a CDN host, a script name)."""
    used = USED.get()
    if used is not None and len(used) < MAX_NOTED:
        used.append((kind, name, url))


def recording() -> bool:
    """Whether an outer middleware records this request already (it adds the links)."""
    return USED.get() is not None


def start(used: list[Noted] | None = None) -> tuple[list[Noted], object]:
    """Start (or resume) recording for the current request: the list that fills, and a
    token to stop."""
    used = [] if used is None else used
    return used, USED.set(used)


def stop(token: object) -> None:
    """Stop recording; a body closed from elsewhere (another thread, the collector) leaves
    the context it was iterated in to the next request, which sets its own."""
    with contextlib.suppress(ValueError):
        USED.reset(token)  # type: ignore[arg-type]


def recorded(body: Iterable[bytes], used: list[Noted], done: Callable[[], None]) -> Iterator[bytes]:
    """*body* as it is, block by block, with the names it uses while it renders noted into
    *used*; *done* once it has ended or was closed."""
    token = USED.set(used)
    try:
        yield from body
    finally:
        stop(token)
        close = getattr(body, "close", None)
        if close is not None:
            close()
        done()


async def recorded_async(
    body: AsyncIterable[bytes],
    used: list[Noted],
    done: Callable[[], Awaitable[None]],
) -> AsyncIterator[bytes]:
    """:func:`recorded` for a body that is an async iterator; *done* is awaited."""
    token = USED.set(used)
    try:
        async for block in body:
            yield block
    finally:
        stop(token)
        close = getattr(body, "aclose", None)
        if close is not None:
            await close()
        await done()


class Link(NamedTuple):
    """One ``Link`` value: where, how the browser should fetch it, and its SRI integrity."""

    url: str
    rel: str  # "preload" or "modulepreload"
    kind: str = ""  # the "as" of a preload: "style", "font"
    integrity: str = ""

    def value(self) -> str | None:
        """The header value, or ``None`` when any part could break out of its place."""
        if not _URL.fullmatch(self.url) or self.rel not in ("preload", "modulepreload"):
            return None
        text = f"<{self.url}>; rel={self.rel}"
        if self.kind == "style":
            text += "; as=style"
        elif self.kind == "font":
            text += "; as=font; crossorigin"
        elif self.kind:
            return None
        if self.integrity:
            if not _INTEGRITY.fullmatch(self.integrity):
                return None
            text += f'; integrity="{self.integrity}"'
        return text


def values(links: list[Link]) -> tuple[str, ...]:
    """The header values of *links*, each once, in order, at most :data:`MAX_LINKS`."""
    found = [value for value in (link.value() for link in links) if value is not None]
    return tuple(dict.fromkeys(found))[:MAX_LINKS]


def default_key(path: str, query: str) -> str | None:
    """A route: the path without its query."""
    return path


class Memory:
    """The last links each route's page used, for at most *size* routes (the route written
    least recently forgotten first); safe to share between threads. Reading takes no lock,
    and neither does writing what a route already holds, the common case."""

    def __init__(self, size: int = MAX_ROUTES):
        self.size = size
        self._routes: dict[str, tuple[str, ...]] = {}
        self._lock = threading.Lock()
        # Read on every navigation: the dict's own get (``get(key, ())``), no Python call.
        self.get: Callable[[str, tuple[str, ...]], tuple[str, ...]] = self._routes.get

    def __len__(self) -> int:
        return len(self._routes)

    def put(self, key: str, links: tuple[str, ...]) -> None:
        routes = self._routes
        if routes.get(key, ()) == links:
            return
        with self._lock:
            routes.pop(key, None)
            if links:
                routes[key] = links  # last in the order: forgotten last
                while len(routes) > self.size:
                    del routes[next(iter(routes))]

    def clear(self) -> None:
        with self._lock:
            self._routes.clear()


class Page(NamedTuple):
    """What the adapters need to know of a final response to decide its links."""

    status: int
    content_type: str
    turned_off: bool


def page_of(status: int, headers: Iterable[tuple[str, str]]) -> Page:
    """The status, media type and opt-out of a response, for its links."""
    content_type = ""
    off = False
    for name, value in headers:
        size = len(name)  # compared first: most headers are neither, and this is per page
        if size == 12 and name.lower() == "content-type":
            content_type = value.lower()
        elif size == _OFF_SIZE and name.lower() == OFF_HEADER:
            off = True
    return Page(status, content_type, off)


def without_off(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """*headers* less the application's opt-out header, which is never sent on."""
    for name, _ in headers:
        if len(name) == _OFF_SIZE and name.lower() == OFF_HEADER:
            return [(k, v) for k, v in headers if k.lower() != OFF_HEADER]
    return headers


def wanted(page: Page) -> bool:
    """Whether a response is a page whose links are worth adding and remembering."""
    return page.status == 200 and page.content_type.startswith("text/html") and not page.turned_off


Key = Callable[[str, str], "str | None"]
