"""The roots served, each under its URL prefix, and how a request path finds a file in them."""

from __future__ import annotations

import contextlib
import logging
import os
import posixpath
import sys
from collections.abc import Callable, Sequence
from functools import partial
from time import monotonic
from typing import NamedTuple

from ..http import encodings
from ..http.dictionaries import DCZ
from ..manifest.formats import (
    DJANGO_MANIFEST_NAME,
    Entry,
    Integrities,
    Manifest,
    ManifestError,
    ManifestFile,
    find_in_root,
    is_sri,
)
from ..manifest.importmaps import IMPORTMAP_NAME, ImportMap, ImportMapError
from ..manifest.urls import StaticURLs
from . import paths
from .options import (
    ConfigurationError,
    Options,
    check_manifest,
    normalize_prefix,
    not_a_directory,
)
from .representations import HeaderBuilder, Resource
from .watched import Watched

log = logging.getLogger("staticmw")

ManifestOption = str | os.PathLike[str] | Manifest | ManifestFile | bool | None


class Redirect:
    """A directory asked for without its slash: redirect to ``segment + "/"``."""

    __slots__ = ("segment",)

    def __init__(self, segment: str):
        self.segment = segment


class Refused:
    """A request path that breaks a path rule under every prefix it is under: not looked up."""

    __slots__ = ()


REFUSED = Refused()


class MountInfo(NamedTuple):
    """One root as :attr:`staticmw.StaticMiddleware.mounts` describes it."""

    prefix: str
    directory: str
    manifest: Manifest | None


class Mount:
    """One root: its URL prefix (as text and in PEP 3333 form), directory, manifest and URLs."""

    __slots__ = (
        "directory",
        "hidden",
        "importmap",
        "live",
        "manifest",
        "modules_of",
        "prefix",
        "raw_prefix",
        "seek",
        "urls",
    )

    def __init__(
        self,
        prefix: str,
        directory: str,
        manifest: Manifest | ManifestFile | None,
        urls: StaticURLs,
        modules: ImportMap | None = None,
        importmap_file: Watched[ImportMap] | None = None,
    ):
        self.prefix = prefix
        # Request paths carry bytes as latin-1 code points (PEP 3333).
        self.raw_prefix = prefix.encode("utf-8").decode("latin-1")
        self.directory = directory
        # A manifest read from a file is read again when the file changes.
        self.live = manifest if isinstance(manifest, ManifestFile) else None
        if isinstance(manifest, ManifestFile):
            manifest = manifest.manifest
        self.manifest = manifest
        self.urls = urls
        # The manifest file itself is build metadata, not an asset.
        self.hidden: frozenset[str] = frozenset()
        if manifest is not None and paths.is_within(manifest.path, directory):
            self.hidden = _metadata(manifest.path, manifest.format, directory)
        self.importmap = modules
        if modules is not None:
            self.hidden |= {IMPORTMAP_NAME}
        # A manifest declared but not there at start: it is waited for (a first build).
        self.seek: Watched[ManifestFile] | None = None
        # The import map that goes with a version of the manifest: the root's own
        # importmap.json, unless its owner reads it elsewhere (Flask's build).
        self.modules_of: Callable[[Manifest], ImportMap | None] = partial(
            _modules_for, importmap_file or importmaps(directory)
        )

    def refresh(self) -> bool:
        """Take the manifest (and import map) again when the file changed, or a first one
        where there was none; whether it did."""
        if self.live is None:
            found = self.seek.current() if self.seek is not None else None
            if found is None:
                return False
            self.live = found
            self.hidden |= _metadata(found.path, found.manifest.format, self.directory)
        current = self.live.current()
        if current is self.manifest:
            return False
        self.manifest = self.urls.manifest = current
        modules = self.modules_of(current)
        if modules is not None:
            self.importmap = modules
            self.hidden |= {IMPORTMAP_NAME}
        return True


def manifest_seeker(path: str, prefix: str, interval: float) -> Watched[ManifestFile]:
    """What waits for a manifest that was not there at start (a root declared it, for a
    server started before its first build; Django's storage, before collectstatic): the
    shared watch of the file once it appears."""
    return Watched(
        path,
        lambda found: ManifestFile.shared(found, interval, public_prefix=prefix),
        (ManifestError,),
        interval,
        what="manifest",
        log=log,
    )


