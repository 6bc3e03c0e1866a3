"""The ASGI adapter: ``ASGIStaticMiddleware(app, root, prefix, **options)`` over the same core.

``StaticMiddleware`` is the same class under its first name.

The same options, ``add_files``, ``static_url`` and ``roots`` as the WSGI
middleware: :class:`~staticmw.serve.core.StaticFiles` makes every decision (path rules,
resolution, headers, preconditions, ranges, encodings, the memory cache). This
module only maps the scope to a request and sends the answer. An answer held in
memory is sent from the event loop; anything that touches the file system
(lookups, rechecks, opens, reads) runs in the loop's default thread pool, so the
loop never waits on a disk. Runs under asyncio (Uvicorn, Hypercorn, Granian).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator, MutableMapping
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar
from urllib.parse import unquote_to_bytes

from ..hints import memory
from ..http.messages import Answer, Plan
from ..http.request import FIELDS, METHOD, NAVIGATION, SERVING_KEYS, Request
from ..serve.bodies import FileBody
from ..serve.core import StaticFiles
from ..serve.options import ConfigurationError
from . import pathsend as pins

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..hints.pagelinks import Navigation, PageLinks
    from ..serve.options import OptionValues

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_T = TypeVar("_T")

_PATHSEND = "http.response.pathsend"
_EARLY_HINT = "http.response.early_hint"
_OFF = memory.OFF_HEADER.encode("latin-1")
_ZEROCOPY = "http.response.zerocopysend"
_START = "http.response.start"
_BODY = "http.response.body"
_PERCENT, _QUERY = ord("%"), ord("?")

# Read size for bodies streamed through the event loop: each block is one trip to
# a worker thread and one message, so blocks are larger than for WSGI.
BLOCK_SIZE = 512 * 1024


async def acknowledge_lifespan(receive: Receive, send: Send) -> None:
    """Answer a ``lifespan`` scope for an application that has nothing to start or stop."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def path_info(scope: Scope) -> str:
    """The PEP 3333 ``PATH_INFO`` of an http scope: decoded bytes as latin-1 code points.

    Built from ``raw_path`` exactly as a WSGI server builds it (``path`` has already
    replaced invalid UTF-8), less ``root_path`` when the target starts with it, as
    ``SCRIPT_NAME`` is kept out of ``PATH_INFO``.
    """
    raw = scope.get("raw_path")
    # The usual case first, in as few steps as there can be (bytes are searched for code
    # points, not for one-byte strings: several times faster).
    if (
        raw.__class__ is bytes
        and _PERCENT not in raw
        and _QUERY not in raw
        and not scope.get("root_path")
    ):
        return raw.decode("latin-1")
    if isinstance(raw, bytes):
        if _PERCENT in raw or _QUERY in raw:
            raw = unquote_to_bytes(raw.split(b"?", 1)[0])
        decoded = raw.decode("latin-1")
    else:
        decoded = str(scope.get("path", "")).encode("utf-8", "surrogateescape").decode("latin-1")
    root = scope.get("root_path")
    if not root:
        return decoded
    root = str(root).encode("utf-8", "surrogateescape").decode("latin-1")
    if decoded == root or decoded.startswith(root.rstrip("/") + "/"):
        decoded = decoded[len(root.rstrip("/")) :]
    return decoded


# Header names (lower case, as the ASGI spec has servers send them) that the core
# reads, and the Request slot each fills. A name spelt with "_" matches none of
# them, so "if_none_match" can never pose as If-None-Match.
_SLOTS = {name.encode("latin-1"): slot for name, slot in FIELDS.items()}


