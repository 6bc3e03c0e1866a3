"""Flask: ``StaticMW(app)`` serves the app's and every blueprint's static folder, and after
``flask staticmw build`` makes plain ``url_for("static", filename=...)`` give hashed names.

Configuration comes from ``app.config["STATICMW_<OPTION>"]`` (``STATICMW_MAX_AGE``,
``STATICMW_STATIC_HOST``, ...) over the keyword arguments given to ``StaticMW``, checked
when the extension is set up. The build goes to ``app.config["STATICMW_ROOT"]``, by default
``<instance folder>/staticmw``: when it holds a ``staticmw.json``, that build is served;
otherwise the static folders themselves are. In development (``app.debug``, or
``STATICMW_DEVELOPMENT = True``) the static folders are always served, with autorefresh,
so that edits show without a new build.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import click
from flask import Flask, current_app, has_request_context, request, url_for
from flask.cli import with_appcontext
from markupsafe import Markup

from ..build.options import SHARED, click_options, config_from, print_report
from ..hints import memory
from ..manifest.formats import MANIFEST_NAME, Manifest, ManifestFile
from ..manifest.importmaps import (
    IMPORTMAP_NAME,
    ImportMap,
    ImportMapError,
    check_declared,
    entry_url,
    render,
    script_element,
    stylesheet_link,
)
from ..manifest.urls import join, not_listed
from ..serve.options import (
    KEYWORD_OPTIONS,
    UNSET,
    ConfigurationError,
    Options,
    check_option,
    check_static_host,
    from_settings,
    not_a_directory,
    setting_names,
    unknown_settings,
)
from ..serve.watched import Watched
from .approutes import is_static_endpoint, static_routes
from .wsgi import StaticMiddleware

log = logging.getLogger("staticmw.flask")

# The build manages the manifest here, so that one option is not taken from config.
OPTIONS = tuple(name for name in KEYWORD_OPTIONS if name != "manifest")
# Settings of the extension itself, beside one per option.
SETTINGS = (*setting_names(OPTIONS), "STATICMW_ROOT", "STATICMW_DEVELOPMENT", "STATICMW_IMPORTMAP")


def validate(app: Flask, defaults: dict[str, Any]) -> None:
    """Check ``STATICMW_*`` settings now, naming the bad one; warn of unknown ones."""
    for message in unknown_settings(app.config, SETTINGS):
        log.warning("%s", message)
    development = app.config.get("STATICMW_DEVELOPMENT")
    if development is not None and not isinstance(development, bool):
        raise ConfigurationError(
            "staticmw: app.config['STATICMW_DEVELOPMENT'] must be True or False, "
            f"got {development!r}"
        )
    for option, value in defaults.items():
        _check_option(option, value, f"StaticMW({option}=...)")
    _settings(app, {})
    declared_imports(app)


def _settings(app: Flask, given: dict[str, Any], development: bool = False) -> dict[str, Any]:
    """The options of ``StaticMW(**given)`` with the app's ``STATICMW_*`` settings over
    them, each checked, a bad one named."""
    try:
        return from_settings(
            lambda key: app.config.get(key, UNSET),
            OPTIONS,
            development,
            named=lambda key: f"app.config[{key!r}]",
            given=given,
        )
    except ConfigurationError as exc:
        raise ConfigurationError(f"staticmw: {exc}") from None


def declared_imports(app: Flask) -> dict[str, str]:
    """``STATICMW_IMPORTMAP``: bare module name -> file path below the app's URL root
    (``{"chart": "static/vendor/chart.js"}``), checked."""
    declared = app.config.get("STATICMW_IMPORTMAP", {})
    if not isinstance(declared, dict):
        raise ConfigurationError(
            f"staticmw: app.config['STATICMW_IMPORTMAP'] must be a dict, got {declared!r}"
        )
    try:
        return check_declared(declared)
    except ImportMapError as exc:
        raise ConfigurationError(f"staticmw: app.config['STATICMW_IMPORTMAP']: {exc}") from None


def _check_option(option: str, value: Any, where: str) -> None:
    try:
        check_option(option, value)
    except ConfigurationError as exc:
        raise ConfigurationError(f"staticmw: {where}: {exc}") from None


def build_root(app: Flask) -> str:
    """``STATICMW_ROOT`` as an absolute path: a relative one is below ``app.root_path``, as
    Flask resolves ``static_folder``; unset, ``<instance folder>/staticmw``. A file is refused."""
    root = app.config.get("STATICMW_ROOT")
    if root is None:
        return os.path.join(app.instance_path, "staticmw")
    if not isinstance(root, (str, os.PathLike)) or not os.fspath(root):
        raise ConfigurationError(
            f"staticmw: app.config['STATICMW_ROOT'] must be a directory path, got {root!r}"
        )
    resolved = os.path.join(app.root_path, os.fspath(root))
    if os.path.exists(resolved) and not os.path.isdir(resolved):
        raise ConfigurationError(
            f"staticmw: app.config['STATICMW_ROOT'] {resolved!r} {not_a_directory(resolved)}"
        )
    if not os.path.exists(resolved) and resolved not in _MISSING_TOLD:
        _MISSING_TOLD.add(resolved)
        log.warning(
            "staticmw: app.config['STATICMW_ROOT'] %r does not exist yet: the static folders "
            "are served as they are until `flask staticmw build` writes it",
            resolved,
        )
    return str(resolved)


# The STATICMW_ROOT folders already reported missing: each is told once per process.
_MISSING_TOLD: set[str] = set()


def static_mounts(app: Flask) -> list[tuple[str, str, str]]:
    """``(endpoint, URL prefix, folder)`` for the app's static route and each blueprint's
    whose folder exists."""
    return [
        (route.endpoint, route.prefix, route.folder)
        for route in static_routes(app)
        if route.folder and os.path.isdir(route.folder)
    ]


def _sub_path(prefix: str) -> str:
    """Where a URL prefix's files live inside the build: ``/admin/static/`` -> ``admin/static``."""
    return prefix.strip("/")


