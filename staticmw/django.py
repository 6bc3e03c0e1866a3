"""Django: ``"staticmw.django.StaticFilesMiddleware"`` in ``MIDDLEWARE`` serves ``STATIC_ROOT``.

Put it right after ``SecurityMiddleware``. It serves what ``collectstatic`` gathered at
``STATIC_URL`` (honouring ``FORCE_SCRIPT_NAME``), reads ``staticfiles.json`` from
``ManifestStaticFilesStorage`` so hashed names are cached for a year, and takes the
middleware's options from ``STATICMW_<OPTION>`` settings (``STATICMW_MAX_AGE``, ...).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponseBase, StreamingHttpResponse

from .middleware import StaticMiddleware
from .options import KEYWORD_OPTIONS, ConfigurationError

# STATICMW_<NAME> settings and the option each one sets.
OPTIONS = KEYWORD_OPTIONS


def _not_ours(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    raise AssertionError("StaticFilesMiddleware passes requests on itself")


def static_prefix() -> str:
    """The URL path below the script name where static files live, from ``STATIC_URL``."""
    static_url = getattr(settings, "STATIC_URL", None)
    if not static_url:
        raise ImproperlyConfigured("staticmw: STATIC_URL is not set")
    path = urlsplit(str(static_url)).path or "/"
    if not path.startswith("/"):
        path = "/" + path
    script = (getattr(settings, "FORCE_SCRIPT_NAME", None) or "").rstrip("/")
    if script and path.startswith(script + "/"):
        # PATH_INFO never carries the script name, so neither does the prefix.
        path = path[len(script) :]
    return path


class StaticFilesMiddleware:
    """Serve ``STATIC_ROOT`` at ``STATIC_URL``; everything else goes down the middleware chain."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response
        root = getattr(settings, "STATIC_ROOT", None)
        if not root:
            raise ImproperlyConfigured(
                "staticmw: STATIC_ROOT is not set or empty; set it to the directory "
                "collectstatic fills (and run collectstatic)"
            )
        options = {
            option: getattr(settings, "STATICMW_" + option.upper())
            for option in OPTIONS
            if hasattr(settings, "STATICMW_" + option.upper())
        }
        try:
            self.static = StaticMiddleware(_not_ours, root, static_prefix(), **options)
        except ConfigurationError as exc:
            raise ImproperlyConfigured(f"staticmw: {exc}") from None

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        environ = getattr(request, "environ", None)
        if environ is None:
            # Under ASGI there is no WSGI environ: rebuild the parts that matter,
            # with PATH_INFO in its PEP 3333 form (bytes as latin-1 text).
            environ = dict(request.META)
            environ["PATH_INFO"] = request.path_info.encode("utf-8").decode("latin-1")
        answer = self.static.serve(environ)
        if answer is None:
            return self.get_response(request)
        status, headers, body = answer
        response = StreamingHttpResponse(body, status=int(status[:3]))
        for name, value in headers:
            response[name] = value
        return response