def importmaps(directory: str) -> Watched[ImportMap]:
    """The ``importmap.json`` that ``staticmw build`` or collectstatic wrote in a root."""
    path = os.path.join(directory, IMPORTMAP_NAME)
    return Watched(path, ImportMap.load, (ImportMapError,), what="import map", log=log)


def _modules_for(watched: Watched[ImportMap], manifest: Manifest) -> ImportMap | None:
    """The import map that goes with *manifest*: only ours and Django's write one."""
    return watched.current() if manifest.format in ("staticmw", "django") else None


class Pending:
    """A manifest a root declared by path that is not there yet: looked for later."""

    __slots__ = ("path",)

    def __init__(self, path: str):
        self.path = path


def _metadata(path: str, fmt: str, directory: str) -> frozenset[str]:
    """The manifest at *path* as a name in *directory*, and beside our record the Django
    manifest the same build writes (``--django-manifest``, collectstatic): never assets."""
    relative = os.path.relpath(path, directory).replace(os.sep, "/")
    if fmt != "staticmw":
        return frozenset({relative})
    return frozenset({relative, posixpath.join(posixpath.dirname(relative), DJANGO_MANIFEST_NAME)})


def load_manifest(
    directory: str, prefix: str, option: ManifestOption, interval: float = 1.0
) -> Manifest | ManifestFile | Pending | None:
    """The manifest *option* names for a root (see :meth:`Mounts.add`), loaded and checked;
    one read from a file is a :class:`ManifestFile`, read again when it changes.

    ``None`` looks for one in the root now, once: a file that appears there later is
    never taken for a manifest, so that whoever can write into a root cannot make one.
    A path that is not there yet gives :class:`Pending`, looked for later.
    """
    if option is False:
        return None
    if isinstance(option, (Manifest, ManifestFile)):
        return option
    if option is None:
        found = find_in_root(directory)
        if found is None:
            return None
        path = found
    else:
        name = os.fspath(check_manifest("manifest", option))
        path = os.path.join(directory, name)
        if not os.path.lexists(path):
            log.warning("staticmw: manifest %s is not there yet; looked for until it is", path)
            return Pending(path)
        if not os.path.isfile(path):
            raise ConfigurationError(f"manifest {name!r} is not a file (looked at {path!r})")
    try:
        loaded = ManifestFile.shared(path, interval, public_prefix=prefix)
    except ManifestError as exc:
        raise ConfigurationError(str(exc)) from None
    manifest = loaded.manifest
    log.info("staticmw: %s manifest %s lists %d files", manifest.format, path, len(manifest))
    return loaded


def load_importmap(watched: Watched[ImportMap], manifest: Manifest | None) -> ImportMap | None:
    """The ``importmap.json`` beside a root's manifest at start-up, if any: one that cannot
    be read is an error then, as a bad manifest is."""
    if manifest is None or manifest.format not in ("staticmw", "django"):
        return None
    if not os.path.isfile(watched.path):
        return None
    try:
        return watched.first()
    except ImportMapError as exc:
        raise ConfigurationError(str(exc)) from None


def checked_root(root: str | os.PathLike[str]) -> str:
    """The real path of a root directory; a clear error when it cannot be served."""
    try:
        directory = os.fspath(root)
    except TypeError:
        raise ConfigurationError(f"root must be a path, got {root!r}") from None
    if not isinstance(directory, str) or not directory:
        raise ConfigurationError(f"root must be a non-empty text path, got {root!r}")
    real = os.path.realpath(directory)
    if not os.path.isdir(real):
        raise ConfigurationError(f"root {directory!r} {not_a_directory(real)}")
    if not os.access(real, os.R_OK | os.X_OK):
        raise ConfigurationError(f"root {directory!r} is not readable by this process")
    return real


