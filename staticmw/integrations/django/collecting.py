"""collectstatic's post-processing for staticmw's storage: Django's hashing, then
precompression and the import map. The build's modules are loaded here alone, so that a page
that calls ``{% static %}`` through the storage never loads them."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured

from ...build import precompress, workers
from ...build.atomic import atomic_write
from ...build.modulegraph import Source, assemble, dump
from ...build.rewrite import module_specifiers
from ...manifest.formats import sri
from ...manifest.importmaps import IMPORTMAP_NAME, ImportMapError, check_declared, is_module
from .migration import setting

if TYPE_CHECKING:
    from .storage import ManifestStaticFilesStorage

log = logging.getLogger("staticmw.django")
# What the last post-processing ran over, so that an unchanged collectstatic skips it.
STATE = ".staticmw-processed"


def collect(
    storage: ManifestStaticFilesStorage,
    paths: dict[str, Any],
    hashing: Callable[[], Iterator[tuple[str, str | None, Any]]],
) -> Iterator[tuple[str, str | None, Any]]:
    """collectstatic's post-processing: Django's hashing (*hashing*, skipped when nothing
    changed), then precompression and the import map."""
    state, digests = state_of(storage, paths)
    unchanged = unchanged_since_last_run(storage, state)
    if unchanged:
        # Same bytes, same rules: Django would compute the very same manifest.
        log.info("staticmw: nothing changed since the last collectstatic; manifest kept")
    else:
        for processed in hashing():
            if isinstance(processed[2], Exception):
                forget_state(storage)
            yield processed
    names = set(paths) | set(storage.hashed_files.values())
    if storage.keep_only_hashed_files:
        for name, hashed in storage.hashed_files.items():
            if name != hashed and name in names:
                storage.delete(name)
                names.discard(name)
    skip = setting("STATICMW_SKIP_COMPRESS_EXTENSIONS", ())
    result = precompress.precompress(
        storage.location, names, storage.codecs, skip_extensions=skip, known=digests
    )
    log.info(
        "staticmw: %d variants written, %d files unchanged, %d not compressible",
        result.compressed,
        result.unchanged,
        result.skipped,
    )
    for error in result.errors:
        name = error.split(":", 1)[0]
        forget_state(storage)
        yield name, None, RuntimeError(error)
    if not result.errors:
        atomic_write(os.path.join(storage.location, STATE), state.encode())
    if not (unchanged and os.path.isfile(os.path.join(storage.location, IMPORTMAP_NAME))):
        yield from write_importmap(storage, paths)


def write_importmap(
    storage: ManifestStaticFilesStorage, paths: dict[str, Any]
) -> Iterator[tuple[str, str | None, Any]]:
    """``importmap.json`` for ``{% importmap %}``: every collected module's hashed name,
    integrity and static imports, and the bare names of ``STATICMW_IMPORTMAP``."""
    if IMPORTMAP_NAME in paths:
        log.warning(
            "staticmw: a collected file is named %s; import map not written", IMPORTMAP_NAME
        )
        return
    try:
        declared = check_declared(setting("STATICMW_IMPORTMAP", {}) or {})
    except ImportMapError as exc:
        yield IMPORTMAP_NAME, None, ImproperlyConfigured(f"STATICMW_IMPORTMAP: {exc}")
        return
    by_hashed = {hashed: name for name, hashed in storage.hashed_files.items()}

    def resolve(target: str) -> str | None:
        logical = by_hashed.get(target, target)
        return logical if logical in storage.hashed_files and is_module(logical) else None

    sources = []
    for name, hashed in storage.hashed_files.items():
        if not is_module(name):
            continue
        try:
            with open(storage.path(hashed), "rb") as handle:
                content = handle.read()
        except OSError as exc:
            yield name, None, exc
            return
        specifiers = module_specifiers(content)
        sources.append(Source(name, hashed, sri(content), hashed, specifiers))
    strict = bool(setting("STATICMW_STRICT"))
    record, errors, warnings = assemble(sources, declared, resolve, strict)
    for message in warnings:
        log.warning("staticmw: %s", message)
    for message in errors:
        yield IMPORTMAP_NAME, None, ImproperlyConfigured(f"STATICMW_IMPORTMAP: {message}")
    if record is not None and not errors:
        atomic_write(os.path.join(storage.location, IMPORTMAP_NAME), dump(record))


def state_of(
    storage: ManifestStaticFilesStorage, paths: dict[str, Any]
) -> tuple[str, dict[str, str]]:
    """A digest of every collected file's bytes and of the rules that shape the manifest,
    and each file's own digest (which precompression reuses)."""
    digest = hashlib.sha256()
    rules = (
        storage.manifest_version,
        storage.support_js_module_import_aggregation,
        storage.max_post_process_passes,
        storage.keep_intermediate_files,
        repr(storage.patterns),
        repr(setting("STATICMW_IMPORTMAP", None)),
    )
    digest.update(repr(rules).encode())
    files: dict[str, str] = {}
    for name in sorted(paths):
        digest.update(name.encode("utf-8", "surrogateescape") + b"\0")
        try:
            files[name] = workers.file_digest(storage.path(name))
        except OSError:
            digest.update(b"unreadable")
        else:
            digest.update(files[name].encode())
    return digest.hexdigest(), files


def unchanged_since_last_run(storage: ManifestStaticFilesStorage, state: str) -> bool:
    """Whether the last run saw exactly these bytes and every name it hashed is still there."""
    try:
        with open(os.path.join(storage.location, STATE), "rb") as file:
            previous = file.read().decode("ascii", "replace")
    except OSError:
        return False
    hashed = storage.hashed_files
    return (
        previous == state
        and bool(hashed)
        and all(os.path.isfile(storage.path(name)) for name in hashed.values())
    )


def forget_state(storage: ManifestStaticFilesStorage) -> None:
    with contextlib.suppress(OSError):
        os.unlink(os.path.join(storage.location, STATE))
