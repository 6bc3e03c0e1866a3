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

import contextlib
import hashlib
import logging
import os
from collections.abc import Iterator
from time import monotonic
from typing import Any

from django.contrib.staticfiles import storage
from django.core.exceptions import ImproperlyConfigured

from .. import engine, hints, precompress
from ..atomic import atomic_write
from ..importmap import IMPORTMAP_NAME, ImportMapError, check_declared, integrity, is_module
from ..manifest import ManifestError, decode
from ..modulegraph import Source, assemble
from ..options import UNSET, ConfigurationError, from_settings
from ..rewrite import module_specifiers
from .migration import setting

# What the last successful post-processing saw (a dotfile, so never served).
STATE = ".staticmw-processed"

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
        # STATICMW_RECHECK_INTERVAL; one that does not parse (half written) never is.
        self._recheck: float = options.get("recheck_interval", 1.0)
        self._checked = monotonic()
        self._signature = self._manifest_signature()
        self._refused: tuple[int, int, int] | None = None
        self._missing_maps: set[tuple[str, str]] = set()
        self._collecting = False

    def _manifest_signature(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path(self.manifest_name))
        except (OSError, ImproperlyConfigured, ValueError):
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def stored_name(self, name: str) -> str:
        """The hashed name, from the manifest as it is now on disk (see ``_manifest_current``)."""
        self._manifest_current()
        stored: str = super().stored_name(name)
        return stored

    def _manifest_current(self) -> None:
        """Take a manifest a later collectstatic wrote, keeping the last good one when the
        new one cannot be read; never while this storage is collecting."""
        now = monotonic()
        if self._collecting or now - self._checked < self._recheck:
            return
        self._checked = now
        signature = self._manifest_signature()
        if signature is None or signature in (self._signature, self._refused):
            return
        try:
            self.hashed_files, self.manifest_hash = self.load_manifest()
        except ValueError as exc:
            self._refused = signature
            log.error("staticmw: %s; still using the manifest read before", exc)
            return
        self._signature, self._refused = signature, None
        log.info("staticmw: %s read again", self.manifest_name)

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
            hints.note(hints.ASSET, name, url)
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
        self._collecting = True
        try:
            yield from self._collect(paths, **options)
        finally:
            self._collecting = False
            self._signature = self._manifest_signature()  # the one just written

    def _collect(
        self, paths: dict[str, Any], **options: Any
    ) -> Iterator[tuple[str, str | None, Any]]:
        state, digests = self._state(paths)
        unchanged = self._unchanged_since_last_run(state)
        if unchanged:
            # Same bytes, same rules: Django would compute the very same manifest.
            log.info("staticmw: nothing changed since the last collectstatic; manifest kept")
        else:
            for processed in super().post_process(paths, dry_run=False, **options):
                if isinstance(processed[2], Exception):
                    self._forget_state()
                yield processed
        names = set(paths) | set(self.hashed_files.values())
        if self.keep_only_hashed_files:
            for name, hashed in self.hashed_files.items():
                if name != hashed and name in names:
                    self.delete(name)
                    names.discard(name)
        skip = setting("STATICMW_SKIP_COMPRESS_EXTENSIONS", ())
        result = precompress.precompress(
            self.location, names, self.codecs, skip_extensions=skip, known=digests
        )
        log.info(
            "staticmw: %d variants written, %d files unchanged, %d not compressible",
            result.compressed,
            result.unchanged,
            result.skipped,
        )
        for error in result.errors:
            name = error.split(":", 1)[0]
            self._forget_state()
            yield name, None, RuntimeError(error)
        if not result.errors:
            atomic_write(os.path.join(self.location, STATE), state.encode())
        if not (unchanged and os.path.isfile(os.path.join(self.location, IMPORTMAP_NAME))):
            yield from self._write_importmap(paths)

    def _write_importmap(self, paths: dict[str, Any]) -> Iterator[tuple[str, str | None, Any]]:
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
        by_hashed = {hashed: name for name, hashed in self.hashed_files.items()}

        def resolve(target: str) -> str | None:
            logical = by_hashed.get(target, target)
            return logical if logical in self.hashed_files and is_module(logical) else None

        sources = []
        for name, hashed in self.hashed_files.items():
            if not is_module(name):
                continue
            try:
                with open(self.path(hashed), "rb") as handle:
                    content = handle.read()
            except OSError as exc:
                yield name, None, exc
                return
            specifiers = module_specifiers(content)
            sources.append(Source(name, hashed, integrity(content), hashed, specifiers))
        strict = bool(setting("STATICMW_STRICT"))
        record, errors, warnings = assemble(sources, declared, resolve, strict)
        for message in warnings:
            log.warning("staticmw: %s", message)
        for message in errors:
            yield IMPORTMAP_NAME, None, ImproperlyConfigured(f"STATICMW_IMPORTMAP: {message}")
        if record is not None and not errors:
            atomic_write(os.path.join(self.location, IMPORTMAP_NAME), record.dump())

    def _state(self, paths: dict[str, Any]) -> tuple[str, dict[str, str]]:
        """A digest of every collected file's bytes and of the rules that shape the manifest,
        and each file's own digest (which precompression reuses)."""
        digest = hashlib.sha256()
        rules = (
            self.manifest_version,
            self.support_js_module_import_aggregation,
            self.max_post_process_passes,
            self.keep_intermediate_files,
            repr(self.patterns),
            repr(setting("STATICMW_IMPORTMAP", None)),
        )
        digest.update(repr(rules).encode())
        files: dict[str, str] = {}
        for name in sorted(paths):
            digest.update(name.encode("utf-8", "surrogateescape") + b"\0")
            try:
                files[name] = engine.file_digest(self.path(name))
            except OSError:
                digest.update(b"unreadable")
            else:
                digest.update(files[name].encode())
        return digest.hexdigest(), files

    def _unchanged_since_last_run(self, state: str) -> bool:
        """Whether the last run saw exactly these bytes and every name it hashed is still there."""
        try:
            with open(os.path.join(self.location, STATE), "rb") as file:
                previous = file.read().decode("ascii", "replace")
        except OSError:
            return False
        hashed = self.hashed_files
        return (
            previous == state
            and bool(hashed)
            and all(os.path.isfile(self.path(name)) for name in hashed.values())
        )

    def _forget_state(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(self.location, STATE))
