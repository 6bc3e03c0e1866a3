"""The WSGI adapter: hand the environ to the core, send what it answers.

``staticmw.middleware`` is the same module under its earlier name.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .bodies import BLOCK_SIZE, FileBody, FileChangedError
from .core import StaticFiles
from .mounts import MountInfo, Redirect
from .options import ConfigurationError
from .plan import Body
from .request import wsgi_request

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .options import OptionValues

__all__ = [
    "FileChangedError",
    "MountInfo",
    "Redirect",
    "StaticMiddleware",
    "no_application",
    "wsgi_request",
]

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
    :class:`~staticmw.core.StaticFiles`'s.
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
                # Bytes held in memory come as a tuple, sent as they are.
                return body if type(body) is tuple else wsgi_body(body, environ)
        return self.application(environ, start_response)

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
