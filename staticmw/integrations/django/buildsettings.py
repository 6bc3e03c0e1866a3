"""The settings that shape collectstatic's build, read and checked in one place: by the
storage when it builds, and by the system checks before anything runs. The build itself is
not loaded here."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from .migration import setting

# Settings that no longer change anything, and why.
NO_LONGER_NEEDED = {
    "STATICMW_JS_MODULES": "collectstatic's build always rewrites JavaScript module imports; "
    "its lexer never takes text in comments or strings for an import",
}


@dataclass
class BuildSettings:
    """``STATICMW_KEEP`` (``None``: nothing pruned), ``STATICMW_HISTORY``,
    ``STATICMW_DICTIONARIES``, ``STATICMW_STRICT``, ``STATICMW_SKIP_COMPRESS_EXTENSIONS``
    and ``STATICMW_IMPORTMAP`` (as given; the build checks its entries)."""

    keep: int | None = None
    history: str | None = None
    dictionaries: int = 0
    strict: bool = False
    skip_compress: list[str] = field(default_factory=list)
    importmap: dict[str, Any] = field(default_factory=dict)


def _count(name: str) -> int | None:
    value = setting(name, None)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ImproperlyConfigured(
            f"staticmw: {name} must be a whole number, 0 or more, got {value!r}"
        )
    return value


def read(static_root: str | os.PathLike[str] | None) -> BuildSettings:
    """The build's settings, each checked; :class:`ImproperlyConfigured` names the first
    that is wrong."""
    history = setting("STATICMW_HISTORY", None)
    if history is not None:
        if not isinstance(history, (str, os.PathLike)) or not os.fspath(history):
            raise ImproperlyConfigured(
                f"staticmw: STATICMW_HISTORY must be a directory path, got {history!r}"
            )
        history = os.fspath(history)
        if static_root:
            held, root = os.path.realpath(history), os.path.realpath(static_root)
            if held == root or held.startswith(root + os.sep) or root.startswith(held + os.sep):
                raise ImproperlyConfigured(
                    f"staticmw: STATICMW_HISTORY {history!r} overlaps STATIC_ROOT: it would "
                    "be served, or hold the served files; choose a directory beside it"
                )
    skip = setting("STATICMW_SKIP_COMPRESS_EXTENSIONS", None) or []
    if isinstance(skip, str) or not all(isinstance(e, str) for e in skip):
        raise ImproperlyConfigured(
            "staticmw: STATICMW_SKIP_COMPRESS_EXTENSIONS must be a list of extensions "
            f"such as ['map'], got {skip!r}"
        )
    importmap = setting("STATICMW_IMPORTMAP", None) or {}
    if not isinstance(importmap, dict):
        raise ImproperlyConfigured(
            f"STATICMW_IMPORTMAP: must be a dict of bare names to module paths, got {importmap!r}"
        )
    return BuildSettings(
        keep=_count("STATICMW_KEEP"),
        history=history,
        dictionaries=_count("STATICMW_DICTIONARIES") or 0,
        strict=bool(setting("STATICMW_STRICT", False)),
        skip_compress=list(skip),
        importmap=importmap,
    )


def no_longer_needed() -> list[tuple[str, str]]:
    """Each setting the project sets that changes nothing now, with why."""
    return [(name, why) for name, why in NO_LONGER_NEEDED.items() if setting(name) is not None]