def _logical(prefix: str, filename: str) -> str:
    """The build's name for ``url_for(endpoint, filename=...)`` of a static route at
    *prefix*: *filename* below the route's path."""
    sub = _sub_path(prefix)
    return f"{sub}/{filename.lstrip('/')}" if sub else filename.lstrip("/")


class _State:
    """Per-app state, built on first use so blueprints registered later are seen."""

    def __init__(self, app: Flask, defaults: dict[str, Any]):
        self.app = app
        self.defaults = defaults
        self.lock = threading.Lock()
        self.static: StaticMiddleware | None = None
        # The build's manifest, read again when a new build rewrites it.
        self.manifest: ManifestFile | None = None
        self.importmap: ImportMap | None = None
        self._importmap_of: Manifest | None = None  # the manifest it was read with
        self._importmaps: Watched[ImportMap] | None = None
        self.loaded = False
        self.prefixes: dict[str, str] = {}

    def options(self) -> dict[str, Any]:
        """The middleware's options: the extension's, the app's settings over them, and
        development's rule when in development."""
        return _settings(self.app, self.defaults, self.development())

    def development(self) -> bool:
        """Serve the static folders themselves, re-read on every request, not the build.

        ``STATICMW_DEVELOPMENT`` decides; unset, it follows ``app.debug``.
        """
        return bool(self.app.config.get("STATICMW_DEVELOPMENT", self.app.debug))

    def load(self) -> None:
        """Read the build's manifest (if any) and the static endpoints, once."""
        if self.loaded:
            return
        with self.lock:
            if self.loaded:
                return
            path = self.manifest_path()
            self.manifest = self.importmap = self._importmap_of = self._importmaps = None
            if os.path.isfile(path) and not self.development():
                self.manifest = ManifestFile(path, self.recheck_interval())
                self.current_importmap()
            self.prefixes = {endpoint: prefix for endpoint, prefix, _ in static_mounts(self.app)}
            self.loaded = True

    def manifest_path(self) -> str:
        return os.path.join(self.app.config["STATICMW_ROOT"], MANIFEST_NAME)

    def recheck_interval(self) -> float:
        """How often the manifest is looked at for a new build: the middleware's option."""
        try:
            return Options.from_keywords(self.options()).recheck_interval
        except ConfigurationError as exc:
            raise RuntimeError(f"staticmw: {exc}") from None

    def current_importmap(self) -> ImportMap | None:
        """The build's import map, looked at again with each new manifest (one caught half
        written leaves the last good one in use)."""
        if self.manifest is None:
            return None
        manifest = self.manifest.current()
        if manifest is not self._importmap_of:
            if self._importmaps is None:
                modules = os.path.join(self.app.config["STATICMW_ROOT"], IMPORTMAP_NAME)
                self._importmaps = Watched(
                    modules, ImportMap.load, (ImportMapError,), what="import map"
                )
            self.importmap = self._importmaps.current()
            self._importmap_of = manifest
        return self.importmap

    def importmap_below(self, sub: str, _: object = None) -> ImportMap | None:
        """The build's import map for the files below *sub*, as a mount there names them."""
        record = self.current_importmap()
        return None if record is None else record.below(sub)

    def middleware(self, wsgi_app: Callable[..., Iterable[bytes]]) -> StaticMiddleware:
        if self.static is not None:
            return self.static
        self.load()
        with self.lock:
            if self.static is None:
                self.static = self._build_middleware(wsgi_app)
        return self.static

    def _build_middleware(self, wsgi_app: Callable[..., Iterable[bytes]]) -> StaticMiddleware:
        options = self.options()
        try:
            static = StaticMiddleware(wsgi_app, **options)
            root = self.app.config["STATICMW_ROOT"]
            for _, prefix, folder in static_mounts(self.app):
                built = os.path.join(root, _sub_path(prefix))
                if self.manifest is not None and os.path.isdir(built):
                    below = ManifestFile(
                        self.manifest.path, self.manifest.interval, below=_sub_path(prefix)
                    )
                    static.add_files(built, prefix, manifest=below)
                    # The build's import map is at its top, named as the build names files:
                    # the mount takes the part below its folder, with each new manifest.
                    mount = static.mounts_added()[-1]
                    mount.modules_of = partial(self.importmap_below, _sub_path(prefix))
                    mount.importmap = self.importmap_below(_sub_path(prefix))
                else:
                    static.add_files(folder, prefix, manifest=False)
        except ConfigurationError as exc:
            raise RuntimeError(f"staticmw: {exc}") from None
        return static

    def url_defaults(self, endpoint: str, values: dict[str, Any]) -> None:
        """Swap ``filename`` for its hashed name when the build's manifest lists it."""
        if not is_static_endpoint(endpoint):
            return
        filename = values.get("filename")
        if not isinstance(filename, str):
            return
        self.load()
        prefix = self.prefixes.get(endpoint)
        if self.manifest is None or prefix is None:
            return
        sub = _sub_path(prefix)
        logical = _logical(prefix, filename)
        hashed = self.manifest.current().lookup(logical)
        if hashed is None:
            not_listed(logical, bool(self.options().get("manifest_strict")))
            return
        values["filename"] = hashed[len(sub) + 1 :] if sub else hashed

    def note(self, endpoint: str, filename: Any, url: str) -> None:
        """Note a static file the page being rendered asked ``url_for`` for, at *url*."""
        prefix = self.prefixes.get(endpoint)
        if prefix is not None and isinstance(filename, str):
            memory.note(memory.ASSET, prefix + filename.lstrip("/"), url)

    def importmap_tag(
        self,
        filename: str | None = None,
        endpoint: str = "static",
        *,
        script: bool = True,
        nonce: str | None = None,
        integrity: bool = True,
    ) -> Markup:
        """The page's import map, preloads and entry module (see ``StaticFiles.importmap_tag``).

        *filename* is as in ``url_for(endpoint, filename=...)``. Without a build (or in
        development) the map holds ``STATICMW_IMPORTMAP``'s names at their plain URLs.
        """
        self.load()
        entry = None
        if filename is not None:
            prefix = self.prefixes.get(endpoint, "/static/")
            entry = _logical(prefix, filename)
        record = self.current_importmap() or ImportMap.plain(declared_imports(self.app))
        root = (request.script_root if has_request_context() else "") + "/"
        host = check_static_host(self.options().get("static_host"))

        def url(name: str) -> str:
            return join(host, root, name)

        def fallback(_: str) -> str:
            return url_for(endpoint, filename=filename)

        maps = [(record, url)]
        if entry is not None and filename is not None and memory.recording():
            name = self.prefixes.get(endpoint, "/static/") + filename.lstrip("/")
            memory.note(memory.ENTRY, name, entry_url(maps, entry, fallback))
        html = render(
            maps,
            entry,
            fallback=fallback,
            script=script,
            nonce=nonce,
            with_integrity=integrity,
        )
        return Markup(html)

    def stylesheet_tag(
        self, filename: str, endpoint: str = "static", *, integrity: bool = True
    ) -> Markup:
        """``<link rel="stylesheet">`` at ``url_for(endpoint, filename=...)``, with the SRI
        ``integrity`` the build recorded and ``crossorigin="anonymous"`` (see
        ``StaticFiles.stylesheet_tag``)."""
        url = url_for(endpoint, filename=filename)
        value = self._integrity(filename, endpoint) if integrity else None
        if value:
            self._note(memory.STYLESHEET, filename, endpoint, url)
        return Markup(stylesheet_link(url, value))

    def script_tag(
        self,
        filename: str,
        endpoint: str = "static",
        *,
        integrity: bool = True,
        defer: bool = False,
        nonce: str | None = None,
    ) -> Markup:
        """``<script src>`` (a classic script) at ``url_for(endpoint, filename=...)``, with the
        SRI ``integrity`` the build recorded and ``crossorigin="anonymous"`` (see
        ``StaticFiles.script_tag``)."""
        url = url_for(endpoint, filename=filename)
        value = self._integrity(filename, endpoint) if integrity else None
        self._note(memory.SCRIPT if value else memory.PLAIN_SCRIPT, filename, endpoint, url)
        return Markup(script_element(url, value, defer=defer, nonce=nonce))

    def _integrity(self, filename: str, endpoint: str) -> str | None:
        """The SRI value of the hashed file *filename* stands for, as the middleware serving
        it knows it (the build's record, else the file read once)."""
        prefix = self.prefixes.get(endpoint)
        if prefix is None:
            return None
        wrapper = self.app.wsgi_app
        static = self.middleware(getattr(wrapper, "wsgi_app", wrapper))
        return static.integrity(prefix + filename.lstrip("/"))

    def _note(self, kind: str, filename: str, endpoint: str, url: str) -> None:
        prefix = self.prefixes.get(endpoint)
        if prefix is not None:
            memory.note(kind, prefix + filename.lstrip("/"), url)


