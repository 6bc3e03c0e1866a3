"""Django: ``"staticmw.django.StaticFilesMiddleware"`` in ``MIDDLEWARE`` serves ``STATIC_ROOT``.

Put it right after ``SecurityMiddleware``. It serves what ``collectstatic`` gathered at
``STATIC_URL`` (honouring ``FORCE_SCRIPT_NAME``), reads ``staticfiles.json`` so hashed
names are cached for a year, and takes the middleware's options from
``STATICMW_<OPTION>`` settings (``STATICMW_MAX_AGE``, ...). With ``DEBUG`` on it serves
straight from the staticfiles finders and picks up edits (``STATICMW_USE_FINDERS`` and
``STATICMW_AUTOREFRESH``). It works under WSGI and ASGI; for production under ASGI,
:func:`get_asgi_application` answers static requests before Django is involved.
Add ``"staticmw.django"`` to ``INSTALLED_APPS`` (before ``django.contrib.staticfiles``)
for its system checks and a ``runserver`` that leaves static files to the middleware.
"""

from __future__ import annotations

import functools
import io
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from time import monotonic
from typing import Any, TypeVar
from urllib.parse import urlsplit

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    StreamingHttpResponse,
)

from ...hints import memory
from ...hints.pagelinks import Navigation, PageLinks
from ...http.messages import Answer, Plan
from ...http.request import ACCEPT, AUTHORIZATION, HOST, SEC_FETCH_MODE, wsgi_request
from ...manifest.formats import MANIFEST_NAME, find_in_root
from ...serve.bodies import BLOCK_SIZE, FileBody
from ...serve.core import StaticFiles
from ...serve.options import (
    KEYWORD_OPTIONS,
    UNSET,
    ConfigurationError,
    from_settings,
    not_a_directory,
    setting_names,
    unknown_setting_names,
    unknown_settings,
)
from ..asgi import end_of, file_blocks, in_thread, links_for
from ..wsgi import honours_content_length, send_early_hints
from .migration import setting, warn_once

log = logging.getLogger("staticmw.django")

# STATICMW_<NAME> settings and the option each one sets.
OPTIONS = KEYWORD_OPTIONS
# Settings of this glue itself, beside the options.
OWN_SETTINGS = (
    "STATICMW_ROOT",
    "STATICMW_USE_FINDERS",
    "STATICMW_KEEP_ONLY_HASHED_FILES",
    "STATICMW_SKIP_COMPRESS_EXTENSIONS",
    "STATICMW_JS_MODULES",
    "STATICMW_IMPORTMAP",
    "STATICMW_STATIC_PREFIX",
    "STATICMW_ROOT_FILES",
    "STATICMW_STRICT",
    "STATICMW_KEEP",
    "STATICMW_HISTORY",
    "STATICMW_DICTIONARIES",
)
# Every STATICMW_* setting staticmw reads.
_KNOWN = (*setting_names(OPTIONS), *OWN_SETTINGS)

_Static = TypeVar("_Static", bound=StaticFiles)
_Response = TypeVar("_Response", bound=HttpResponseBase)


def static_prefix() -> str:
    """The URL path below the script name where static files live: ``STATICMW_STATIC_PREFIX``
    when set, else the path of ``STATIC_URL``."""
    chosen = setting("STATICMW_STATIC_PREFIX")
    if chosen is not None:
        if not isinstance(chosen, str) or not chosen.strip("/"):
            raise ImproperlyConfigured(
                f"staticmw: STATICMW_STATIC_PREFIX must be a URL path such as '/assets/', "
                f"got {chosen!r}"
            )
        return "/" + chosen.strip("/") + "/"
    return static_url_path()


def static_url_path() -> str:
    """The path of ``STATIC_URL`` below the script name, as a prefix (``/static/``)."""
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


def use_finders() -> bool:
    """Whether to serve from the staticfiles finders (default: ``DEBUG``)."""
    return bool(setting("STATICMW_USE_FINDERS", settings.DEBUG))


def _options(warn: bool = True) -> dict[str, Any]:
    """The options from ``STATICMW_<OPTION>`` settings, each checked and a bad one named;
    unknown ones are warned of (once, unless *warn* is false: the system check says them
    its own way). Under ``DEBUG``, development's rule (see
    :func:`~staticmw.serve.options.from_settings`)."""
    if warn:
        for message in unknown_settings(_present(), _KNOWN):
            warn_once(message)
    try:
        return from_settings(
            lambda key: setting(key, UNSET), OPTIONS, development=bool(settings.DEBUG)
        )
    except ConfigurationError as exc:
        raise ImproperlyConfigured(f"staticmw: {exc}") from None


