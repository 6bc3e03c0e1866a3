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

from ..serve import options as opts
from ..serve.options import ConfigurationError
from .wsgi import StaticMiddleware

# Beside the options, the filter takes the first root and its prefix, both text.
_PLACES = ("root", "prefix")


def _convert(name: str, value: str) -> Any:
    """A setting's text as the value its option takes, read as :class:`Options` declares."""
    text = value.strip()
    if name in _PLACES:
        return None if text.lower() == "none" else text
    if name not in opts.KEYWORD_OPTIONS:
        raise ConfigurationError(f"unknown staticmw setting {name!r}")
    kind = opts.text_kind(name)
    if kind == opts.NOT_TEXT:
        raise ConfigurationError(f"staticmw setting {name!r} cannot be given as text")
    if text.lower() == "none":
        return None
    flag = text.lower() in ("true", "false")
    if kind == opts.FLAG or (kind == opts.FLAG_OR_TEXT and flag):
        if not flag:
            raise ConfigurationError(f"{name} must be true or false, got {value!r}")
        return text.lower() == "true"
    if kind == opts.WHOLE:
        try:
            return int(text)
        except ValueError:
            raise ConfigurationError(f"{name} must be a whole number, got {value!r}") from None
    if kind == opts.NUMBER:
        try:
            return float(text)
        except ValueError:
            raise ConfigurationError(f"{name} must be a number, got {value!r}") from None
    return text


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
