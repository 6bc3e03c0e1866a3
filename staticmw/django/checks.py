"""Django system checks: a setup that would serve nothing, or not what was meant, says so."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Warning

MIDDLEWARE = "staticmw.django.StaticFilesMiddleware"
# Middleware that may come before ours: it answers nothing itself.
MAY_PRECEDE = frozenset({"django.middleware.security.SecurityMiddleware"})


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Warnings, each with its fix, for the middleware's place, STATIC_ROOT and the manifest."""
    from . import WHITENOISE_SETTINGS, use_finders

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
    for old, new in WHITENOISE_SETTINGS.items():
        if hasattr(settings, old) and not hasattr(settings, new):
            found.append(
                Warning(
                    f"{old} is honoured as {new}.",
                    hint=f"Rename it to {new}.",
                    id="staticmw.W005",
                )
            )
    return found


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
