"""The static routes a Flask-style app declares (Flask, Quart: ``url_map`` and blueprints),
read without importing either framework."""

from __future__ import annotations

from typing import Any, NamedTuple

_FILENAME = "<path:filename>"


class StaticRoute(NamedTuple):
    """One ``.../<path:filename>`` static route: its endpoint, URL prefix and folder."""

    endpoint: str
    prefix: str
    folder: str | None


def is_static_endpoint(endpoint: str) -> bool:
    """``static`` (the app's) or ``<blueprint>.static``."""
    return endpoint == "static" or endpoint.endswith(".static")


def static_routes(app: Any) -> list[StaticRoute]:
    """The app's static route and each blueprint's, with the folder each serves (``None``
    when it has none); an object without a ``url_map`` has none."""
    url_map = getattr(app, "url_map", None)
    if url_map is None:
        return []
    found = []
    for rule in url_map.iter_rules():
        endpoint = rule.endpoint
        if not is_static_endpoint(endpoint) or not rule.rule.endswith("/" + _FILENAME):
            continue
        blueprint = endpoint[: -len(".static")]
        owner = app if endpoint == "static" else app.blueprints.get(blueprint)
        folder = getattr(owner, "static_folder", None)
        found.append(StaticRoute(endpoint, rule.rule[: -len(_FILENAME)], folder or None))
    return found