class _Wrapper:
    """Stands in for ``app.wsgi_app``: static requests are answered, the rest go to Flask."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]], state: _State):
        self.wsgi_app = wsgi_app
        self.state = state

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        return self.state.middleware(self.wsgi_app)(environ, start_response)


class StaticMW:
    """The Flask extension: ``StaticMW(app)`` or ``StaticMW(**options).init_app(app)``."""

    def __init__(self, app: Flask | None = None, **options: Any):
        unknown = set(options) - set(OPTIONS)
        if unknown:
            raise TypeError(f"StaticMW got unknown options: {', '.join(sorted(unknown))}")
        self.options = options
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Wrap *app*; a bad ``STATICMW_*`` setting raises :class:`ConfigurationError` here."""
        validate(app, self.options)
        app.config["STATICMW_ROOT"] = build_root(app)
        state = _State(app, self.options)
        app.extensions["staticmw"] = state
        app.wsgi_app = _Wrapper(app.wsgi_app, state)  # type: ignore[method-assign]
        app.url_defaults(state.url_defaults)
        original = app.url_for

        def url_for(endpoint: str, **values: Any) -> str:
            url = original(endpoint, **values)
            host = state.options().get("static_host")
            static = is_static_endpoint(endpoint)
            if host and static:  # every static URL, as in WSGI's static_url()
                parts = urlsplit(url)
                url = (
                    check_static_host(host)
                    + parts.path
                    + (f"?{parts.query}" if parts.query else "")
                )
            if static and memory.recording():
                state.note(endpoint, values.get("filename"), url)
            return url

        app.url_for = url_for  # type: ignore[method-assign]
        if "jinja_env" in app.__dict__:  # created already: it holds the old method
            app.jinja_env.globals["url_for"] = url_for
        app.add_template_global(state.importmap_tag, "importmap_tag")
        app.add_template_global(state.stylesheet_tag, "stylesheet_tag")
        app.add_template_global(state.script_tag, "script_tag")
        app.cli.add_command(staticmw_cli)


@click.group("staticmw")
def staticmw_cli() -> None:
    """staticmw: build the app's static files for year-long caching."""


@staticmw_cli.command("build")
@click_options(SHARED)
@with_appcontext
def _build_command(**values: Any) -> None:
    """Collect the app's and blueprints' static folders, hash and precompress them into
    STATICMW_ROOT, which the extension then serves."""
    import sys

    from ..build.compress import CodecUnavailable
    from ..build.pipeline import BuildError, build

    app = current_app
    sources = [(folder, _sub_path(prefix)) for _, prefix, folder in static_mounts(app)]
    if not sources:
        raise click.ClickException("this app has no static folder to build")
    out = app.config["STATICMW_ROOT"]
    try:
        config = config_from(values, importmap=declared_imports(app), sources=sources, out=out)
        report = build(config)
    except (BuildError, CodecUnavailable, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    print_report(report, sys.stdout, sys.stderr, as_json=values["json"], quiet=values["quiet"])
    if not (values["json"] or values["quiet"]):
        click.echo(f"built into {out}")
    state = app.extensions.get("staticmw")
    if state is not None:
        state.loaded = False  # a new manifest: read it again
    if not report.ok:
        raise SystemExit(1)
