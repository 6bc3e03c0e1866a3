"""PasteDeploy (Pyramid and other ``.ini``-configured apps): a filter factory.

    [filter:static]
    use = egg:staticmw
    root = %(here)s/static
    prefix = /static/
    max_age = 3600
    index_file = true

    [pipeline:main]
    pipeline = static myapp

Values arrive as text; numbers, ``true``/``false`` and ``none`` are converted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .middleware import StaticMiddleware
from .options import ConfigurationError

_INTEGERS = {"max_age", "cache_bytes"}
_FLOATS = {"recheck_interval"}
_BOOLEANS = {
    "autorefresh",
    "allow_all_origins",
    "follow_symlinks",
    "serve_hidden",
    "allow_hard_links",
    "manifest_strict",
}
_TEXTS = {
    "root",
    "prefix",
    "charset",
    "immutable_file_test",
    "static_host",
    "manifest",
    "index_file",
}


def _convert(name: str, value: str) -> Any:
    text = value.strip()
    if text.lower() == "none":
        return None
    if name in _BOOLEANS or (
        name in ("index_file", "manifest") and text.lower() in ("true", "false")
    ):
        if text.lower() not in ("true", "false"):
            raise ConfigurationError(f"{name} must be true or false, got {value!r}")
        return text.lower() == "true"
    if name in _INTEGERS:
        try:
            return int(text)
        except ValueError:
            raise ConfigurationError(f"{name} must be a whole number, got {value!r}") from None
    if name in _FLOATS:
        try:
            return float(text)
        except ValueError:
            raise ConfigurationError(f"{name} must be a number, got {value!r}") from None
    if name in _TEXTS:
        return text
    raise ConfigurationError(f"unknown staticmw setting {name!r}")


def filter_factory(
    global_conf: dict[str, str], **settings: str
) -> Callable[[Any], StaticMiddleware]:
    """``use = egg:staticmw``: returns a filter wrapping the next app in the pipeline."""
    options = {name: _convert(name, value) for name, value in settings.items()}
    if not options.get("root"):
        raise ConfigurationError("the staticmw filter needs root = <directory>")

    def make(app: Any) -> StaticMiddleware:
        return StaticMiddleware(app, **options)

    return make
