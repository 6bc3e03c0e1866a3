"""Django system checks: a setup that would serve nothing, or not what was meant, says so."""

from __future__ import annotations

import importlib.util
import os
import sys
from typing import Any
from urllib.parse import urlsplit

import django
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning
from django.core.exceptions import ImproperlyConfigured

from ...manifest.formats import DJANGO_MANIFEST_NAME, Manifest, ManifestError
from ...serve.paths import is_within
from . import buildsettings, migration

MIDDLEWARE = "staticmw.django.StaticFilesMiddleware"
# Middleware that may come before ours: it answers nothing itself.
MAY_PRECEDE = frozenset({"django.middleware.security.SecurityMiddleware"})


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Warnings, each with its fix, for the middleware's place, STATIC_ROOT and the manifest."""
    from . import use_finders

    found: list[CheckMessage] = []
    middleware = list(getattr(settings, "MIDDLEWARE", None) or ())
    if MIDDLEWARE not in middleware:
        found.append(
            Warning(
                f"{MIDDLEWARE} is not in MIDDLEWARE, so static files are not served under WSGI.",
                hint="Add it right after django.middleware.security.SecurityMiddleware "
                "(under ASGI, asgi.py may use staticmw.django.get_asgi_application() instead).",
                id="staticmw.W001",
            )
        )
    else:
        before = middleware[: middleware.index(MIDDLEWARE)]
        answering = [name for name in before if name not in MAY_PRECEDE]
        if answering:
            found.append(
                Warning(
                    f"{MIDDLEWARE} comes after {', '.join(answering)}, which may answer or "
                    "change static requests first.",
                    hint="Move it right after django.middleware.security.SecurityMiddleware.",
                    id="staticmw.W002",
                )
            )
    root = getattr(settings, "STATICMW_ROOT", None) or getattr(settings, "STATIC_ROOT", None)
    if not use_finders():
        if not root:
            found.append(
                Warning(
                    "STATIC_ROOT is not set, so there is nothing to serve.",
                    hint="Set STATIC_ROOT to a directory and run "
                    "`python manage.py collectstatic --noinput`.",
                    id="staticmw.W003",
                )
            )
        elif not os.path.isdir(root):
            found.append(
                Warning(
                    f"{root} does not exist yet.",
                    hint="Run `python manage.py collectstatic --noinput` before starting.",
                    id="staticmw.W003",
                )
            )
    static_root = getattr(settings, "STATIC_ROOT", None)
    if (
        static_root
        and os.path.isdir(static_root)
        and _manifest_storage()
        and not os.path.isfile(os.path.join(static_root, "staticfiles.json"))
    ):
        found.append(
            Warning(
                f"The static files storage keeps a manifest, but {static_root} has no "
                "staticfiles.json yet: hashed names cannot be served.",
                hint="Run `python manage.py collectstatic --noinput`.",
                id="staticmw.W004",
            )
        )
    for message, hint in migration.advice():
        found.append(Warning(message, hint=hint, id="staticmw.W005"))
    found += _values()
    found += _manifest_readable(static_root)
    found += _build_settings(static_root)
    legacy = _legacy_storage()
    if legacy is not None:
        found.append(legacy)
    return found


def _values() -> list[CheckMessage]:
    """What stops the middleware at start-up, found by ``check`` first: a setting with a bad
    value (an error), a ``STATICMW_*`` name staticmw does not read (a warning, with the
    likely one), and a static prefix that ``{% static %}`` URLs do not start with."""
    from . import _options, static_prefix, static_url_path, unknown

    found: list[CheckMessage] = []
    try:
        _options(warn=False)
    except ImproperlyConfigured as exc:
        found.append(
            Error(
                str(exc).removeprefix("staticmw: "),
                hint="Fix the setting: the middleware stops at start-up on it.",
                id="staticmw.E003",
            )
        )
    for name, close in unknown():
        found.append(
            Warning(
                f"{name} is not a staticmw setting, so it changes nothing.",
                hint=f"Rename it to {close}." if close else "Remove it, or check its name.",
                id="staticmw.W009",
            )
        )
    static_url = str(getattr(settings, "STATIC_URL", "") or "")
    chosen = migration.setting("STATICMW_STATIC_PREFIX")
    if chosen is not None and static_url and not urlsplit(static_url).netloc:
        try:
            prefix, links = static_prefix(), static_url_path()
        except ImproperlyConfigured as exc:
            found.append(Error(str(exc).removeprefix("staticmw: "), id="staticmw.E003"))
        else:
            if prefix != links:
                found.append(
                    Warning(
                        f"STATICMW_STATIC_PREFIX is {prefix!r} but STATIC_URL is "
                        f"{static_url!r}: {{% static %}} links start with {links!r}, which "
                        "the middleware does not serve, so every asset is a 404.",
                        hint="Remove STATICMW_STATIC_PREFIX (the prefix follows STATIC_URL), "
                        "or set both to the same path.",
                        id="staticmw.W010",
                    )
                )
    return found