def fields_of(scope: Scope) -> Callable[[str], str | None]:
    """The getter the core's warm path takes, by the keys of :mod:`staticmw.http.request`:
    the ``get`` of a dict made in one pass over the scope's headers, with no request object.

    Only the headers a static file's answer reads are kept; a repeated one is one list,
    as a WSGI server joins them (RFC 9110 §5.3).
    """
    method = scope.get("method", "GET")
    found: dict[str, str] = {METHOD: method if method.__class__ is str else str(method)}
    key_of = SERVING_KEYS
    for name, value in scope.get("headers", ()):
        key = key_of.get(name)
        if key is not None:
            text = (value if value.__class__ is bytes else bytes(value)).decode("latin-1")
            before = found.get(key)
            found[key] = text if before is None else f"{before},{text}"
    return found.get


def asgi_request(scope: Scope, path: str) -> Request:
    """The core's request from an http scope and its :func:`path_info`."""
    request = Request(
        str(scope.get("method", "GET")),
        path,
        bytes(scope.get("query_string", b"")).decode("latin-1"),
    )
    slots = _SLOTS
    for name, value in scope.get("headers", ()):
        slot = slots.get(name)
        if slot is not None:
            text = bytes(value).decode("latin-1")
            before = getattr(request, slot)
            # Repeated fields are one list, as a WSGI server joins them (RFC 9110 §5.3).
            setattr(request, slot, text if before is None else f"{before},{text}")
    return request


async def in_thread(function: Callable[..., _T], *args: Any) -> _T:
    """``function(*args)`` in the loop's default thread pool, so the loop never waits on it."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, functools.partial(function, *args))


def navigation_of(page_links: PageLinks, scope: Scope, path: str) -> Navigation | None:
    """The hint session of an ASGI request (``None``: not a navigation worth hinting)."""
    found: dict[str, str] = {}
    for name, value in scope.get("headers", ()):  # names come lower-cased (ASGI spec)
        slot = NAVIGATION.get(name)
        if slot is not None:
            text = bytes(value).decode("latin-1")
            # Repeated fields are one list, as in asgi_request (RFC 9110 §5.3).
            found[slot] = f"{found[slot]},{text}" if slot in found else text
    return page_links.navigation(
        str(scope.get("method", "")),
        path,
        bytes(scope.get("query_string", b"")).decode("latin-1"),
        str(scope.get("http_version", "1.1")),
        found.get("sec_fetch_mode"),
        found.get("accept", ""),
        found.get("host", ""),
        str(scope.get("root_path", "")),
        "authorization" in found,
    )


async def links_for(navigation: Navigation) -> tuple[str, ...]:
    """:meth:`Navigation.links_for` from an event loop: in a thread when it reads files."""
    if navigation.needs_disk():
        return await in_thread(navigation.links_for)
    return navigation.links_for()


async def end_of(navigation: Navigation) -> None:
    """:meth:`Navigation.end` from an event loop: in a thread when it reads files."""
    if navigation.pending() and navigation.needs_disk():
        await in_thread(navigation.end)
    else:
        navigation.end()


async def _with_links(navigation: Navigation, start: Message) -> Message:
    """A response start with its page's links added (and the opt-out header removed)."""
    headers = list(start.get("headers", ()))
    text = ((bytes(k).decode("latin-1"), bytes(v).decode("latin-1")) for k, v in headers)
    page = navigation.page(int(start.get("status", 0)), text)
    links = await links_for(navigation)
    if page.turned_off:
        headers = [(k, v) for k, v in headers if bytes(k).lower() != _OFF]
    elif not links:
        return start
    headers += [(b"link", value.encode("latin-1")) for value in links]
    return {**start, "headers": headers}


async def _without_off(send: Send, message: Message) -> None:
    """``send`` for an answer that is not a hinted page: the application's opt-out header
    is still never sent on."""
    if message.get("type") == "http.response.start":
        headers = message.get("headers", ())
        if any(bytes(k).lower() == _OFF for k, _ in headers):
            kept = [(k, v) for k, v in headers if bytes(k).lower() != _OFF]
            message = {**message, "headers": kept}
    await send(message)


