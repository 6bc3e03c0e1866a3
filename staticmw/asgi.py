"""ASGI: ``StaticMiddleware(app, root, prefix, **options)`` with the WSGI middleware's decisions.

The same options, ``add_files``, ``static_url`` and ``roots`` as
:class:`staticmw.StaticMiddleware`, whose instance (``.files``) makes every decision:
path rules, resolution, headers, preconditions, ranges, encodings and the memory
cache. This module only maps the scope to that request and sends the answer. An
answer held in memory is sent from the event loop; anything that touches the file
system (lookups, rechecks, opens, reads) runs in the loop's default thread pool, so
the loop never waits on a disk. Runs under asyncio (Uvicorn, Hypercorn, Granian).
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping, Sequence
from typing import Any, TypeVar
from urllib.parse import unquote_to_bytes

from .explain import Explanation
from .middleware import StaticMiddleware as _Files
from .middleware import no_application
from .options import ConfigurationError
from .plan import Plan

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_T = TypeVar("_T")


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
    if isinstance(raw, bytes):
        decoded = unquote_to_bytes(raw.split(b"?", 1)[0]).decode("latin-1")
    else:
        decoded = str(scope.get("path", "")).encode("utf-8", "surrogateescape").decode("latin-1")
    root = str(scope.get("root_path") or "").encode("utf-8", "surrogateescape").decode("latin-1")
    if root and (decoded == root or decoded.startswith(root.rstrip("/") + "/")):
        decoded = decoded[len(root.rstrip("/")) :]
    return decoded


def request_of(scope: Scope) -> dict[str, str]:
    """The protocol-neutral request: method, query and CGI-style ``HTTP_*`` header keys."""
    request = {
        "REQUEST_METHOD": str(scope.get("method", "GET")),
        "QUERY_STRING": bytes(scope.get("query_string", b"")).decode("latin-1"),
    }
    for name, value in scope.get("headers", ()):
        field = bytes(name).decode("latin-1")
        if "_" in field:
            # "If_None_Match" would pose as If-None-Match once mapped; WSGI servers
            # such as Gunicorn drop such fields for the same reason.
            continue
        key = "HTTP_" + field.upper().replace("-", "_")
        text = bytes(value).decode("latin-1")
        # Repeated fields are one list, as a WSGI server joins them (RFC 9110 §5.3).
        request[key] = f"{request[key]},{text}" if key in request else text
    return request


async def _in_thread(function: Callable[..., _T], *args: Any) -> _T:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, functools.partial(function, *args))


class StaticMiddleware:
    """Serve files under URL prefixes from allowed roots; pass everything else to *app*.

    ``websocket`` and ``lifespan`` scopes, paths under no prefix and misses go to
    *app* with their scope and ``receive`` untouched.
    """

    def __init__(
        self,
        app: ASGIApp,
        root: str | os.PathLike[str] | None = None,
        prefix: str | None = None,
        **options: Any,
    ):
        if not callable(app):
            raise ConfigurationError("app must be an ASGI application")
        self.app = app
        self.files = _Files(no_application, root, prefix, **options)

    def add_files(
        self, root: str | os.PathLike[str], prefix: str | None = None, **kwargs: Any
    ) -> None:
        """Serve another directory, as :meth:`staticmw.StaticMiddleware.add_files`."""
        self.files.add_files(root, prefix, **kwargs)

    def static_url(self, name: str) -> str:
        """The cache-busted URL for a logical name, as the WSGI middleware gives it."""
        return self.files.static_url(name)

    @property
    def roots(self) -> list[tuple[str, str]]:
        """``(prefix, directory)`` pairs in the order they are tried."""
        return self.files.roots

    def explain(self, url: str, accept_encoding: str | None = None) -> Explanation:
        """Why *url* is served, redirected or passed through."""
        return self.files.explain(url, accept_encoding)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        files = self.files
        path = path_info(scope)
        if not files.handles(path) or files.known_miss(path):
            await self.app(scope, receive, send)
            return
        request = request_of(scope)
        answer: tuple[Plan, Iterable[bytes]] | None = files.answer_from_memory(path, request)
        if answer is None:
            answer = await _in_thread(files.answer, path, request)
            if answer is None:
                await self.app(scope, receive, send)
                return
        plan, body = answer
        await _send(send, receive, plan, body)


# ASGI header lists for the header tuples that representations share (their 200
# and 304 headers), made once; bounded, since other plans build fresh lists.
_ENCODED: dict[Sequence[tuple[str, str]], list[tuple[bytes, bytes]]] = {}
_ENCODED_LIMIT = 4096


def _encoded(headers: Sequence[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    shared = isinstance(headers, tuple)
    if shared:
        found = _ENCODED.get(headers)
        if found is not None:
            return found
    encoded = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]
    if shared and len(_ENCODED) < _ENCODED_LIMIT:
        _ENCODED[headers] = encoded
    return encoded


async def _send(send: Send, receive: Receive, plan: Plan, body: Iterable[bytes]) -> None:
    headers = _encoded(plan.headers)
    await send({"type": "http.response.start", "status": plan.status, "headers": headers})
    if isinstance(body, list):
        await send({"type": "http.response.body", "body": b"".join(body)})
        return
    # A file body: each block is read off the loop, the transfer stops when the
    # client disconnects, and the descriptor is released whatever happens.
    gone = asyncio.Event()
    watcher = asyncio.ensure_future(_watch_disconnect(receive, gone))
    blocks: Iterator[bytes] = iter(body)
    try:
        while not gone.is_set():
            block = await _in_thread(next, blocks, None)
            if block is None:
                await send({"type": "http.response.body", "body": b""})
                break
            await send({"type": "http.response.body", "body": block, "more_body": True})
    finally:
        watcher.cancel()
        close = getattr(body, "close", None)
        if close is not None:
            await _in_thread(close)


async def _watch_disconnect(receive: Receive, gone: asyncio.Event) -> None:
    """Set *gone* once the client disconnects (a GET or HEAD has no body to wait for)."""
    while True:
        message = await receive()
        if message.get("type") == "http.disconnect":
            gone.set()
            return