def unknown() -> list[tuple[str, str]]:
    """``(name, likely intended name or "")`` for each ``STATICMW_*`` setting that staticmw
    does not read: a typo."""
    return unknown_setting_names(_present(), _KNOWN)


def _present() -> list[str]:
    return [name for name in dir(settings) if name.startswith("STATICMW_")]


def finder_roots() -> list[tuple[str, str]]:
    """``(directory, prefix)`` for every location the staticfiles finders search, in order."""
    from django.contrib.staticfiles import finders
    from django.core.files.storage import FileSystemStorage

    prefix = static_prefix()
    roots: list[tuple[str, str]] = []
    for finder in finders.get_finders():
        locations = getattr(finder, "locations", None)
        storages = getattr(finder, "storages", None)
        if locations is not None:  # FileSystemFinder: STATICFILES_DIRS
            for sub, directory in locations:
                roots.append((directory, prefix + sub.strip("/") + "/" if sub else prefix))
        elif storages is not None:  # AppDirectoriesFinder: each app's static/
            for storage in storages.values():
                if isinstance(storage, FileSystemStorage) and os.path.isdir(storage.location):
                    roots.append((storage.location, prefix))
        else:
            log.info("staticmw: finder %s is not searched", type(finder).__name__)
    return roots


class _Roots:
    """Where the files come from: finders in development, else STATICMW_ROOT or STATIC_ROOT."""

    def __init__(self) -> None:
        # STATICMW_ROOT: the output of `staticmw build` over STATIC_ROOT, served instead.
        built = getattr(settings, "STATICMW_ROOT", None)
        root = built or getattr(settings, "STATIC_ROOT", None)
        self.finders = use_finders()
        if not root and not self.finders:
            raise ImproperlyConfigured(
                "staticmw: STATIC_ROOT is not set or empty; set it to the directory "
                "collectstatic fills (and run collectstatic)"
            )
        self.root = os.fspath(root) if root else ""
        self.setting = "STATICMW_ROOT" if built else "STATIC_ROOT"
        self.fix = (
            "`python manage.py collectstatic --noinput`, then `staticmw build STATIC_ROOT "
            "--out STATICMW_ROOT`"
            if built
            else "`python manage.py collectstatic --noinput`"
        )

        self.root_files = root_files()

    def manifest(self) -> str | None:
        """The root's manifest: whichever is there now, else the one its own step writes
        (collectstatic, or ``staticmw build`` for STATICMW_ROOT), taken once it appears."""
        if find_in_root(self.root) is not None:
            return None
        if self.setting == "STATICMW_ROOT":
            return MANIFEST_NAME
        from django.contrib.staticfiles.storage import staticfiles_storage

        # staticmw's storage names the build's record; Django's, its own manifest.
        for attribute in ("record_name", "manifest_name"):
            name = getattr(staticfiles_storage, attribute, None)
            if isinstance(name, str) and name:
                return name
        return None

    def ready(self) -> bool:
        """Whether there is something to serve now (a missing root waits under DEBUG)."""
        return self.finders or os.path.isdir(self.root) or not settings.DEBUG

    def build(self, make: Callable[[dict[str, Any]], _Static]) -> _Static:
        """A configured middleware: *make* gets the options, the roots are added here."""
        options = _options()
        try:
            static = make(options)
            if static.hints is not None:
                # An absolute STATIC_URL (a CDN) is a base the configuration chose.
                static_url = str(getattr(settings, "STATIC_URL", "") or "")
                if static_url.startswith(("https://", "http://", "//")):
                    static.hints.trust(static_url)
            if self.finders:
                for directory, prefix in finder_roots():
                    static.add_files(directory, prefix, manifest=False)
                if self.root and os.path.isdir(self.root):
                    static.add_files(self.root, static_prefix())
                return static
            if not os.path.isdir(self.root):
                raise ImproperlyConfigured(
                    f"staticmw: {self.setting} {self.root!r} {not_a_directory(self.root)}: "
                    f"run {self.fix} before starting the server"
                )
            static.add_files(self.root, static_prefix(), manifest=self.manifest())
            return static
        except ConfigurationError as exc:
            raise ImproperlyConfigured(f"staticmw: {exc}") from None

    def build_root_files(self, make: Callable[[dict[str, Any]], _Static]) -> _Static | None:
        """The middleware for ``STATICMW_ROOT_FILES`` at ``/``: exact file names only, so
        no index file and no slash redirect; ``.well-known/`` is a root of its own, since
        a dot-named folder is otherwise never served."""
        if self.root_files is None:
            return None
        options = {**_options(), "index_file": None}
        try:
            static = make(options)
            static.add_files(self.root_files, "/", manifest=False)
            well_known = os.path.join(self.root_files, ".well-known")
            if os.path.isdir(well_known):
                static.add_files(well_known, "/.well-known/", manifest=False)
            return static
        except ConfigurationError as exc:
            raise ImproperlyConfigured(f"staticmw: STATICMW_ROOT_FILES: {exc}") from None


