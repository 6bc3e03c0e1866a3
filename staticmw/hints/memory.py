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

from ..manifest.formats import is_sri

# One use of a URL helper: what kind of name (ASSET or ENTRY), the name it was given, and the
# URL the page got for it ("" when the helper does not know it).
Noted = tuple[str, str, str]

# The names a request's rendering asked the URL helpers for, while it is recorded.
USED: ContextVar[list[Noted] | None] = ContextVar("staticmw_hints_used", default=None)

# Bounds: names noted per request, links per page, routes remembered.
MAX_NOTED = 256
MAX_LINKS = 32
MAX_ROUTES = 2048
# The route memory's budget: the characters of its keys and link values together.
MEMORY_BYTES = 2 * 1024 * 1024
# A route longer than this is never remembered (the miss cache's limit on a path).
MAX_KEY = 4096

# A response header by which the application turns hints off for its page; never sent on.
OFF_HEADER = "x-staticmw-early-hints"
_OFF_SIZE = len(OFF_HEADER)

# What a URL in a Link value may hold: RFC 3986 characters less those that could end the
# <...> or start another header (no space, quote, angle bracket, backslash, control), and
# less "," and ";", which careless Link parsers split on.
_URL = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+=%]+")

ASSET = "asset"  # a name given to static_url: a stylesheet or a module is hinted
ENTRY = "entry"  # the entry module given to importmap_tag
# A stylesheet a helper rendered with integrity and crossorigin: its preload carries both,
# so that the browser uses what it preloaded.
STYLESHEET = "stylesheet"
# A classic script a helper rendered, with integrity and crossorigin or without: preloaded
# as a script in the mode its tag fetches it.
SCRIPT = "script"
PLAIN_SCRIPT = "plain-script"


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
    kind: str = ""  # the "as" of a preload: "style", "script", "font"
    integrity: str = ""

    def value(self) -> str | None:
        """The header value, or ``None`` when any part could break out of its place."""
        if not _URL.fullmatch(self.url) or self.rel not in ("preload", "modulepreload"):
            return None
        text = f"<{self.url}>; rel={self.rel}"
        if self.kind in ("style", "script"):
            text += f"; as={self.kind}" + ("; crossorigin" if self.integrity else "")
        elif self.kind == "font":
            text += "; as=font; crossorigin"
        elif self.kind:
            return None
        if self.integrity:
            if not is_sri(self.integrity):
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


RouteKey = str | tuple[str, str]


def _key_chars(key: RouteKey) -> int:
    return len(key) if isinstance(key, str) else len(key[0]) + len(key[1])


def _size(key: RouteKey, links: tuple[str, ...]) -> int:
    """What a route costs the memory: its key and its link values, in characters, and a
    fixed part for the objects that hold them."""
    return 100 + _key_chars(key) + sum(len(value) + 50 for value in links)


class Memory:
    """The last links each route's page used, within *budget* characters of keys and values
    and *size* routes (the route written least recently forgotten first); safe to share
    between threads. Reading takes no lock, and neither does writing what a route already
    holds, the common case. A key longer than :data:`MAX_KEY` is never remembered."""

    def __init__(self, size: int = MAX_ROUTES, budget: int = MEMORY_BYTES):
        self.size = size
        self.budget = budget
        # What the routes held cost now, counted as :func:`_size` does.
        self.bytes = 0
        self._routes: dict[RouteKey, tuple[str, ...]] = {}
        self._lock = threading.Lock()
        # Read on every navigation: the dict's own get (``get(key, ())``), no Python call.
        self.get: Callable[[RouteKey, tuple[str, ...]], tuple[str, ...]] = self._routes.get

    def __len__(self) -> int:
        return len(self._routes)

    def put(self, key: RouteKey, links: tuple[str, ...]) -> None:
        routes = self._routes
        if routes.get(key, ()) == links:
            return
        with self._lock:
            held = routes.pop(key, None)
            if held is not None:
                self.bytes -= _size(key, held)
            if not links or _key_chars(key) > MAX_KEY:
                return
            routes[key] = links  # last in the order: forgotten last
            self.bytes += _size(key, links)
            while routes and (len(routes) > self.size or self.bytes > self.budget):
                oldest = next(iter(routes))
                self.bytes -= _size(oldest, routes.pop(oldest))

    def clear(self) -> None:
        with self._lock:
            self._routes.clear()
            self.bytes = 0


class Page(NamedTuple):
    """What the adapters need to know of a final response to decide its links."""

    status: int
    content_type: str
    turned_off: bool
    # Meant for one visitor: it sets a cookie, or is marked private or no-store.
    private: bool = False


def private_cache_control(value: str) -> bool:
    """Whether a Cache-Control value keeps the answer to one visitor (RFC 9111 §5.2.2)."""
    lowered = value.lower()
    return "private" in lowered or "no-store" in lowered


def page_of(status: int, headers: Iterable[tuple[str, str]]) -> Page:
    """The status, media type, opt-out and privacy of a response, for its links."""
    content_type = ""
    off = private = False
    for name, value in headers:
        size = len(name)  # compared first: most headers are none of these, and this is per page
        if size == 12 and name.lower() == "content-type":
            content_type = value.lower()
        elif size == _OFF_SIZE and name.lower() == OFF_HEADER:
            off = True
        elif (size == 10 and name.lower() == "set-cookie") or (
            size == 13 and name.lower() == "cache-control" and private_cache_control(value)
        ):
            private = True
    return Page(status, content_type, off, private)


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


def add_to_link(existing: str | None, values: tuple[str, ...]) -> str:
    """One ``Link`` field that holds the application's own values and then *values*, for a
    response object that holds one field per name (RFC 9110 §5.3: the same as several)."""
    joined = ", ".join(values)
    return f"{existing}, {joined}" if existing else joined
