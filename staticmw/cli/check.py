"""``staticmw check``: what a deployed middleware will serve, and why a URL is or is not served."""

from __future__ import annotations

import importlib
import logging
import os
import sys
from collections.abc import Iterator
from typing import Any

from ..build import precompress
from ..http import encodings
from ..http.mediatypes import MediaTypes
from ..integrations.approutes import static_routes
from ..manifest.formats import AUTO_DETECTED, Manifest
from ..serve.core import StaticFiles

HUGE = 100 * 1024 * 1024
_SUFFIXES = "/".join(coding.suffixes[0] for coding in encodings.CODINGS)
# Walking stops here; a root larger than this is reported as "at least".
WALK_LIMIT = 200_000


class CheckError(Exception):
    """The target could not be loaded or holds no staticmw middleware."""


def load(target: str) -> tuple[Any, StaticFiles]:
    """Import ``module:attribute`` (from the current directory) and find its middleware.

    ``module:create_app()`` calls a factory with no arguments first.
    """
    module_name, _, attribute = target.partition(":")
    factory = attribute.endswith("()")
    attribute = attribute[:-2] if factory else attribute
    if not module_name or not attribute.isidentifier():
        raise CheckError(f"expected module:application or module:factory(), got {target!r}")
    sys.path.insert(0, os.getcwd())
    try:
        obj: Any = getattr(importlib.import_module(module_name), attribute)
        if factory:
            if not callable(obj):
                raise CheckError(f"{module_name}:{attribute} is not callable")
            obj = obj()
    except (ImportError, AttributeError) as exc:
        raise CheckError(f"cannot load {target}: {exc}") from None
    finally:
        sys.path.pop(0)
    found = find_middleware(obj)
    if found is None:
        raise CheckError(f"{target} is not, and does not wrap, a staticmw middleware")
    return obj, found


def load_django() -> tuple[Any, StaticFiles, list[str]]:
    """The middleware a Django project configures, from ``DJANGO_SETTINGS_MODULE``."""
    if not os.environ.get("DJANGO_SETTINGS_MODULE"):
        raise CheckError("--django needs DJANGO_SETTINGS_MODULE, e.g. mysite.settings")
    sys.path.insert(0, os.getcwd())
    try:
        import django
        from django.conf import settings
        from django.core.exceptions import ImproperlyConfigured

        django.setup()
        from ..integrations.django import StaticFilesMiddleware

        middleware = StaticFilesMiddleware(lambda request: None)
    except ImportError as exc:
        raise CheckError(f"cannot load the Django project: {exc}") from None
    except ImproperlyConfigured as exc:
        raise CheckError(str(exc).removeprefix("staticmw: ")) from None
    finally:
        sys.path.pop(0)
    warnings = []
    if "staticmw.django.StaticFilesMiddleware" not in getattr(settings, "MIDDLEWARE", ()):
        warnings.append(
            "staticmw.django.StaticFilesMiddleware is not in MIDDLEWARE: nothing is served"
        )
    if middleware.static is None:
        raise CheckError(
            f"{middleware.root} does not exist yet: run `python manage.py collectstatic` "
            "first (and `staticmw build` when STATICMW_ROOT is set)"
        )
    return settings, middleware.static, warnings


def find_middleware(obj: Any) -> StaticFiles | None:
    """The middleware (WSGI or ASGI) that *obj* is, that a Flask app's ``wsgi_app`` holds, or
    that a Starlette app's ``state`` holds."""
    if isinstance(obj, StaticFiles):
        return obj
    # A Starlette or FastAPI app that staticmw.starlette.install() set up.
    installed = getattr(getattr(obj, "state", None), "staticmw", None)
    if isinstance(installed, StaticFiles):
        return installed
    wsgi_app = getattr(obj, "wsgi_app", None)
    if isinstance(wsgi_app, StaticFiles):
        return wsgi_app
    state = getattr(wsgi_app, "state", None)
    if wsgi_app is not None and state is not None and hasattr(state, "middleware"):
        built = state.middleware(wsgi_app.wsgi_app)
        return built if isinstance(built, StaticFiles) else None
    return None


def _walk(directory: str) -> Iterator[tuple[str, int]]:
    count = 0
    for folder, dirnames, filenames in os.walk(directory):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for filename in filenames:
            if filename.startswith("."):
                continue
            path = os.path.join(folder, filename)
            try:
                size = os.stat(path).st_size
            except OSError:
                continue
            yield path, size
            count += 1
            if count >= WALK_LIMIT:
                return


def report(obj: Any, static: StaticFiles) -> tuple[list[str], list[str]]:
    """Lines describing each root, and warnings."""
    lines: list[str] = []
    warnings: list[str] = []
    for mount in static.mounts:
        prefix, directory, manifest = mount
        files = list(_walk(directory))
        described = "none"
        if manifest is not None:
            described = f"{manifest.format} ({len(manifest)} names, {manifest.path})"
        more = "at least " if len(files) >= WALK_LIMIT else ""
        lines += [f"root {directory}", f"  prefix    {prefix}", f"  files     {more}{len(files)}"]
        lines.append(f"  manifest  {described}")
        if os.path.isdir(os.path.join(directory, ".git")) or os.path.isdir(
            os.path.join(directory, ".hg")
        ):
            hidden = (
                "served!" if static.options.serve_hidden else "not served, keep serve_hidden off"
            )
            warnings.append(f"{directory} is a version-control checkout (dotfiles {hidden})")
        records = static.build_records(prefix)
        unserved = {os.path.join(directory, *name.split("/")) for name in records}
        warnings += _uncompressed(prefix, directory, manifest, files, unserved, _build_advice(obj))
        huge = [(size, path) for path, size in files if size >= HUGE]
        if huge:
            size, path = max(huge)
            warnings.append(
                f"{len(huge)} files of 100 MiB or more under {prefix} "
                f"(largest {size // 2**20} MiB: {os.path.relpath(path, directory)}); "
                "a CDN or object store serves those better"
            )
    warnings += _shadowed(obj, static)
    return lines, warnings