async def file_blocks(body: FileBody) -> AsyncGenerator[bytes, None]:
    """The blocks of a file body, each read off the loop; the descriptor is released at the
    end, on an error, or when the iteration is closed early."""
    body.block_size = BLOCK_SIZE
    blocks: Iterator[bytes] = iter(body)
    try:
        while True:
            block = await in_thread(next, blocks, None)
            if block is None:
                return
            yield block
    finally:
        await in_thread(body.close)


class ASGIStaticMiddleware(StaticFiles):
    """Serve files under URL prefixes from allowed roots; pass everything else to *app*.

    The options are :class:`~staticmw.serve.core.StaticFiles`'s, as for the WSGI
    middleware. ``websocket`` and ``lifespan`` scopes, paths under no prefix and
    misses go to *app* with their scope and ``receive`` untouched.
    """

    def __init__(
        self,
        app: ASGIApp,
        root: str | os.PathLike[str] | None = None,
        prefix: str | None = None,
        **options: Unpack[OptionValues],
    ):
        if not callable(app):
            raise ConfigurationError("app must be an ASGI application")
        self.app = app
        super().__init__(root, prefix, **options)
        # Whole large files go to servers that offer pathsend, by descriptor name.
        self._pins = pins.Pins() if pins.available() else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = path_info(scope)
        # The warm path: a file held in memory, decided from the scope's headers read in
        # one pass, with no request object; anything else goes the full way, off the loop.
        # The headers are read only for a path the core knows, so that pass-through and
        # misses cost no pass over them.
        if path in self._resources:
            held = self.answer_held(path, fields_of(scope))
            if held:
                plan, content = held
                await send({"type": _START, "status": plan.status, "headers": plan.raw_headers})
                await send({"type": _BODY, "body": b"".join(content)})
                return
        else:
            held = None if self.handles(path) and not self.known_miss(path) else False
        if held is False:
            await self._pass(scope, receive, send, path)
            return
        request = asgi_request(scope, path)
        pathsend = self._pins is not None and _PATHSEND in scope.get("extensions", ())
        answer = await in_thread(self._answer_off_loop, request, pathsend)
        if answer is None:
            await self._pass(scope, receive, send, path)
            return
        if isinstance(answer, Pinned):
            await self._pathsend(answer, receive, send)
            return
        plan, body = answer
        if isinstance(body, FileBody):
            if body.span is not None and _ZEROCOPY in scope.get("extensions", ()):
                await _zerocopy(send, plan, body)
            else:
                await _stream(send, receive, plan, body)
            return
        await send(
            {"type": "http.response.start", "status": plan.status, "headers": plan.raw_headers}
        )
        await send({"type": "http.response.body", "body": b"".join(body)})

    async def _pass(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        """Hand a request that is not ours to the application: with early hints when on."""
        if self.hints is None or memory.recording():
            await self.app(scope, receive, send)
        else:
            await self._hinted(scope, receive, send, path)

    async def _hinted(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        """The application's answer with early hints: the route's remembered links as a 103
        before it runs (where the server offers ``http.response.early_hint``), and its
        page's links on the final answer."""
        assert self.hints is not None
        navigation = navigation_of(self.hints, scope, path)
        if navigation is None:
            await self.app(scope, receive, functools.partial(_without_off, send))
            return
        if navigation.early and _EARLY_HINT in scope.get("extensions", ()):
            links = [value.encode("latin-1") for value in navigation.early]
            await send({"type": _EARLY_HINT, "links": links})

        async def hinted_send(message: Message) -> None:
            if message.get("type") == "http.response.start":
                message = await _with_links(navigation, message)
            await send(message)

        navigation.record()
        try:
            await self.app(scope, receive, hinted_send)
        finally:
            navigation.pause()
        await end_of(navigation)  # what a page named as it streamed, after its start

    async def _pathsend(self, answer: Pinned, receive: Receive, send: Send) -> None:
        """Send a whole file by its pinned name; the pin is held until the server has sent it."""
        assert self._pins is not None
        plan, name = answer
        try:
            await send(
                {"type": "http.response.start", "status": plan.status, "headers": plan.raw_headers}
            )
            await send({"type": _PATHSEND, "path": name})
        except BaseException:
            self._pins.release(name)
            raise
        watcher = asyncio.ensure_future(_release_when_sent(receive, self._pins, name))
        _WATCHERS.add(watcher)
        watcher.add_done_callback(_WATCHERS.discard)

    def _answer_off_loop(self, request: Request, pathsend: bool) -> Answer | Pinned | None:
        """The core's answer; a whole file for a pathsend server becomes a pinned name."""
        answer = self.answer(request)
        if answer is None or not pathsend or self._pins is None:
            return answer
        plan, body = answer
        if isinstance(body, FileBody) and plan.status == 200 and body.span is not None:
            try:
                name = self._pins.path(body.fileno(), in_flight=True)
            except BaseException:
                body.close()
                raise
            if name is not None:
                body.detach()  # the descriptor is pinned now
                return Pinned(plan, name)
        return answer


# The name this class had first, kept so that earlier imports keep working.
StaticMiddleware = ASGIStaticMiddleware


class Pinned(NamedTuple):
    """A whole file sent by name through pathsend: a pinned descriptor's path."""

    plan: Plan
    name: str


# Watchers of pathsend responses still in flight (the loop keeps only weak references).
_WATCHERS: set[asyncio.Future[None]] = set()
# How long a pathsend response may stay in flight before its pin is let go regardless:
# for a server that never answers receive() once the response is sent.
IN_FLIGHT_LIMIT = 3600.0


async def _until_sent(receive: Receive) -> None:
    while (await receive()).get("type") != "http.disconnect":
        pass


async def _release_when_sent(receive: Receive, table: pins.Pins, name: str) -> None:
    """Hold the pin *name* until the server reports the response sent (``http.disconnect``
    from ``receive()``, which it gives once it has opened the file), then let it go."""
    try:
        # Whatever the server does (times out, raises), the pin is let go at the end.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(_until_sent(receive), IN_FLIGHT_LIMIT)
    finally:
        table.release(name)


async def _stream(send: Send, receive: Receive, plan: Plan, body: FileBody) -> None:
    """Send a file body in blocks read off the loop; stop when the client disconnects.

    The descriptor is released whatever happens.
    """
    gone = asyncio.Event()
    watcher = asyncio.ensure_future(_watch_disconnect(receive, gone))
    blocks = file_blocks(body)
    try:
        start = {"type": "http.response.start", "status": plan.status, "headers": plan.raw_headers}
        await send(start)
        async for block in blocks:
            if gone.is_set():
                break
            await send({"type": "http.response.body", "body": block, "more_body": True})
        else:
            await send({"type": "http.response.body", "body": b""})
    finally:
        watcher.cancel()
        await blocks.aclose()
        if body.fileno() >= 0:  # the start was never sent: no block was read
            await in_thread(body.close)


async def _zerocopy(send: Send, plan: Plan, body: FileBody) -> None:
    """One file span through the server's ``zerocopysend``: it sends from our checked descriptor.

    The descriptor is released once the server has sent it, or whatever goes wrong.
    """
    span = body.span
    assert span is not None
    offset, count = span
    file = os.fdopen(body.detach(), "rb", buffering=0, closefd=True)
    try:
        start = {"type": "http.response.start", "status": plan.status, "headers": plan.raw_headers}
        await send(start)
        await send({"type": _ZEROCOPY, "file": file, "offset": offset, "count": count})
    finally:
        await in_thread(file.close)


async def _watch_disconnect(receive: Receive, gone: asyncio.Event) -> None:
    """Set *gone* once the client disconnects (a GET or HEAD has no body to wait for)."""
    while True:
        message = await receive()
        if message.get("type") == "http.disconnect":
            gone.set()
            return
