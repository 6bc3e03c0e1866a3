"""Starlette and FastAPI on their own terms: ``install(app, root, prefix, **options)``.

One call puts staticmw's ASGI middleware around the application (files, and early hints for
its pages) and adds a route named ``static``, the name Starlette's own ``StaticFiles`` mount
takes, so the templates' ``url_for('static', path='css/app.css')`` gives the hashed URL (on
``static_host`` when set) and notes it for the page's hints. It returns the middleware, whose
``static_url``, ``importmap_tag``, ``stylesheet_tag`` and ``script_tag`` a template may use
too (:func:`template_globals` adds the tags to ``Jinja2Templates``); ``app.state.staticmw``
holds it for ``staticmw check``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from starlette.datastructures import URL, URLPath
from starlette.routing import Match, Mount

from ..serve.options import ConfigurationError
from .asgi import ASGIStaticMiddleware, Receive, Scope, Send

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from typing_extensions import Unpack

    from ..serve.options import OptionValues

__all__ = ["StaticRoute", "install", "template_globals"]


async def _not_wrapped(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("staticmw: the application's middleware stack is not built yet")


def install(
    app: Starlette,
    root: str | os.PathLike[str] | None = None,
    prefix: str = "/static/",
    *,
    name: str = "static",
    templates: Any = None,
    **options: Unpack[OptionValues],
) -> ASGIStaticMiddleware:
    """Serve *root* under *prefix* around *app*, with ``url_for(name, path=...)`` hashed.

    *templates* (a ``Jinja2Templates``) gets ``importmap_tag``, ``stylesheet_tag`` and
    ``script_tag`` as globals. Call it before the application starts, as
    ``add_middleware`` must be.
    """
    if getattr(app, "middleware_stack", None) is not None:
        raise ConfigurationError("install() must be called before the application starts")
    static = ASGIStaticMiddleware(_not_wrapped, root, prefix, **options)
    app.add_middleware(_Around, static=static)
    app.router.routes.append(StaticRoute(prefix, static, name=name))
    app.state.staticmw = static
    if templates is not None:
        template_globals(templates, static)
    return static


class _Around:
    """What Starlette builds into its middleware stack: the installed middleware, around the
    rest of the stack (which it answers for whatever is not a file of its roots)."""

    def __init__(self, app: Callable[..., Any], static: ASGIStaticMiddleware):
        static.app = app
        self.static = static

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.static(scope, receive, send)


class StaticRoute(Mount):
    """A route named for the static files whose ``url_for(name, path=...)`` is a file's
    hashed URL. It matches no request: the middleware answers for the files, and what it
    passes on (no such file) goes to the application's other routes and its 404."""

    def __init__(self, prefix: str, static: ASGIStaticMiddleware, name: str = "static"):
        super().__init__("/" + prefix.strip("/"), app=_never_called, name=name)
        self.static = static

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        if name == self.name and set(path_params) == {"path"}:
            return _StaticPath.of(self.static.static_url(str(path_params["path"])))
        return super().url_path_for(name, **path_params)


async def _never_called(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("staticmw: the static route matches no request")


class _StaticPath(URLPath):
    """A static file's URL for ``url_for``: a path below the application's root, or a URL
    on ``static_host``, kept as it is (scheme included) when made absolute."""

    absolute = ""

    @classmethod
    def of(cls, url: str) -> _StaticPath:
        parts = urlsplit(url)
        if not parts.netloc:
            return cls(url)
        found = cls(url[url.index(parts.netloc) + len(parts.netloc) :], host=parts.netloc)
        found.absolute = url
        return found

    def make_absolute_url(self, base_url: str | URL) -> URL:
        if self.absolute:
            return URL(self.absolute)
        return super().make_absolute_url(base_url)


def template_globals(templates: Any, static: ASGIStaticMiddleware) -> None:
    """``importmap_tag``, ``stylesheet_tag`` and ``script_tag`` for a ``Jinja2Templates``, as
    safe HTML: each tag escapes every value it writes, so autoescaping must leave it alone."""
    from markupsafe import Markup

    def importmap_tag(entry: str | None = None, **kwargs: Any) -> Markup:
        return Markup(static.importmap_tag(entry, **kwargs))

    def stylesheet_tag(name: str, **kwargs: Any) -> Markup:
        return Markup(static.stylesheet_tag(name, **kwargs))

    def script_tag(name: str, **kwargs: Any) -> Markup:
        return Markup(static.script_tag(name, **kwargs))

    templates.env.globals.update(
        importmap_tag=importmap_tag, stylesheet_tag=stylesheet_tag, script_tag=script_tag
    )
