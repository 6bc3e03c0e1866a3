"""The WSGI adapter: map the environ to a request, send what the core answers."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterable, Mapping
from time import monotonic
from typing import TYPE_CHECKING, Any

from . import encodings, responses
from .bodies import BLOCK_SIZE, FileBody, FileChangedError
from .core import Answer, StaticFiles
from .files import Representation
from .mounts import MountInfo, Redirect
from .options import ConfigurationError
from .request import Request

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


def wsgi_request(environ: Mapping[str, Any], path: str | None = None) -> Request:
    """The core's request from a WSGI environ (or Django's ``META``, which has the same keys)."""
    get = environ.get
    return Request(
        get("REQUEST_METHOD", "GET"),
        get("PATH_INFO", "") if path is None else path,
        get("QUERY_STRING", ""),
        get("HTTP_ACCEPT_ENCODING"),
        get("HTTP_IF_MATCH"),
        get("HTTP_IF_UNMODIFIED_SINCE"),
        get("HTTP_IF_NONE_MATCH"),
        get("HTTP_IF_MODIFIED_SINCE"),
        get("HTTP_RANGE"),
        get("HTTP_IF_RANGE"),
        get("HTTP_AVAILABLE_DICTIONARY"),
        get("HTTP_SEC_FETCH_SITE"),
        get("HTTP_SEC_FETCH_MODE"),
        get("HTTP_ORIGIN"),
    )


def honours_content_length(wrapper: Any) -> bool:
    """Whether a server's file_wrapper sends only Content-Length bytes from the current offset.

    Gunicorn's does (sendfile with offset = tell(), count = Content-Length);
    others, such as wsgiref's, read to EOF, so they get a bounded iterator.
    """
    return getattr(wrapper, "__module__", "").startswith("gunicorn.")


def wsgi_body(body: list[bytes] | FileBody, environ: Mapping[str, Any]) -> Iterable[bytes]:
    """The WSGI body: one file span goes to Gunicorn's ``wsgi.file_wrapper`` (sendfile)."""
    if isinstance(body, FileBody):
        span = body.span
        wrapper = environ.get("wsgi.file_wrapper")
        if span is not None and wrapper is not None and honours_content_length(wrapper):
            fileobj = io.FileIO(body.detach(), "rb", closefd=True)
            fileobj.seek(span[0])
            return wrapper(fileobj, BLOCK_SIZE)  # type: ignore[no-any-return]
    return body


# Stands for "not from memory" in the fast path: a representation that holds no bytes.
_ASK_THE_CORE = Representation(os.devnull, "identity", 0, 0, '""', None, False, ())


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
        if path.startswith(self._raw_prefixes) or path in self._bare_prefixes:
            # Fast path: a remembered file held in memory and checked within the
            # interval; everything else asks the core. core.from_memory, written
            # out (with §13.2.2's usual revalidation first): the hottest path there is.
            resource = self._resources.get(path)
            # (Under autorefresh nothing is fresh: every request asks the core.)
            if resource is not None and self._recheck_interval:
                reps = resource.representations
                get = environ.get
                if len(reps) == 1:
                    rep = reps[0]
                elif resource.deltas and "HTTP_AVAILABLE_DICTIONARY" in environ:
                    rep = _ASK_THE_CORE  # it may get a delta: the core chooses
                else:
                    rep = reps[encodings.choose(resource.available, get("HTTP_ACCEPT_ENCODING"))]
                content = rep.content
                if content is not None and monotonic() - rep.checked < self._recheck_interval:
                    method = get("REQUEST_METHOD")
                    if method == "GET" or method == "HEAD":
                        if_none_match = get("HTTP_IF_NONE_MATCH")
                        if_match = get("HTTP_IF_MATCH")
                        if_unmodified_since = get("HTTP_IF_UNMODIFIED_SINCE")
                        if (
                            if_none_match == rep.etag
                            and if_match is None
                            and if_unmodified_since is None
                        ):
                            plan = rep.plan_304
                        else:
                            plan = responses.respond(
                                method,
                                rep,
                                if_match,
                                if_unmodified_since,
                                if_none_match,
                                get("HTTP_IF_MODIFIED_SINCE"),
                                get("HTTP_RANGE"),
                                get("HTTP_IF_RANGE"),
                            )
                        start_response(plan.status_line, list(plan.headers))
                        if method == "HEAD" or not plan.body:
                            return []
                        return [responses.materialize(plan.body, content)]
            if not self._cache.known_miss(path):
                answer = self.answer(wsgi_request(environ, path))
                if answer is not None:
                    plan, body = answer
                    # A copy: outer middleware may append to the list it is given.
                    start_response(plan.status_line, list(plan.headers))
                    return wsgi_body(body, environ)
        return self.application(environ, start_response)

    def serve(self, environ: Environ) -> tuple[str, list[tuple[str, str]], Iterable[bytes]] | None:
        """Answer a request that is ours: ``(status, headers, body)``; ``None`` passes it on.

        For framework glue that builds its own response objects. The body must be
        consumed or closed, like any WSGI body.
        """
        path = environ.get("PATH_INFO", "")
        if not self.handles(path):
            return None
        answer: Answer | None = self.answer(wsgi_request(environ, path))
        if answer is None:
            return None
        plan, body = answer
        return plan.status_line, list(plan.headers), wsgi_body(body, environ)
