"""collectstatic's post-processing for staticmw's storage: the collected tree goes through
``staticmw build``, in place in ``STATIC_ROOT``. The build's modules are loaded here alone, so
that a page that calls ``{% static %}`` through the storage never loads them."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from ...build import compress
from ...build.atomic import atomic_write
from ...build.pipeline import BuildConfig, BuildError, build
from ...manifest.formats import DJANGO_MANIFEST_NAME
from ...manifest.importmaps import ImportMapError, check_declared
from . import buildsettings

if TYPE_CHECKING:
    from .storage import ManifestStaticFilesStorage

log = logging.getLogger("staticmw.django")

# What earlier versions of the storage kept beside the files; the build's record replaces them.
FORMER_STATE = (".staticmw-processed", ".staticmw-compressed.json")


def config_for(storage: ManifestStaticFilesStorage, paths: dict[str, Any]) -> BuildConfig:
    """The build that collectstatic's *paths* make, with the settings that shape it."""
    location = os.path.realpath(storage.location)
    chosen = buildsettings.read(location)
    sources = [location]
    collected: dict[str, str] = {}
    for name, (found_in, found_as) in paths.items():
        copy = os.path.join(location, *name.split("/"))
        if os.path.islink(copy):
            # collectstatic --link: the build reads the file the link was made to, in the
            # finder's own directory, under the same symlink rules as any source.
            try:
                origin = os.path.realpath(found_in.path(found_as))
                directory = os.path.realpath(found_in.location)
            except (AttributeError, NotImplementedError):
                origin, directory = copy, location
            if directory not in sources:
                sources.append(directory)
            collected[name] = origin
        else:
            collected[name] = copy
    try:
        declared = check_declared(chosen.importmap)
    except ImportMapError as exc:
        raise ImproperlyConfigured(f"STATICMW_IMPORTMAP: {exc}") from None
    return BuildConfig(
        sources=sources,
        out=location,
        collected=collected,
        codecs=storage.codecs,
        strict=chosen.strict,
        prune=chosen.keep is not None,
        keep=chosen.keep or 0,
        history=chosen.history,
        dictionaries=chosen.dictionaries,
        django_manifest=True,
        importmap=declared,
        hashed_only=storage.keep_only_hashed_files,
        skip_compress=chosen.skip_compress,
        url_prefix=static_url_path(),
    )


def static_url_path() -> str | None:
    """The path of ``STATIC_URL`` (``/static/``), below which Django's storage took a
    stylesheet's root-absolute URL for a collected file; ``None`` for a URL on another host."""
    static_url = str(getattr(settings, "STATIC_URL", "") or "")
    if not static_url or static_url.startswith(("http://", "https://", "//")):
        return None
    return "/" + static_url.strip("/") + "/" if static_url.strip("/") else "/"


def collect(
    storage: ManifestStaticFilesStorage, paths: dict[str, Any]
) -> Iterator[tuple[str, str | None, Any]]:
    """collectstatic's post-processing: the build over the collected files, then Django's
    manifest read back as every later ``{% static %}`` reads it."""
    config = config_for(storage, paths)
    try:
        report = build(config)
    except (BuildError, compress.CodecUnavailable, ValueError) as exc:
        raise ImproperlyConfigured(f"staticmw: collectstatic's build cannot start: {exc}") from None
    for message in report.warnings:
        log.warning("staticmw: %s", message)
    if report.errors:
        first = report.errors[0].split(":", 1)[0]
        listed = "\n  ".join(report.errors)
        yield first, None, ValueError(f"staticmw: collectstatic's build failed:\n  {listed}")
        return
    log.info(
        "staticmw: %d files, %d outputs written, %d unchanged, %d removed",
        report.files,
        len(report.written),
        report.unchanged,
        len(report.removed),
    )
    for former in FORMER_STATE:
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(config.out, former))
    if storage.manifest_name != DJANGO_MANIFEST_NAME:  # a subclass's own name for it
        with open(os.path.join(config.out, DJANGO_MANIFEST_NAME), "rb") as handle:
            atomic_write(storage.path(storage.manifest_name), handle.read())
    storage.hashed_files, storage.manifest_hash = storage.load_manifest()
    written = set(report.written)
    for name in paths:
        hashed = storage.hashed_files.get(name)
        if hashed is None:
            continue
        if storage.keep_only_hashed_files and hashed != name:
            with contextlib.suppress(FileNotFoundError):
                storage.delete(name)
        yield name, hashed, hashed in written