def _manifest_readable(static_root: Any) -> list[CheckMessage]:
    """An error for a ``staticfiles.json`` that cannot be read or is not a manifest: the
    middleware would refuse it at start-up, and ``{% static %}`` with it."""
    if not static_root:
        return []
    path = os.path.join(os.fspath(static_root), DJANGO_MANIFEST_NAME)
    if not os.path.lexists(path):
        return []
    try:
        Manifest.load(path)
    except ManifestError as exc:
        return [
            Error(
                f"{exc}.",
                hint="Run `python manage.py collectstatic --noinput` to write it again "
                "(and check the file's permissions).",
                id="staticmw.E004",
            )
        ]
    return []


def _build_settings(static_root: Any) -> list[CheckMessage]:
    """An error for a collectstatic build setting that is wrong; a warning for one that no
    longer changes anything."""
    found: list[CheckMessage] = []
    try:
        buildsettings.read(static_root)
    except ImproperlyConfigured as exc:
        found.append(Error(str(exc), hint="collectstatic would stop on it.", id="staticmw.E002"))
    for name, why in buildsettings.no_longer_needed():
        found.append(
            Warning(f"{name} is no longer needed: {why}.", hint="Remove it.", id="staticmw.W008")
        )
    return found


def _legacy_storage() -> CheckMessage | None:
    """``STATICFILES_STORAGE``, which Django 5.1 and later ignore: the project would lose its
    hashed names (and precompressed variants) without a word."""
    if not settings.is_overridden("STATICFILES_STORAGE"):
        return None
    chosen = settings.STATICFILES_STORAGE
    hint = f'Set STORAGES = {{"staticfiles": {{"BACKEND": {chosen!r}}}}} and remove it.'
    if django.VERSION >= (5, 1):
        return Warning(
            f"STATICFILES_STORAGE is set but Django {django.get_version()} ignores it, so "
            f"{chosen} is not used: collectstatic neither hashes nor precompresses.",
            hint=hint,
            id="staticmw.W007",
        )
    return Warning(
        "STATICFILES_STORAGE is deprecated, and Django 5.1 and later ignore it.",
        hint=hint,
        id="staticmw.W007",
    )


def _manifest_storage() -> bool:
    """Whether the configured staticfiles storage keeps a manifest (not instantiated)."""
    from django.contrib.staticfiles.storage import ManifestFilesMixin
    from django.utils.module_loading import import_string

    storages = getattr(settings, "STORAGES", None) or {}
    backend = (storages.get("staticfiles") or {}).get("BACKEND")
    if not backend:
        return False
    try:
        storage_class = import_string(backend)
    except ImportError:
        return False
    return isinstance(storage_class, type) and issubclass(storage_class, ManifestFilesMixin)


# A served root is walked for Python files up to this many entries (the check must stay quick).
_WALK_LIMIT = 100_000


def check_exposure(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """An error for a served root that holds the project's code (settings, ``manage.py``, the
    project package), a warning for one that holds any ``.py`` file."""
    from . import finder_roots, use_finders

    if use_finders():
        roots = [directory for directory, _ in finder_roots()]
    else:
        root = getattr(settings, "STATICMW_ROOT", None) or getattr(settings, "STATIC_ROOT", None)
        roots = [os.fspath(root)] if root else []
    served_at_root = migration.setting("STATICMW_ROOT_FILES")
    if served_at_root:
        roots.append(os.fspath(served_at_root))
    secrets = _project_files()
    found: list[CheckMessage] = []
    for root in dict.fromkeys(os.path.realpath(r) for r in roots if os.path.isdir(r)):
        exposed = [path for path in secrets if is_within(path, root)]
        if exposed:
            found.append(
                Error(
                    f"{root} is served as static files and holds the project's code "
                    f"({', '.join(exposed)}): anyone can download it.",
                    hint="Point STATIC_ROOT (or STATICMW_ROOT, STATICMW_ROOT_FILES or "
                    "STATICFILES_DIRS) at a directory of its own, such as "
                    "BASE_DIR / 'staticfiles', never BASE_DIR.",
                    id="staticmw.E001",
                )
            )
            continue
        python = _first_python_file(root)
        if python is not None:
            found.append(
                Warning(
                    f"{root} is served as static files and holds Python source ({python}).",
                    hint="Keep code out of static roots: collect static files into a "
                    "directory of their own.",
                    id="staticmw.W006",
                )
            )
    return found


def _project_files() -> list[str]:
    """The settings module, the package that holds it, and ``manage.py``, where they are."""
    found: list[str] = []
    module = str(
        getattr(settings, "SETTINGS_MODULE", None) or os.environ.get("DJANGO_SETTINGS_MODULE", "")
    )
    spec = None
    if module:
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            spec = None
    if spec is not None and spec.origin and os.path.isfile(spec.origin):
        origin = os.path.realpath(spec.origin)
        found.append(origin)
        if "." in module:
            package = os.path.dirname(origin)
            found.append(package)
            found.append(os.path.join(os.path.dirname(package), "manage.py"))
        else:
            found.append(os.path.join(os.path.dirname(origin), "manage.py"))
    script = sys.argv[0] if sys.argv else ""
    if os.path.basename(script) == "manage.py":
        found.append(os.path.realpath(script))
    return [path for path in dict.fromkeys(found) if os.path.exists(path)]


def _first_python_file(root: str) -> str | None:
    """A ``.py`` file below *root*, if the first entries of a walk show one."""
    seen = 0
    for directory, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith(".py"):
                return os.path.join(directory, name)
        seen += len(dirnames) + len(filenames)
        if seen > _WALK_LIMIT:
            return None
    return None
