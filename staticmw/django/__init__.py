"""Django: ``"staticmw.django.StaticFilesMiddleware"`` in ``MIDDLEWARE`` serves ``STATIC_ROOT``.

Put it right after ``SecurityMiddleware``. It serves what ``collectstatic`` gathered at
``STATIC_URL`` (honouring ``FORCE_SCRIPT_NAME``), reads ``staticfiles.json`` from
``ManifestStaticFilesStorage`` so hashed names are cached for a year, and takes the
middleware's options from ``STATICMW_<OPTION>`` settings (``STATICMW_MAX_AGE``, ...).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from time import monotonic
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponseBase, StreamingHttpResponse

from .middleware import StaticMiddleware, no_application, wsgi_body, wsgi_request
from .options import KEYWORD_OPTIONS, ConfigurationError, setting_names, unknown_settings

log = logging.getLogger("staticmw.django")

# STATICMW_<NAME> settings and the option each one sets.
OPTIONS = KEYWORD_OPTIONS


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


def _options() -> dict[str, Any]:
    """The middleware's options from ``STATICMW_<OPTION>`` settings; unknown ones are warned of."""
    names = dict(zip(setting_names(OPTIONS), OPTIONS, strict=True))
    present = [name for name in dir(settings) if name.startswith("STATICMW_")]
    for message in unknown_settings(present, [*names, "STATICMW_ROOT"]):
        log.warning("%s", message)
    return {option: getattr(settings, name) for name, option in names.items() if name in present}


class StaticFilesMiddleware:
    """Serve ``STATIC_ROOT`` at ``STATIC_URL``; everything else goes down the middleware chain.

    ``STATICMW_ROOT``, when set, is served instead of ``STATIC_ROOT``: the output of
    ``staticmw build`` over ``STATIC_ROOT``, with precompressed variants.
    A root that does not exist yet stops a production start with
    ``ImproperlyConfigured``; under ``DEBUG`` it is warned of once, requests pass
    through to Django, and the directory is served as soon as it appears.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response
        # STATICMW_ROOT: the output of `staticmw build` over STATIC_ROOT, served instead.
        root = getattr(settings, "STATICMW_ROOT", None) or getattr(settings, "STATIC_ROOT", None)
        if not root:
            raise ImproperlyConfigured(
                "staticmw: STATIC_ROOT is not set or empty; set it to the directory "
                "collectstatic fills (and run collectstatic)"
            )
        self.root = os.fspath(root)
        built = bool(getattr(settings, "STATICMW_ROOT", None))
        self._setting = "STATICMW_ROOT" if built else "STATIC_ROOT"
        self._fix = (
            "`python manage.py collectstatic --noinput`, then `staticmw build STATIC_ROOT "
            "--out STATICMW_ROOT`"
            if built
            else "`python manage.py collectstatic --noinput`"
        )
        self.options = _options()
        self.static: StaticMiddleware | None = None
        self._next_look = 0.0
        if os.path.isdir(self.root) or not settings.DEBUG:
            self.static = self._build()
        else:
            log.warning(
                "staticmw: %s %s does not exist yet, so static files pass through to "
                "Django; run %s to create it",
                self._setting,
                self.root,
                self._fix,
            )

    def _build(self) -> StaticMiddleware:
        if not os.path.isdir(self.root):
            raise ImproperlyConfigured(
                f"staticmw: {self._setting} {self.root!r} does not exist or is not a directory: "
                f"run {self._fix} before starting the server"
            )
        try:
            return StaticMiddleware(no_application, self.root, static_prefix(), **self.options)
        except ConfigurationError as exc:
            raise ImproperlyConfigured(f"staticmw: {exc}") from None

    def _current(self) -> StaticMiddleware | None:
        """The middleware, built once STATIC_ROOT exists (looked for once a second)."""
        if self.static is None and monotonic() >= self._next_look:
            self._next_look = monotonic() + 1.0
            if os.path.isdir(self.root):
                self.static = self._build()
                log.info("staticmw: %s %s now exists and is served", self._setting, self.root)
        return self.static

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        static = self.static or self._current()
        if static is None:
            return self.get_response(request)
        environ = getattr(request, "environ", None)
        # META has the CGI-style keys a WSGI environ has. The path in its PEP 3333
        # form (bytes as latin-1 text) is PATH_INFO under WSGI; under ASGI it is
        # rebuilt from Django's decoded path.
        if environ is not None:
            path = environ.get("PATH_INFO", "")
        else:
            path = request.path_info.encode("utf-8").decode("latin-1")
        if not static.handles(path):
            return self.get_response(request)
        answer = static.answer(wsgi_request(request.META, path))
        if answer is None:
            return self.get_response(request)
        plan, body = answer
        response = StreamingHttpResponse(wsgi_body(body, environ or {}), status=plan.status)
        for name, value in plan.headers:
            response[name] = value
        return response
