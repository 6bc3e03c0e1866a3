"""A ``collectstatic`` storage: Django's hashed names and manifest, plus gzip, brotli and zstd.

``STORAGES = {"staticfiles": {"BACKEND": "staticmw.django.storage.ManifestStaticFilesStorage"}}``.
Hashing and reference rewriting are Django's (CSS ``url()`` and ``@import``, source
maps, and with ``STATICMW_JS_MODULES = True`` JavaScript module imports), skipped
altogether when no collected file changed since the last run; precompression follows
``staticmw build``'s rules in worker processes, and a second ``collectstatic`` with
nothing changed compresses nothing. ``STATICMW_KEEP_ONLY_HASHED_FILES = True`` deletes
the unhashed copies; ``STATICMW_MANIFEST_STRICT`` sets Django's ``manifest_strict``;
``STATICMW_SKIP_COMPRESS_EXTENSIONS`` (such as ``["map"]``) leaves those files uncompressed.
A ``sourceMappingURL`` that names a missing map is warned of (file and line) and left as it
is, rather than failing the whole run; ``STATICMW_STRICT = True`` makes it an error, as
``staticmw build --strict`` does.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from django.contrib.staticfiles import storage
from django.core.exceptions import ImproperlyConfigured

from ...hints import memory
from ...manifest.formats import Manifest, ManifestError, ManifestFile, decode
from ...serve.mounts import manifest_seeker
from ...serve.options import UNSET, ConfigurationError, from_settings, normalize_prefix
from ...serve.watched import Watched
from . import static_prefix
from .migration import setting

# What the last successful post-processing saw (a dotfile, so never served).

log = logging.getLogger("staticmw.django")


class ManifestStaticFilesStorage(storage.ManifestStaticFilesStorage):  # type: ignore[misc]
    """Django's manifest storage, whose ``post_process`` also precompresses every file."""

    # The codings to precompress; None means every one whose library is installed.
    codecs: list[str] | None = None

    def __init__(self, *args: Any, **kwargs: Any):
        # Django's rewriting of JavaScript module imports, opt-in as in Django: its
        # patterns also match import-like text in comments and strings, and they are
        # slow on modules with many exports.
        self.support_js_module_import_aggregation = bool(setting("STATICMW_JS_MODULES", False))
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
        self._missing_maps: set[tuple[str, str]] = set()
        self._collecting = False

    def _manifest_path(self) -> str:
        """Where the manifest is, ``""`` while the storage has no location."""
        try:
            return str(self.path(self.manifest_name))
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
        if found.format == "django":
            self.hashed_files, self.manifest_hash = dict(found.names), found.digest

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

    def url_converter(self, name: str, hashed_files: Any, template: Any = None) -> Any:
        """Django's converter, except that a source map comment naming a missing file is
        left as it is, with a warning, unless ``STATICMW_STRICT``."""
        convert = super().url_converter(name, hashed_files, template)
        if not template or "sourceMappingURL" not in template or setting("STATICMW_STRICT"):
            return convert

        def tolerant(match: Any) -> Any:
            try:
                return convert(match)
            except ValueError as exc:
                if "could not be found" not in str(exc):
                    raise
                line = match.string.count("\n", 0, match.start()) + 1
                url = (match.groupdict().get("url") or match.group(0)).strip()
                if (name, url) not in self._missing_maps:  # Django makes several passes
                    self._missing_maps.add((name, url))
                    log.warning(
                        "staticmw: %s, line %d: the source map %s is missing; the comment "
                        "is left as it is (STATICMW_STRICT = True makes this an error)",
                        name,
                        line,
                        url,
                    )
                return match.group(0)

        return tolerant

    def post_process(
        self, paths: dict[str, Any], dry_run: bool = False, **options: Any
    ) -> Iterator[tuple[str, str | None, Any]]:
        if dry_run:
            return
        # The build's side, loaded by collectstatic alone: a page's {% static %} never is.
        from . import collecting

        def hashing() -> Iterator[tuple[str, str | None, Any]]:
            parent: Any = super(ManifestStaticFilesStorage, self)
            yield from parent.post_process(paths, dry_run=False, **options)

        self._collecting = True
        try:
            yield from collecting.collect(self, paths, hashing)
        finally:
            self._collecting = False
