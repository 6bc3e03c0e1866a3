"""WhiteNoise's and ServeStatic's Django settings: what each is read as here, or why it is
not needed, so that a project moving over keeps working and is told what to rename."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings

log = logging.getLogger("staticmw.django")

# The settings prefixes of the projects staticmw replaces.
PEERS = ("WHITENOISE_", "SERVESTATIC_")

# A peer's setting (without its prefix) -> the staticmw setting that means the same.
READ_AS = {
    "AUTOREFRESH": "STATICMW_AUTOREFRESH",
    "USE_FINDERS": "STATICMW_USE_FINDERS",
    "MAX_AGE": "STATICMW_MAX_AGE",
    "INDEX_FILE": "STATICMW_INDEX_FILE",
    "MIMETYPES": "STATICMW_MIMETYPES",
    "CHARSET": "STATICMW_CHARSET",
    "ALLOW_ALL_ORIGINS": "STATICMW_ALLOW_ALL_ORIGINS",
    "ADD_HEADERS_FUNCTION": "STATICMW_ADD_HEADERS_FUNCTION",
    "IMMUTABLE_FILE_TEST": "STATICMW_IMMUTABLE_FILE_TEST",
    "MANIFEST_STRICT": "STATICMW_MANIFEST_STRICT",
    "KEEP_ONLY_HASHED_FILES": "STATICMW_KEEP_ONLY_HASHED_FILES",
    "SKIP_COMPRESS_EXTENSIONS": "STATICMW_SKIP_COMPRESS_EXTENSIONS",
    "STATIC_PREFIX": "STATICMW_STATIC_PREFIX",
    "ROOT": "STATICMW_ROOT_FILES",
    "ALLOW_UNSAFE_SYMLINKS": "STATICMW_FOLLOW_SYMLINKS",
}

_EVERY_CODEC = (
    "collectstatic writes a variant for every installed codec (gzip always, brotli and "
    "zstd with their extras); a subclass of the storage narrows them with `codecs = [...]`"
)

# A peer's setting (without its prefix) that staticmw needs no counterpart for, and why.
NOT_NEEDED = {
    "USE_MANIFEST": "staticfiles.json is read whenever STATIC_ROOT has one",
    "USE_STATIC_ROOT": "STATIC_ROOT is always served outside development "
    "(STATICMW_ROOT serves a `staticmw build` of it instead)",
    "USE_GZIP": _EVERY_CODEC,
    "USE_BROTLI": _EVERY_CODEC,
    "USE_ZSTD": _EVERY_CODEC,
    "ZSTD_DICTIONARY": "zstd variants are plain zstd that every client decodes; deltas "
    "against earlier versions are STATICMW_DICTIONARIES = N",
    "ZSTD_DICTIONARY_IS_RAW": "zstd variants are plain zstd, made with no dictionary",
    "ZSTD_LEVEL": "zstd variants are written at level 19 with the 8 MiB window RFC 9659 allows",
    "MINIFY": "staticmw does not minify: minify in the bundler, before collectstatic",
}

_warned: set[str] = set()


def warn_once(message: str) -> None:
    """Log *message* once per process, however many times settings are read."""
    if message not in _warned:
        _warned.add(message)
        log.warning("%s", message)


def peer_names(name: str) -> list[str]:
    """The peers' settings that *name* (a ``STATICMW_*`` setting) stands for."""
    return [peer + old for old, new in READ_AS.items() if new == name for peer in PEERS]


def setting(name: str, default: Any = None) -> Any:
    """A ``STATICMW_*`` setting, else the first peer setting that means the same (warned of
    once); a peer setting that the staticmw one overrides is warned of too."""
    present = [old for old in peer_names(name) if hasattr(settings, old)]
    if hasattr(settings, name):
        for old in present:
            warn_once(f"staticmw: {old} is ignored because {name} is set; remove it")
        return getattr(settings, name)
    if present:
        for old in present[1:]:
            warn_once(f"staticmw: {old} is ignored because {present[0]} is read as {name}")
        warn_once(f"staticmw: {present[0]} is read as {name}; rename it")
        return getattr(settings, present[0])
    return default


def advice() -> list[tuple[str, str]]:
    """``(message, hint)`` for every peer setting the project sets."""
    found: list[tuple[str, str]] = []
    for peer in PEERS:
        for old, new in READ_AS.items():
            if not hasattr(settings, peer + old):
                continue
            if hasattr(settings, new):
                found.append((f"{peer}{old} is ignored because {new} is set.", "Remove it."))
            else:
                found.append((f"{peer}{old} is read as {new}.", f"Rename it to {new}."))
        for old, why in NOT_NEEDED.items():
            if hasattr(settings, peer + old):
                found.append((f"{peer}{old} has no effect: {why}.", "Remove it."))
    return found
