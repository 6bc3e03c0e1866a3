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
    module = {"whitenoise": "whitenoise", "servestatic": "servestatic"}.get(name.split("-")[0])
    return module is None or importlib.util.find_spec(module) is not None


def build(name: str, root: str) -> Callable[..., Any]:
    """The WSGI application for a peer name, serving *root* under ``/static/``."""
    if name == "bare":
        return tiny_app
    if name in ("staticmw", "staticmw-autorefresh"):
        from staticmw import StaticMiddleware

        return StaticMiddleware(tiny_app, root, PREFIX, autorefresh=name.endswith("autorefresh"))
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


def asgi_available(name: str) -> bool:
    module = {"servestatic-asgi": "servestatic", "starlette": "starlette"}.get(name)
    return module is None or importlib.util.find_spec(module) is not None


def build_asgi(name: str, root: str) -> Callable[..., Any]:
    """The ASGI application for a peer name, serving *root* under ``/static/``."""
    if name == "bare-asgi":
        return tiny_asgi_app
    if name == "staticmw-asgi":
        from staticmw.asgi import StaticMiddleware

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
