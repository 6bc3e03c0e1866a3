"""A ``collectstatic`` storage whose post-processing is ``staticmw build``, in place.

``STORAGES = {"staticfiles": {"BACKEND": "staticmw.django.storage.ManifestStaticFilesStorage"}}``.
collectstatic copies the files into ``STATIC_ROOT`` as Django does; then the build hashes
them (Django's name shape, ``app.<12 hex>.css``), rewrites CSS references and JavaScript
module imports with its lexer, precompresses, and writes ``staticmw.json``, Django's
``staticfiles.json`` and ``importmap.json`` from one record. ``STATICMW_KEEP``,
``STATICMW_HISTORY`` and ``STATICMW_DICTIONARIES`` are the build's ``--keep`` (with
``--prune``), ``--history`` and ``--dictionaries``; ``STATICMW_STRICT`` its ``--strict``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from django.contrib.staticfiles import storage
from django.core.exceptions import ImproperlyConfigured

from ...hints import memory
from ...manifest.formats import (
    MANIFEST_NAME,
    Manifest,
    ManifestError,
    ManifestFile,
    decode,
    django_digest,
)
from ...serve.mounts import manifest_seeker
from ...serve.options import UNSET, ConfigurationError, from_settings, normalize_prefix
from ...serve.watched import Watched
from . import static_prefix
from .migration import setting

log = logging.getLogger("staticmw.django")


class ManifestStaticFilesStorage(storage.ManifestStaticFilesStorage):  # type: ignore[misc]
    """Django's manifest storage, whose ``post_process`` is ``staticmw build``."""

    # The codings to precompress; None means every one whose library is installed.
    codecs: list[str] | None = None
    # The record the build writes beside Django's manifest: what this storage and the
    # middleware serving STATIC_ROOT both read, so they never disagree.
    record_name = MANIFEST_NAME

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        try:
            options = from_settings(
                lambda key: setting(key, UNSET), ("manifest_strict", "recheck_interval")
            )
        except ConfigurationError as exc:
            raise ImproperlyConfigured(f"staticmw: {exc}") from None
        if "manifest_strict" in options:
            self.manifest_strict = options["manifest_strict"]
        self.keep_only_hashed_files = bool(setting("STATICMW_KEEP_ONLY_HASHED_FILES", False))
        # A manifest rewritten by a later collectstatic is read again, at most once per
        # STATICMW_RECHECK_INTERVAL; one that does not parse (half written) never is. The
        # watch is the one the middleware serving STATIC_ROOT follows: one read for both.
        self._recheck: float = options.get("recheck_interval", 1.0)
        path = self._manifest_path()
        self._manifests: Watched[ManifestFile] | None = (
            manifest_seeker(path, normalize_prefix(static_prefix()), self._recheck)
            if path
            else None
        )
        self._taken: Manifest | None = None
        self._collecting = False

    def _manifest_path(self) -> str:
        """Where the build's record is, ``""`` while the storage has no location."""
        try:
            return str(self.path(self.record_name))
        except (ImproperlyConfigured, ValueError):
            return ""

    def stored_name(self, name: str) -> str:
        """The hashed name, from the manifest as it is now on disk (see ``_manifest_current``)."""
        self._manifest_current()
        stored: str = super().stored_name(name)
        return stored

    def _manifest_current(self) -> None:
        """Take a manifest a later collectstatic wrote, keeping the last good one when the
        new one cannot be read; never while this storage is collecting."""
        if self._collecting or self._manifests is None:
            return
        live = self._manifests.current()
        found = live.current() if live is not None else None
        if found is None or found is self._taken:
            return
        self._taken = found
        if found.format in ("staticmw", "django"):
            names = dict(found.names)
            self.hashed_files, self.manifest_hash = names, found.digest or django_digest(names)

    def load_manifest(self) -> tuple[dict[str, str], str]:
        """Django's manifest, through the one check every manifest goes through: JSON of any
        shape or depth that is not a Django manifest is :class:`ManifestError` (a
        ``ValueError``), never another exception."""
        content = self.read_manifest()
        if content is None:
            return {}, ""
        raw = content.encode() if isinstance(content, str) else content
        data = decode(raw, self.manifest_name)
        paths = data.get("paths", {}) if isinstance(data, dict) else None
        digest = data.get("hash", "") if isinstance(data, dict) else None
        if (
            not isinstance(data, dict)
            or data.get("version") not in ("1.0", "1.1")
            or not isinstance(paths, dict)
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in paths.items())
            or not isinstance(digest, str)
        ):
            raise ManifestError(f"{self.manifest_name} is not a Django manifest of version 1.1")
        return paths, digest

    def url(self, name: str | None, force: bool = False) -> str:
        """Django's URL for *name*, noted for the page's early hints when they are on."""
        url: str = super().url(name, force)
        if name:
            memory.note(memory.ASSET, name, url)
        return url

    def post_process(
        self, paths: dict[str, Any], dry_run: bool = False, **options: Any
    ) -> Iterator[tuple[str, str | None, Any]]:
        if dry_run:
            return
        # The build's side, loaded by collectstatic alone: a page's {% static %} never is.
        from . import collecting

        self._collecting = True
        try:
            yield from collecting.collect(self, paths)
        finally:
            self._collecting = False
