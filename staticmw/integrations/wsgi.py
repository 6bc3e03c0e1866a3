"""The WSGI adapter: hand the environ to the core, send what it answers.

``staticmw.middleware`` is the same module under its earlier name.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from ..hints import memory
from ..http.messages import Body
from ..http.request import ACCEPT, AUTHORIZATION, HOST, METHOD, SEC_FETCH_MODE, wsgi_request
from ..serve.bodies import BLOCK_SIZE, FileBody, FileChangedError
from ..serve.core import StaticFiles
from ..serve.mounts import MountInfo, Redirect
from ..serve.options import ConfigurationError

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ..hints.pagelinks import Navigation, PageLinks
    from ..serve.options import OptionValues

__all__ = [
    "FileChangedError",
    "MountInfo",
    "Redirect",
    "StaticMiddleware",
    "no_application",
    "wsgi_request",
]

log = logging.getLogger("staticmw")

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]


def no_application(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    """The wrapped application of a middleware used only for its decisions (glue)."""
    raise AssertionError("requests that pass through are handed on by the caller")


def honours_content_length(wrapper: Any) -> bool:
    """Whether a server's file_wrapper sends only Content-Length bytes from the current offset.

    Gunicorn's does (sendfile with offset = tell(), count = Content-Length);
    others, such as wsgiref's, read to EOF, so they get a bounded iterator.
    """
    return getattr(wrapper, "__module__", "").startswith("gunicorn.")


def navigation_of(
    page_links: PageLinks, environ: Mapping[str, Any], path: str
) -> Navigation | None:
    """The hint session of a WSGI request (``None``: not a navigation worth hinting), its
    fields read by the request table's keys."""
    get = environ.get
    return page_links.navigation(
        get(METHOD, ""),
        path,
        get("QUERY_STRING", ""),
        get("SERVER_PROTOCOL", ""),
        get(SEC_FETCH_MODE),
        get(ACCEPT, ""),
        get(HOST, ""),
        get("SCRIPT_NAME", ""),
        AUTHORIZATION in environ,
    )


def _without_off(
    start_response: StartResponse, status: str, headers: list[tuple[str, str]], *exc_info: Any
) -> Any:
    """``start_response`` for an answer that is not a hinted page: the application's opt-out
    header is still never sent on."""
    return start_response(status, memory.without_off(headers), *exc_info)


def send_early_hints(environ: Mapping[str, Any], values: tuple[str, ...]) -> None:
    """*values* as a 103 through the server's ``wsgi.early_hints``, where it offers one; a
    failure is logged, never raised: a hint is never worth the page."""
    early = environ.get("wsgi.early_hints")
    if values and callable(early):
        try:
            early([("Link", value) for value in values])
        except Exception as exc:
            log.warning("staticmw: early hints not sent: %r", exc)


def wsgi_body(body: Body, environ: Mapping[str, Any]) -> Iterable[bytes]:
    """The WSGI body: one file span goes to Gunicorn's ``wsgi.file_wrapper`` (sendfile)."""
    if isinstance(body, FileBody):
        span = body.span
        wrapper = environ.get("wsgi.file_wrapper")
        if span is not None and wrapper is not None and honours_content_length(wrapper):
            fileobj = io.FileIO(body.detach(), "rb", closefd=True)
            fileobj.seek(span[0])
            return wrapper(fileobj, BLOCK_SIZE)  # type: ignore[no-any-return]
    return body


class StaticMiddleware(StaticFiles):
    """Serve files under URL prefixes from allowed roots; pass everything else to *application*.

    ``StaticMiddleware(app, root="static", prefix="/static/", max_age=60, ...)``;
    more roots with :meth:`add_files`. Option names follow WhiteNoise; they are
    :class:`~staticmw.serve.core.StaticFiles`'s.
    """

    def __init__(
        self,
        application: WSGIApp,
        root: str | os.PathLike[str] | None = None,
        prefix: str | None = None,
        **options: Unpack[OptionValues],
    ):
        if not callable(application):
            raise ConfigurationError("application must be a WSGI callable")
        self.application = application
        super().__init__(root, prefix, **options)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(self.path_prefixes):  # may be ours: the core decides
            # The environ goes to the core as it is: no request object for an answer
            # held in memory, the hottest path there is.
            answer = self.answer_held(path, environ.get)
            if answer is None:
                answer = self.answer(wsgi_request(environ, path))
            if answer:
                plan, body = answer
                # A copy: outer middleware may append to the list it is given.
                start_response(plan.status_line, list(plan.headers))
                # Bytes held in memory come as a shared tuple. They go out as a list of
                # their own: servers such as Granian send a list in one write and stream
                # any other iterable, and a copy is safe from outer middleware.
                return list(body) if type(body) is tuple else wsgi_body(body, environ)
        if self.hints is None or memory.recording():
            return self.application(environ, start_response)
        if environ.get("HTTP_SEC_FETCH_MODE", "navigate") != "navigate":
            return self.application(environ, partial(_without_off, start_response))
        return self._hinted(environ, start_response, path)

    def _hinted(
        self, environ: Environ, start_response: StartResponse, path: str
    ) -> Iterable[bytes]:
        """The application's answer with early hints: the route's remembered links as a 103
        before it runs (``wsgi.early_hints``), and its page's links on the final answer."""
        assert self.hints is not None
        navigation = navigation_of(self.hints, environ, path)
        if navigation is None:
            return self.application(environ, partial(_without_off, start_response))
        if navigation.early:
            send_early_hints(environ, navigation.early)

        def start(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            return start_response(status, navigation.start(status, headers), *exc_info)

        navigation.record()
        try:
            body = self.application(environ, start)
        finally:
            navigation.pause()
        if not navigation.answered:  # a generator: it starts and renders as it is iterated
            return navigation.wrap_body(body)
        navigation.end()
        return body

    def serve(self, environ: Environ) -> tuple[str, list[tuple[str, str]], Iterable[bytes]] | None:
        """Answer a request that is ours: ``(status, headers, body)``; ``None`` passes it on.

        For framework glue that builds its own response objects. The body must be
        consumed or closed, like any WSGI body.
        """
        path = environ.get("PATH_INFO", "")
        if not self.handles(path):
            return None
        answer = self.answer(wsgi_request(environ, path))
        if answer is None:
            return None
        plan, body = answer
        return plan.status_line, list(plan.headers), wsgi_body(body, environ)