def root_files() -> str | None:
    """``STATICMW_ROOT_FILES`` (or ``WHITENOISE_ROOT``): a directory whose files are served
    at the site root (``robots.txt``, ``favicon.ico``), checked now."""
    chosen = setting("STATICMW_ROOT_FILES")
    if not chosen:
        return None
    directory = os.path.abspath(str(os.fspath(chosen)))
    if not os.path.isdir(directory):
        raise ImproperlyConfigured(
            f"staticmw: STATICMW_ROOT_FILES {directory!r} {not_a_directory(directory)}"
        )
    return directory


def _headers(response: HttpResponseBase, plan_headers: Any) -> HttpResponseBase:
    if not any(name.lower() == "content-type" for name, _ in plan_headers):
        del response["Content-Type"]  # Django's default would claim text/html
    for name, value in plan_headers:
        response[name] = value
    return response


class _FileResponse(StreamingHttpResponse):  # type: ignore[misc]
    """One span of an open file. Django's WSGI handler gives ``file_to_stream`` to the
    server's ``wsgi.file_wrapper``, so Gunicorn sends it with sendfile."""

    block_size = BLOCK_SIZE


def _memory_response(plan: Plan, body: Sequence[bytes]) -> HttpResponseBase:
    return _headers(HttpResponse(b"".join(body), status=plan.status), plan.headers)


def sync_response(answer: Answer, environ: Any) -> HttpResponseBase:
    """A Django response for a WSGI (or sync) request."""
    plan, body = answer
    if not isinstance(body, FileBody):
        return _memory_response(plan, body)
    span = body.span
    wrapper = environ.get("wsgi.file_wrapper") if environ is not None else None
    if span is not None and wrapper is not None and honours_content_length(wrapper):
        # The body itself streams when no file wrapper takes the file; the file
        # object shares its descriptor, which closing the body releases.
        file = io.FileIO(body.fileno(), "rb", closefd=False)
        file.seek(span[0])
        response = _FileResponse(body, status=plan.status)
        response.file_to_stream = file
        return _headers(response, plan.headers)
    return _headers(StreamingHttpResponse(body, status=plan.status), plan.headers)


def async_response(answer: Answer) -> HttpResponseBase:
    """A Django response for an ASGI request: file bodies are async iterators."""
    plan, body = answer
    if not isinstance(body, FileBody):
        return _memory_response(plan, body)
    response = StreamingHttpResponse(file_blocks(body), status=plan.status)
    response._resource_closers.append(body.close)
    return _headers(response, plan.headers)


