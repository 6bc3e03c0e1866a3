"""The servers measured against each other, each wrapping the same tiny application.

Used in-process by ``run.py`` and by Gunicorn through ``gunicorn_app.py``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

PREFIX = "/static/"


def tiny_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """The wrapped application: the pass-through ceiling ("bare")."""
    body = b"hello from the app\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def available(name: str) -> bool:
    peers = {"whitenoise": "whitenoise", "servestatic": "servestatic"}
    peers["staticmw@base"] = "staticmw_baseline"
    module = peers.get(name) or peers.get(name.split("-")[0])
    return module is None or importlib.util.find_spec(module) is not None


def build(name: str, root: str) -> Callable[..., Any]:
    """The WSGI application for a peer name, serving *root* under ``/static/``."""
    if name == "bare":
        return tiny_app
    if name in ("staticmw", "staticmw-autorefresh"):
        from staticmw import StaticMiddleware

        return StaticMiddleware(tiny_app, root, PREFIX, autorefresh=name.endswith("autorefresh"))
    if name == "staticmw@base":  # the package at another git ref (run.py --baseline)
        baseline = importlib.import_module("staticmw_baseline")
        return baseline.StaticMiddleware(tiny_app, root, PREFIX)  # type: ignore[no-any-return]
    if name in ("whitenoise", "whitenoise-autorefresh"):
        from whitenoise import WhiteNoise

        return WhiteNoise(tiny_app, root, PREFIX, autorefresh=name.endswith("autorefresh"))
    if name == "servestatic":
        from servestatic import ServeStatic

        return ServeStatic(tiny_app, root, PREFIX)
    if name == "werkzeug":
        from werkzeug.middleware.shared_data import SharedDataMiddleware

        return SharedDataMiddleware(tiny_app, {PREFIX.rstrip("/"): root})
    raise ValueError(f"unknown peer {name!r}")


ALL = [
    "bare",
    "staticmw",
    "staticmw-autorefresh",
    "whitenoise",
    "whitenoise-autorefresh",
    "servestatic",
    "werkzeug",
]


# -- ASGI --------------------------------------------------------------------------

ASGI = ["bare-asgi", "staticmw-asgi", "servestatic-asgi", "starlette"]


async def tiny_asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The wrapped ASGI application: the pass-through ceiling ("bare-asgi")."""
    body = b"hello from the app\n"
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class ReplayASGI:
    """The ASGI ceiling ("bare-asgi"): staticmw's exact responses for small files, from a dict.

    At start it records, for every file up to 256 KiB, the status, headers and body
    that staticmw sends for a plain GET, for gzip and br, and for a revalidation
    with the ETag. A request then costs one dictionary lookup and a pass over its
    headers: the same bytes as staticmw, with no file server behind them. Anything
    else gets the tiny app's answer.
    """

    LIMIT = 256 * 1024

    def __init__(self, root: str):
        import os

        from staticmw import Request, StaticFiles

        files = StaticFiles(root, PREFIX)
        self.table: dict[tuple[bytes, str], tuple[list, bytes, bytes, list]] = {}
        self.paths: set[bytes] = set()
        for directory, _, names in os.walk(root):
            for name in names:
                full = os.path.join(directory, name)
                if os.path.getsize(full) > self.LIMIT:
                    continue
                path = PREFIX + os.path.relpath(full, root).replace(os.sep, "/")
                for coding in ("identity", "gzip", "br"):
                    accept = None if coding == "identity" else coding
                    answer = files.answer(Request("GET", path, accept_encoding=accept))
                    if answer is None or not isinstance(answer[1], (list, tuple)):
                        continue  # a file body (too large to hold): not replayed
                    plan, body = answer
                    etag = dict(plan.headers).get("ETag", "")
                    again = Request("GET", path, accept_encoding=accept, if_none_match=etag)
                    revalidated = files.answer(again)
                    assert revalidated is not None
                    self.paths.add(path.encode())
                    self.table[(path.encode(), coding)] = (
                        plan.raw_headers,
                        b"".join(body),
                        etag.encode(),
                        revalidated[0].raw_headers,
                    )

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        raw = scope["raw_path"]
        if raw not in self.paths:
            await tiny_asgi_app(scope, receive, send)
            return
        accept = if_none_match = b""
        for name, value in scope["headers"]:
            if name == b"accept-encoding":
                accept = value
            elif name == b"if-none-match":
                if_none_match = value
        coding = "br" if b"br" in accept else "gzip" if b"gzip" in accept else "identity"
        entry = self.table.get((raw, coding)) or self.table[(raw, "identity")]
        headers, body, etag, headers_304 = entry
        if if_none_match and if_none_match == etag:
            await send({"type": "http.response.start", "status": 304, "headers": headers_304})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def asgi_available(name: str) -> bool:
    module = {"servestatic-asgi": "servestatic", "starlette": "starlette"}.get(name)
    return module is None or importlib.util.find_spec(module) is not None


def build_asgi(name: str, root: str) -> Callable[..., Any]:
    """The ASGI application for a peer name, serving *root* under ``/static/``."""
    if name == "bare-asgi":
        return ReplayASGI(root)
    if name == "staticmw-asgi":
        from staticmw.integrations.asgi import StaticMiddleware

        return StaticMiddleware(tiny_asgi_app, root, PREFIX)
    if name == "servestatic-asgi":
        from servestatic import ServeStaticASGI

        return ServeStaticASGI(tiny_asgi_app, root, PREFIX)
    if name == "starlette":
        from starlette.applications import Starlette
        from starlette.routing import Mount
        from starlette.staticfiles import StaticFiles

        return Starlette(routes=[Mount(PREFIX.rstrip("/"), StaticFiles(directory=root))])
    raise ValueError(f"unknown ASGI peer {name!r}")