def django_application() -> tuple[Any, str]:
    """The configured Django project as a WSGI application (its whole middleware stack, as
    a server runs it), and a host name its ``ALLOWED_HOSTS`` accepts."""
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler

    hosts = [str(host).lstrip(".") for host in getattr(settings, "ALLOWED_HOSTS", ())]
    named = [host for host in hosts if host and host != "*"]
    # The check built and reported the project's staticmw middleware already: the stack's
    # own copy says nothing new at start-up.
    quiet = logging.getLogger("staticmw")
    before = quiet.level
    quiet.setLevel(logging.WARNING)
    try:
        handler = WSGIHandler()
    finally:
        quiet.setLevel(before)
    return handler, named[0] if named else "localhost"


def page_hints(obj: Any, static: StaticFiles, url: str, host: str = "127.0.0.1") -> list[str]:
    """What the page at *url* would hint: the application (a WSGI callable) renders it once,
    as for a browser's navigation, and the lines say which ``Link`` values it gets."""
    path, _, query = url.partition("?")
    if not callable(obj) or (static.handles(path) and static.lookup(path) is not None):
        return []  # a static file, never hinted
    if static.hints is None:
        return ["early hints: off (early_hints=True, or STATICMW_EARLY_HINTS, turns them on)"]
    from wsgiref.util import setup_testing_defaults

    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_ACCEPT": "text/html",
        "HTTP_SEC_FETCH_MODE": "navigate",
        "HTTP_HOST": host,
        "SERVER_NAME": host,
    }
    setup_testing_defaults(environ)
    answered: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
        answered.append((status, headers))
        return lambda data: None

    try:
        body = obj(environ, start_response)
        for _ in body:
            pass
        getattr(body, "close", lambda: None)()
    except Exception as exc:  # the application's own failure, reported, never raised
        return [f"early hints for {url}: the application failed: {exc!r}"]
    if not answered:
        return [f"early hints for {url}: the application gave no answer"]
    status, headers = answered[0]
    values = [value for name, value in headers if name.lower() == "link"]
    if not values:
        return [f"early hints for {url}: none ({status}; a 200 text/html page that names "
                "stylesheets or an importmap_tag entry gets them)"]  # fmt: skip
    return [f"early hints for {url} (a 103 from the second visit on):"] + [
        f"  Link: {value}" for value in values
    ]


def _build_advice(obj: Any) -> str:
    """How this kind of application gets precompressed variants."""
    if "staticmw" in getattr(obj, "extensions", {}):
        return "run `flask staticmw build`, whose output the extension then serves"
    if getattr(obj, "SETTINGS_MODULE", None):
        return (
            "run collectstatic with staticmw's storage "
            "(staticmw.django.storage.ManifestStaticFilesStorage), whose build adds them"
        )
    return "serve the output of `staticmw build SRC --out DIR` instead, which adds them"


def _uncompressed(
    prefix: str,
    directory: str,
    manifest: Manifest | None,
    files: list[tuple[str, int]],
    hidden: set[str],
    advice: str,
) -> list[str]:
    """Compressible files served without a precompressed variant, with the fix for each case.

    Manifests and the import map are build records, never served, so never counted. Under a staticmw
    build, its manifest says which files it made (and it already skipped those not
    worth compressing): only files it did not make are reported.
    """
    media = MediaTypes()
    names = {path for path, _ in files}
    manifests = {os.path.join(directory, name) for name in AUTO_DETECTED} | hidden
    if manifest is not None:
        manifests.add(os.path.abspath(manifest.path))
    built: set[str] = set()
    ours = manifest is not None and manifest.format == "staticmw"
    if ours:
        assert manifest is not None
        for name, hashed in manifest.names.items():
            built.update(os.path.join(directory, *n.split("/")) for n in (name, hashed))
    # What a precompression run (collectstatic, ``staticmw compress``) tried: a file whose
    # variants were not worth keeping is done, as the build's are.
    tried = {os.path.join(directory, *name.split("/")) for name in precompress.record(directory)}
    bare = [
        path
        for path, size in files
        if size > 1024
        and path not in manifests
        and path not in built
        and path not in tried
        and not path.endswith(encodings.ALL_SIDECAR_SUFFIXES)
        and encodings.worth_compressing(media.bare_type(path))
        and not any(path + suffix in names for suffix in encodings.ALL_SIDECAR_SUFFIXES)
    ]
    if not bare:
        return []
    example = os.path.relpath(bare[0], directory)
    if ours:
        advice = "they were added after the last staticmw build: build again"
    return [
        f"{len(bare)} compressible files under {prefix} have no {_SUFFIXES} variant "
        f"(e.g. {example}): {advice}"
    ]


def _shadowed(obj: Any, static: StaticFiles) -> list[str]:
    """A framework's own static route that staticmw does not cover, or covers with other files."""
    found = []
    ours = {prefix: os.path.realpath(directory) for prefix, directory in static.roots}
    for _, prefix, folder in static_routes(obj):
        if not folder:
            continue
        directory = ours.get(prefix)
        if directory is None:
            found.append(
                f"the app's static route {prefix} ({folder}) is not covered by staticmw: "
                "those files go out without its headers"
            )
        elif directory != os.path.realpath(folder) and not directory.startswith(
            os.path.realpath(obj.config.get("STATICMW_ROOT", "\0"))
        ):
            found.append(
                f"the app's static route {prefix} serves {folder} while staticmw serves "
                f"{directory} there: files only in the former bypass staticmw"
            )
    return found