class StaticFilesMiddleware:
    """Serve static files at ``STATIC_URL``; everything else goes down the middleware chain.

    ``STATICMW_ROOT``, when set, is served instead of ``STATIC_ROOT``: the output of
    ``staticmw build`` over ``STATIC_ROOT``, with precompressed variants. A root that
    does not exist yet stops a production start with ``ImproperlyConfigured``; under
    ``DEBUG`` without finders it is warned of once, requests pass through to Django,
    and the directory is served as soon as it appears. Sync and async capable.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)
        self.roots = _Roots()
        self.root = self.roots.root
        self.static: StaticFiles | None = None
        self.root_files = self.roots.build_root_files(lambda options: StaticFiles(**options))
        self._next_look = 0.0
        if self.roots.ready():
            self.static = self._build()
        else:
            log.warning(
                "staticmw: %s %s does not exist yet, so static files pass through to "
                "Django; run %s to create it",
                self.roots.setting,
                self.root,
                self.roots.fix,
            )

    def _build(self) -> StaticFiles:
        return self.roots.build(lambda options: StaticFiles(**options))

    def _current(self) -> StaticFiles | None:
        """The middleware, built once the root exists (looked for once a second)."""
        if self.static is None and monotonic() >= self._next_look:
            self._next_look = monotonic() + 1.0
            if self.roots.ready():
                self.static = self._build()
                log.info("staticmw: %s %s now exists and is served", self.roots.setting, self.root)
        return self.static

    @staticmethod
    def _path(request: HttpRequest) -> str:
        """The request path in PEP 3333 form (PATH_INFO under WSGI; rebuilt under ASGI)."""
        environ = getattr(request, "environ", None)
        if environ is not None and "PATH_INFO" in environ:
            return str(environ["PATH_INFO"])
        return str(request.path_info).encode("utf-8").decode("latin-1")

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        path = self._path(request)
        main = self.static or self._current()
        for static in (main, self.root_files):
            if static is not None and static.handles(path):
                answer = static.answer(wsgi_request(request.META, path))
                if answer is not None:
                    return sync_response(answer, getattr(request, "environ", None))
        if main is None or main.hints is None or memory.recording():
            return self.get_response(request)
        navigation = _navigation(main.hints, request, path)
        if navigation is None:
            return _without_off(self.get_response(request))
        send_early_hints(getattr(request, "environ", {}), navigation.early)
        navigation.record()
        try:
            response = self.get_response(request)
        finally:
            navigation.pause()
        _page(navigation, response)
        return _with_links(navigation, response, navigation.links_for())

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        static = self.static
        if static is None:
            static = await in_thread(self._current)
        path = self._path(request)
        for serving in (static, self.root_files):
            if serving is not None and serving.handles(path):
                ours = wsgi_request(request.META, path)
                answer = serving.answer_from_memory(ours)
                if answer is None:
                    answer = await in_thread(serving.answer, ours)
                if answer is not None:
                    return async_response(answer)
        if static is None or static.hints is None or memory.recording():
            response: Awaitable[HttpResponseBase] = self.get_response(request)
            return await response
        navigation = _navigation(static.hints, request, path)
        if navigation is None:
            return _without_off(await self.get_response(request))
        # Django's own ASGI handler gives middleware no way to send a 103; the page's
        # Link headers still go out (get_asgi_application() sends the 103 itself).
        navigation.record()
        try:
            response = self.get_response(request)
            answered = await response
        finally:
            navigation.pause()
        _page(navigation, answered)
        return _with_links(navigation, answered, await links_for(navigation))


def _navigation(page_links: PageLinks, request: HttpRequest, path: str) -> Navigation | None:
    """The hint session of a navigation worth hinting (``None``: none). Its script root is
    the one Django's URLs are built under: ``FORCE_SCRIPT_NAME``, else the server's."""
    meta = request.META
    root = getattr(settings, "FORCE_SCRIPT_NAME", None) or meta.get("SCRIPT_NAME", "")
    return page_links.navigation(
        request.method or "",
        path,
        meta.get("QUERY_STRING", ""),
        str(meta.get("SERVER_PROTOCOL", "HTTP/1.1")),
        meta.get(SEC_FETCH_MODE),
        meta.get(ACCEPT, ""),
        meta.get(HOST, ""),
        str(root).rstrip("/"),
        AUTHORIZATION in meta,
    )


def _without_off(response: _Response) -> _Response:
    """*response* less the application's opt-out header, which is never sent on."""
    if response.has_header(memory.OFF_HEADER):
        del response[memory.OFF_HEADER]
    return response


def _page(navigation: Navigation, response: HttpResponseBase) -> None:
    """Hand *response* to the session as its final answer, then remove its opt-out header.
    Django keeps cookies apart from the headers: one that is set counts as ``Set-Cookie``."""
    headers = list(response.items())
    if response.cookies:
        headers.append(("Set-Cookie", ""))
    navigation.page(response.status_code, headers)
    _without_off(response)


def _with_links(
    navigation: Navigation, response: HttpResponseBase, links: tuple[str, ...]
) -> HttpResponseBase:
    """*response* with its page's links, after any the application set (Django holds one
    ``Link`` field, comma-separated). A streamed page that has named nothing yet renders as
    it is sent: its body is recorded, and what it names is remembered once it ends."""
    if links:
        response["Link"] = memory.add_to_link(response.get("Link"), links)
    if (
        not navigation.streams()
        or not isinstance(response, StreamingHttpResponse)
        or isinstance(response, FileResponse)  # a file names nothing; its sendfile stays
    ):
        return response
    if response.is_async:
        ended = functools.partial(end_of, navigation)
        response.streaming_content = navigation.wrap_async_body(response.streaming_content, ended)
    else:
        response.streaming_content = navigation.wrap_body(response.streaming_content)
    return response


def get_asgi_application() -> Any:
    """Django's ASGI application behind staticmw's ASGI middleware, configured from settings.

    In ``asgi.py``: ``application = staticmw.django.get_asgi_application()``. Static
    requests are answered before Django's handler is involved; the rest go to Django.
    """
    import django.core.asgi

    from ..asgi import ASGIStaticMiddleware

    roots = _Roots()
    django_app = django.core.asgi.get_asgi_application()
    django_app = (
        roots.build_root_files(lambda options: ASGIStaticMiddleware(django_app, **options))
        or django_app
    )
    if not roots.ready():
        log.warning(
            "staticmw: %s %s does not exist yet, so static files go to Django; run %s",
            roots.setting,
            roots.root,
            roots.fix,
        )
        return django_app
    return roots.build(lambda options: ASGIStaticMiddleware(django_app, **options))
