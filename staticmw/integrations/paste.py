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


def _place(text: str) -> str | None:
    text = text.strip()
    return None if text.lower() == "none" else text


def filter_factory(
    global_conf: dict[str, str], **settings: str
) -> Callable[[Any], StaticMiddleware]:
    """``use = egg:staticmw``: returns a filter wrapping the next app in the pipeline.

    Settings are read as every integration reads them
    (:func:`~staticmw.serve.options.from_settings`), by their option names and from text."""
    root, prefix = (_place(settings.pop(name, "none")) for name in _PLACES)
    if not root:
        raise ConfigurationError("the staticmw filter needs root = <directory>")
    try:
        opts.check_option_names(settings)
    except opts.UnknownOption as exc:
        raise ConfigurationError(f"unknown staticmw setting: {exc}") from None
    options = opts.from_settings(
        lambda key: settings.get(key, opts.UNSET), key_of=str, as_text=True, named=str
    )

    def make(app: Any) -> StaticMiddleware:
        return StaticMiddleware(app, root, prefix, **options)

    return make
