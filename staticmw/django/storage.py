"""A ``collectstatic`` storage: Django's hashed names and manifest, plus gzip, brotli and zstd.

``STORAGES = {"staticfiles": {"BACKEND": "staticmw.django.storage.ManifestStaticFilesStorage"}}``.
Hashing and reference rewriting are Django's (CSS ``url()`` and ``@import``, source
maps, and JavaScript module imports, turned on here); precompression follows
``staticmw build``'s rules in worker processes, and a second ``collectstatic`` with
nothing changed compresses nothing. ``STATICMW_KEEP_ONLY_HASHED_FILES = True`` deletes
the unhashed copies; ``STATICMW_MANIFEST_STRICT`` sets Django's ``manifest_strict``;
``STATICMW_SKIP_COMPRESS_EXTENSIONS`` (such as ``["map"]``) leaves those files uncompressed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from django.contrib.staticfiles import storage

from .. import precompress
from . import setting

log = logging.getLogger("staticmw.django")


class ManifestStaticFilesStorage(storage.ManifestStaticFilesStorage):  # type: ignore[misc]
    """Django's manifest storage, whose ``post_process`` also precompresses every file."""

    support_js_module_import_aggregation = True
    # The codings to precompress; None means every one whose library is installed.
    codecs: list[str] | None = None

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        strict = setting("STATICMW_MANIFEST_STRICT")
        if strict is not None:
            self.manifest_strict = bool(strict)
        self.keep_only_hashed_files = bool(setting("STATICMW_KEEP_ONLY_HASHED_FILES", False))

    def post_process(
        self, paths: dict[str, Any], dry_run: bool = False, **options: Any
    ) -> Iterator[tuple[str, str | None, Any]]:
        yield from super().post_process(paths, dry_run=dry_run, **options)
        if dry_run:
            return
        names = set(paths) | set(self.hashed_files.values())
        if self.keep_only_hashed_files:
            for name, hashed in self.hashed_files.items():
                if name != hashed and name in names:
                    self.delete(name)
                    names.discard(name)
        skip = setting("STATICMW_SKIP_COMPRESS_EXTENSIONS", ())
        result = precompress.precompress(self.location, names, self.codecs, skip_extensions=skip)
        log.info(
            "staticmw: %d variants written, %d files unchanged, %d not compressible",
            result.compressed,
            result.unchanged,
            result.skipped,
        )
        for error in result.errors:
            name = error.split(":", 1)[0]
            yield name, None, RuntimeError(error)