class Mounts:
    """The roots in the order they are tried, and the lookup of a request path in them."""

    def __init__(self, options: Options, builder: HeaderBuilder, recheck_interval: float):
        self.options = options
        self.builder = builder
        # How often a manifest file is looked at for a new version (0: on every use).
        self.recheck_interval = recheck_interval
        # Longest prefix first; among equal prefixes, the root added first.
        self.ordered: list[Mount] = []
        # In the order they were added.
        self.added: list[Mount] = []
        # What a logical name is looked up in: the roots in the order they were added, less
        # those that take uploads (allow_hard_links=False), which only a URL path names.
        self.naming: list[Mount] = []
        self.roots: list[str] = []
        # Roots that refuse a file with more than one hard link (allow_hard_links=False).
        self.single_link_roots: list[str] = []
        self.resolver = paths.Resolver(
            self.roots, options.follow_symlinks, options.serve_hidden, self.single_link_roots
        )
        # The request-path prefixes (PEP 3333 form), and those named without their slash
        # where that redirects (index files on).
        self.raw_prefixes: tuple[str, ...] = ()
        self.bare_prefixes: frozenset[str] = frozenset()
        # SRI values of hashed files read from disk, by (root, hashed name).
        self._integrity = Integrities()

    def add(self, mount: Mount) -> None:
        self.added.append(mount)
        self.ordered.append(mount)
        self.ordered.sort(key=lambda m: len(m.prefix), reverse=True)
        if mount.directory not in self.roots:
            self.roots.append(mount.directory)
        self.naming = [m for m in self.added if m.directory not in self.single_link_roots]
        self.raw_prefixes = tuple(m.raw_prefix for m in self.ordered)
        # "/static" redirects to "/static/" only when index files are on.
        self.bare_prefixes = frozenset(
            m.raw_prefix[:-1]
            for m in self.ordered
            if self.options.index_file is not None and len(m.raw_prefix) > 1
        )

    def mount(
        self,
        root: str | os.PathLike[str],
        prefix: str | None,
        manifest: ManifestOption,
        static_host: str | None,
        strict: bool,
        allow_hard_links: bool | None = None,
    ) -> Mount:
        """Check, load and add a root; nothing is added when any part is wrong.

        *allow_hard_links* ``None`` takes the option of that name.
        """
        if allow_hard_links is None:
            allow_hard_links = self.options.allow_hard_links
        elif not isinstance(allow_hard_links, bool):
            raise ConfigurationError(
                f"allow_hard_links must be True, False or None, got {allow_hard_links!r}"
            )
        real = checked_root(root)
        normalized = normalize_prefix(prefix)
        if not allow_hard_links:
            # A root for uploads: whatever is written into it is never a manifest.
            if manifest not in (None, False):
                raise ConfigurationError(
                    f"root {os.fspath(root)!r}: a root with allow_hard_links=False is one "
                    "that others can write into, and never reads a manifest; "
                    "drop manifest= or serve the build from a root of its own"
                )
            manifest = False
        found = load_manifest(real, normalized, manifest, self.recheck_interval)
        pending = found if isinstance(found, Pending) else None
        loaded = None if isinstance(found, Pending) else found
        first = loaded.manifest if isinstance(loaded, ManifestFile) else loaded
        urls = StaticURLs(first, normalized, static_host, strict)
        # One watch of the import map, from the start-up read on.
        modules = importmaps(real)
        mount = Mount(normalized, real, loaded, urls, load_importmap(modules, first), modules)
        if pending is not None:
            mount.seek = manifest_seeker(pending.path, normalized, self.recheck_interval)
        if not allow_hard_links and real not in self.single_link_roots:
            self.single_link_roots.append(real)
        self.add(mount)
        return mount

    def refresh(self) -> bool:
        """Take each manifest that changed on disk (at most one look per recheck interval);
        whether any did, so that what was looked up with the old one can be forgotten."""
        changed = False
        for mount in self.added:
            changed = mount.refresh() or changed
        return changed

    def holds(self, mount: Mount, name: str) -> bool:
        """Whether *name* is a file that *mount* would serve (checked like a request)."""
        split = paths.split_request_path(name, self.options.serve_hidden)
        if split is None or split[1]:
            return False
        try:
            return self.resolver.exists(mount.directory, split[0], directory=False)
        except OSError:
            return False

    def named(self, name: str) -> tuple[Sequence[Mount], str]:
        """The mounts to look *name* up in, and the name there: a URL path such as
        ``/static/css/app.css`` is the name below the mount at its prefix; anything else is
        a logical name, looked up in :attr:`naming` order (the first root that lists or
        holds it wins), which no root for uploads is part of."""
        if name.startswith("/"):
            under = [m for m in self.ordered if m.prefix != "/" and name.startswith(m.prefix)]
            if under:
                return under[:1], name[len(under[0].prefix) :]
            return self.naming, name.lstrip("/")
        return self.naming, name

    def hashed_integrity(self, name: str) -> str | None:
        """The SRI value of the hashed file that :meth:`static_url` gives for *name*, when a
        manifest lists it (a plain file may change under its name: it gets none)."""
        mounts, name = self.named(name)
        for mount in mounts:
            hashed = mount.manifest.lookup(name) if mount.manifest is not None else None
            if hashed is not None:
                return self.integrity(mount, hashed)
        return None

    def integrity(self, mount: Mount, hashed: str) -> str | None:
        """The SRI value of a hashed file of *mount*: as the build recorded it, else read
        once through the resolver (``None`` when it cannot be)."""
        entry = mount.manifest.entry(hashed) if mount.manifest is not None else None
        if entry is not None and is_sri(entry.integrity):
            return entry.integrity
        return self._integrity.of((mount.directory, hashed), partial(self._fd, mount, hashed))

    def _fd(self, mount: Mount, hashed: str) -> int | None:
        """A descriptor of the regular file *hashed* in *mount*, opened through the resolver."""
        opened = self.resolver.open(mount.directory, hashed.split("/"))
        if opened is None:
            return None
        try:
            return None if opened.is_dir else os.dup(opened.fd)
        finally:
            opened.close()

    def static_url(self, name: str, fallback: StaticURLs) -> str:
        """The URL for a logical name or a URL path (see ``StaticFiles.static_url``)."""
        mounts, name = self.named(name)
        for mount in mounts:
            url = mount.urls.lookup(name)
            if url is not None:
                return url
        for mount in mounts:
            if self.holds(mount, name):
                return (
                    mount.urls.plain(name) if mount.manifest is None else mount.urls.missing(name)
                )
        if mounts:
            return mounts[0].urls.missing(name)
        return fallback.missing(name)

    def find(self, path: str) -> Resource | Redirect | None:
        """Resolve a request path (PEP 3333 form) to a resource, a slash redirect, or nothing.

        Touches the file system; every file is opened through the resolver.
        """
        found = self.search(path)
        return None if isinstance(found, Refused) else found

    def search(
        self, path: str, trace: list[str] | None = None
    ) -> Resource | Redirect | Refused | None:
        """As :meth:`find`, but :data:`REFUSED` when no root was looked in at all, because
        the path breaks a rule wherever it could be: remembering it as a miss saves nothing.

        With *trace*, each step of the lookup is told there, in words: the prefix tried, a
        decoding or a segment refused, a build record, a sidecar, a redirect, a miss.
        """
        index = self.options.index_file
        looked = False
        for mount in self.ordered:
            if not path.startswith(mount.raw_prefix):
                if index and path == mount.raw_prefix[:-1] and mount.prefix != "/":
                    looked = True
                    if self.resolver.exists(mount.directory, (index,), directory=False):
                        if trace is not None:
                            trace.append(f"the prefix {mount.prefix} without its slash")
                        return Redirect(mount.prefix.rstrip("/").rsplit("/", 1)[-1])
                    if trace is not None:
                        trace.append(f"the prefix {mount.prefix} without its slash, no {index}")
                continue
            if trace is not None:
                trace.append(f"under {mount.prefix} (root {mount.directory})")
            relative = paths.decode_path(path[len(mount.raw_prefix) :])
            if relative is None:
                if trace is not None:
                    trace.append("not valid UTF-8 after percent-decoding")
                break
            split = paths.split_request_path(relative, self.options.serve_hidden, trace)
            if split is None:
                continue
            looked = True
            segments, trailing = split
            found = self._find_in(mount, segments, trailing, mount.prefix + relative, trace)
            if found is not None:
                return found
        return None if looked else REFUSED

    def _find_in(
        self,
        mount: Mount,
        segments: tuple[str, ...],
        trailing: bool,
        url: str,
        trace: list[str] | None = None,
    ) -> Resource | Redirect | None:
        """Open what *segments* name in one mount: a file, or a directory's index file."""
        resolver = self.resolver
        opened = resolver.open(mount.directory, segments)
        if opened is None:
            if trace is not None:
                trace.append(
                    "no servable file there (missing, hidden, a link leaving the roots, or "
                    "not a regular file)"
                )
            return None
        if opened.is_dir:
            opened.close()
            index = self.options.index_file
            if index is None:
                if trace is not None:
                    trace.append("a directory, and index files are off")
                return None
            parts = (*segments, index)
            opened = resolver.open(mount.directory, parts)
            if opened is None:
                if trace is not None:
                    trace.append(f"a directory without a servable {index}")
                return None
            if opened.is_dir or not trailing:
                opened.close()
                if trace is not None and not opened.is_dir:
                    trace.append(f"a directory with {index}, named without its slash")
                return None if opened.is_dir else Redirect(segments[-1])
            return self._resource(mount, parts, url, opened, True)
        name_in_root = "/".join(segments)
        sidecar_of = paths.sidecar_original(segments[-1])
        refusal = None
        if trailing:
            refusal = "a file named with a slash after it"
        elif name_in_root in mount.hidden:
            refusal = f"{name_in_root} is a build record (manifest or import map), never served"
        elif sidecar_of is not None and resolver.exists(
            mount.directory, (*segments[:-1], sidecar_of)
        ):
            # A sidecar is only reachable through its original's URL.
            refusal = f"a precompressed variant of {sidecar_of}, sent only through its URL"
        if refusal is not None:
            opened.close()
            if trace is not None:
                trace.append(refusal)
            return None
        return self._resource(mount, segments, url, opened, sidecar_of is None)

    def _resource(
        self,
        mount: Mount,
        parts: tuple[str, ...],
        url: str,
        opened: paths.Opened,
        with_variants: bool,
    ) -> Resource:
        """A resource for an opened file and the variants beside it; closes *opened*."""
        try:
            files = [("identity", opened.path, opened.stat)]
        finally:
            opened.close()
        if with_variants:
            for coding, suffixes in encodings.SIDECAR_SUFFIXES.items():
                for suffix in suffixes:
                    variant = self.resolver.open(mount.directory, (*parts[:-1], parts[-1] + suffix))
                    if variant is None:
                        continue
                    variant.close()
                    if not variant.is_dir:
                        files.append((coding, variant.path, variant.stat))
                        break
        name_in_root = "/".join(parts)
        entry = mount.manifest.entry(name_in_root) if mount.manifest is not None else None
        deltas: list[bytes] = []
        if with_variants and entry is not None and entry.deltas:
            deltas = self._deltas(mount, parts, entry, files)
        resource = self.builder.resource(url, parts[-1], files, entry, deltas)
        directory = os.path.join(mount.directory, *parts[:-1])
        with contextlib.suppress(OSError):
            resource.directory_mtime = os.stat(directory).st_mtime_ns
            # One string for a directory's files, not one each (freed with the last of them).
            resource.directory = sys.intern(directory)
            resource.directory_checked = monotonic()
        return resource

    def _deltas(
        self,
        mount: Mount,
        parts: tuple[str, ...],
        entry: Entry,
        files: list[tuple[str, str, os.stat_result]],
    ) -> list[bytes]:
        """Append the deltas the manifest lists for a file that are there, opened through the
        resolver like any variant, and of the size it gives; their dictionaries' hashes."""
        found = []
        for digest, (name, size) in entry.deltas.items():
            delta = self.resolver.open(mount.directory, (*parts[:-1], name))
            if delta is None:
                continue
            delta.close()
            if delta.is_dir or delta.stat.st_size != size:
                log.warning("staticmw: %s is not the delta the manifest lists; not served", name)
                continue
            files.append((DCZ, delta.path, delta.stat))
            found.append(digest)
        return found
