"""The protocol-neutral core: from a :class:`~staticmw.request.Request` to an answer.

It owns the roots, the lookup, the memory cache and every file-system call. The
WSGI (:mod:`staticmw.middleware`) and ASGI (:mod:`staticmw.asgi`) adapters map
their protocol to a request and send the answer; they decide nothing.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import stat
from functools import partial
from time import monotonic
from typing import TYPE_CHECKING, Any

from . import dictionaries, encodings, importmap, responses
from .bodies import SMALL_BODY, Changed, FileBody, read_exact
from .cache import ResourceCache
from .explain import Explanation, explain
from .files import HeaderBuilder, Representation, Resource
from .mounts import ManifestOption, MountInfo, Mounts, Redirect, Refused
from .options import ConfigurationError, Options, check_option_names
from .plan import Plan
from .request import Request
from .urls import StaticURLs, check_static_host, join

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .options import OptionValues

log = logging.getLogger("staticmw")

# What the core answers: the decision, and a body that is a list of bytes or a
# FileBody owning one open descriptor (the adapter sends or closes it).
Answer = tuple[Plan, "list[bytes] | FileBody"]

# Errors that mean "the server is short of resources", not "the file is gone".
_EXHAUSTED = frozenset(
    {errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS, errno.EIO, errno.EAGAIN}
)

# Attempts at serving a file that keeps changing between open and read.
_ATTEMPTS = 3


def _directory_unchanged(resource: Resource) -> bool:
    """Autorefresh: whether the directory holding a file and its variants is as indexed."""
    recorded = resource.directory_mtime
    if recorded is None:
        return True
    directory, mtime_ns = recorded
    try:
        return os.stat(directory).st_mtime_ns == mtime_ns
    except OSError:
        return False


def from_memory(request: Request, rep: Representation, content: bytes) -> Answer:
    """The answer for a representation whose bytes are held in memory."""
    plan = responses.decide(request, rep)
    if request.method == "HEAD" or not plan.body:
        return plan, []
    return plan, [responses.materialize(plan.body, content)]


class StaticFiles:
    """Files under URL prefixes from allowed roots, answered for any protocol.

    ``StaticFiles(root="static", prefix="/static/", max_age=60, ...)``; more roots
    with :meth:`add_files`. Option names follow WhiteNoise; every option is checked
    here, once. ``manifest`` (for *root*) is described at :meth:`add_files`;
    ``static_host`` puts :meth:`static_url` URLs on a CDN host; ``manifest_strict``
    makes a name no manifest lists an error there.
    """

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        prefix: str | None = None,
        **options: Unpack[OptionValues],
    ):
        check_option_names(options)
        given: dict[str, Any] = dict(options)
        manifest: ManifestOption = given.pop("manifest", None)
        static_host = given.pop("static_host", None)
        manifest_strict = given.pop("manifest_strict", False)
        self.options = Options(**given)
        self._autorefresh = self.options.autorefresh
        # Autorefresh checks the file system on every request.
        self._recheck_interval = 0.0 if self._autorefresh else self.options.recheck_interval
        try:
            self.static_host = check_static_host(static_host)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
        if not isinstance(manifest_strict, bool):
            raise ConfigurationError(
                f"manifest_strict must be True or False, got {manifest_strict!r}"
            )
        self.manifest_strict = manifest_strict
        self._builder = HeaderBuilder(self.options)
        self._mounts = Mounts(self.options, self._builder, self._autorefresh)
        self._resolver = self._mounts.resolver
        self._cache = ResourceCache(self.options.cache_bytes, self._recheck_interval)
        # The hot path reads these directly.
        self._resources = self._cache.resources
        self._raw_prefixes: tuple[str, ...] = ()
        self._bare_prefixes: frozenset[str] = frozenset()
        if root is not None:
            self.add_files(root, prefix, manifest=manifest)
        elif manifest not in (None, False):
            raise ConfigurationError("manifest needs a root")

    def add_files(
        self,
        root: str | os.PathLike[str],
        prefix: str | None = None,
        manifest: ManifestOption = None,
        *,
        allow_hard_links: bool | None = None,
    ) -> None:
        """Serve the directory *root* under *prefix* (``None`` means ``/``).

        The longest matching prefix is tried first; among equal prefixes, the
        root added first. A missing root fails now, not on the first request.
        *manifest* is a path (relative to *root*), ``None`` to look for
        ``staticmw.json``, ``staticfiles.json`` or ``.vite/manifest.json`` in
        the root, or ``False`` for none. ``allow_hard_links=False`` is for a root
        that untrusted parties can write (uploads, unpacked archives): a regular file
        with more than one hard link is not served from it, since its other name may
        be anywhere on the file system. ``None`` takes the option of that name.
        """
        self._mounts.mount(
            root,
            prefix,
            manifest,
            self.static_host or None,
            self.manifest_strict,
            allow_hard_links,
        )
        self._raw_prefixes = self._mounts.raw_prefixes
        self._bare_prefixes = self._mounts.bare_prefixes
        self._cache.clear()

    def static_url(self, name: str) -> str:
        """The cache-busted URL for a logical name, e.g. ``css/app.css``.

        ``/static/css/app.3f2a9c1b9d0e.css`` from a root's manifest (on
        ``static_host`` when set). A name no manifest lists gives its plain URL
        under the root that holds the file, else under the first root, with a
        logged warning when that root has a manifest, or :class:`staticmw.NotInManifest`
        with ``manifest_strict=True``. A URL path such as ``/static/css/app.css``
        is taken as the name below its prefix; the prefix is never doubled.
        """
        fallback = StaticURLs(None, "/", self.static_host or None, self.manifest_strict)
        return self._mounts.static_url(name, fallback)

    def importmap_tag(
        self,
        entry: str | None = None,
        *,
        script: bool = True,
        nonce: str | None = None,
        integrity: bool = True,
    ) -> str:
        """HTML for a page's JavaScript modules, from the build's ``importmap.json``.

        ``<script type="importmap">`` mapping every module's plain URL and each declared
        bare name to the hashed URL (with SRI integrity), ``<link rel="modulepreload">``
        for what the logical name *entry* imports statically, and ``<script type="module">``
        for *entry* (not with ``script=False``: then the entry is preloaded too). URLs are
        on ``static_host`` when set. *nonce* goes on the script elements for a CSP.
        """
        maps = [
            (m.importmap, partial(join, m.urls.host, m.prefix))
            for m in self._mounts.added
            if m.importmap is not None
        ]
        return importmap.render(
            maps,
            entry,
            fallback=self.static_url,
            script=script,
            nonce=nonce,
            with_integrity=integrity,
        )

    @property
    def roots(self) -> list[tuple[str, str]]:
        """``(prefix, directory)`` pairs in the order they are tried."""
        return [(m.prefix, m.directory) for m in self._mounts.ordered]

    @property
    def mounts(self) -> list[MountInfo]:
        """Each root with its prefix and manifest, in the order they are tried."""
        return [MountInfo(m.prefix, m.directory, m.manifest) for m in self._mounts.ordered]

    def lookup(self, path: str) -> Resource | Redirect | None:
        """Resolve a request path (PEP 3333 form) as a request would, bypassing every cache.

        A :class:`~staticmw.files.Resource`, a :class:`~staticmw.mounts.Redirect`
        for a directory named without its slash, or ``None`` when the request
        would pass through.
        """
        return self._mounts.find(path)

    def explain(self, url: str, accept_encoding: str | None = None) -> Explanation:
        """Why *url* (a URL path as sent) is served, redirected or passed through."""
        return explain(self, url, accept_encoding)

    # -- answering ------------------------------------------------------------

    def handles(self, path: str) -> bool:
        """Whether a request path (PEP 3333 form) is under a prefix; no file-system call."""
        return path.startswith(self._raw_prefixes) or path in self._bare_prefixes

    def known_miss(self, path: str) -> bool:
        """Whether *path* was looked up and not found within ``recheck_interval``."""
        return self._cache.known_miss(path)

    def answer_from_memory(self, request: Request) -> Answer | None:
        """The answer when it needs no file-system call (bytes held, fresh), else ``None``."""
        resource = self._resources.get(request.path)
        if resource is None:
            return None
        method = request.method
        if method != "GET" and method != "HEAD":
            return None
        reps = resource.representations
        rep = reps[0 if len(reps) == 1 else self._choose(resource, request)]
        content = rep.content
        if content is None or monotonic() - rep.checked >= self._recheck_interval:
            return None
        return from_memory(request, rep, content)

    def answer(self, request: Request) -> Answer | None:
        """The answer to a request under a prefix, or ``None`` to pass it on.

        May touch the file system: call it off any event loop. A file that keeps
        changing is looked up again, up to three times; a file that exists but
        cannot be opened for want of resources is a 503 (uncacheable), one that
        cannot be read passes through.
        """
        path = request.path
        method = request.method
        cache = self._cache
        for _ in range(_ATTEMPTS):
            resource = self._resources.get(path)
            if resource is not None and self._autorefresh and not _directory_unchanged(resource):
                cache.forget(path)
                resource = None
            if resource is None:
                if cache.known_miss(path):
                    return None
                try:
                    found = self._mounts.search(path)
                except OSError as exc:
                    return self._cannot_open(path, exc)
                if found is None:
                    cache.remember_miss(path)
                    return None
                if isinstance(found, Refused):
                    return None
                if isinstance(found, Redirect):
                    if method not in responses.ALLOWED_METHODS:
                        return None
                    plan = responses.redirect_to_directory(
                        found.segment, request.query, self.options.max_age
                    )
                    return plan, []
                resource = found
                cache.remember(path, resource)
            if method not in responses.ALLOWED_METHODS:
                return responses.method_not_allowed(), [responses.METHOD_NOT_ALLOWED_BODY]
            reps = resource.representations
            index = 0 if len(reps) == 1 else self._choose(resource, request)
            rep = reps[index]
            content = rep.content
            if content is not None:
                if self._still_current(rep):
                    return from_memory(request, rep, content)
                cache.forget(path)
                continue
            try:
                return self._open_and_answer(resource, index, request)
            except Changed:
                cache.forget(path)
            except OSError as exc:
                cache.forget(path)
                if isinstance(exc, PermissionError) or exc.errno in _EXHAUSTED:
                    return self._cannot_open(path, exc)
                # Deleted, replaced by a directory or a link, or unreadable now:
                # look again; a second miss passes through.
        return None

    def _choose(self, resource: Resource, request: Request) -> int:
        """The index of the representation to send: what Accept-Encoding prefers, or a delta
        against the dictionary the client names (RFC 9842) when it offers ``dcz``."""
        available = resource.available
        index = encodings.choose(available, request.accept_encoding) if available else 0
        if resource.deltas and request.available_dictionary is not None:
            digest = dictionaries.parse_available_dictionary(request.available_dictionary)
            delta = resource.deltas.get(digest) if digest is not None else None
            if delta is not None and self._delta_wanted(request, available, index):
                return delta
        return index

    def _delta_wanted(
        self, request: Request, available: tuple[tuple[str, int], ...], index: int
    ) -> bool:
        """Whether ``dcz`` is acceptable, at least as wanted as the coding chosen otherwise,
        and allowed for this request's fetch metadata (RFC 9842 §8.4)."""
        header = request.accept_encoding
        if header is None:
            return False
        prefs = encodings.cached_preferences(header)
        wanted = encodings.quality(dictionaries.DCZ, prefs)
        if not wanted:
            return False
        chosen = encodings.quality(available[index][0], prefs) if available else None
        if chosen is not None and wanted < chosen:
            return False
        return dictionaries.allowed(
            request.sec_fetch_site,
            request.sec_fetch_mode,
            request.origin,
            "*" if self.options.allow_all_origins else None,
        )

    def _cannot_open(self, path: str, exc: OSError) -> Answer | None:
        """A file that exists but cannot be opened: pass through, or 503 when out of resources."""
        if exc.errno in _EXHAUSTED:
            # Say so (uncacheable) rather than let the app answer 404.
            log.error("staticmw: cannot open %s: %s", path, exc)
            return responses.service_unavailable(), [responses.UNAVAILABLE_BODY]
        log.warning("staticmw: cannot read %s: %s", path, exc)
        self._cache.remember_miss(path)
        return None

    def _still_current(self, rep: Representation) -> bool:
        """Whether bytes held in memory still match the file; one stat per recheck interval."""
        now = monotonic()
        if now - rep.checked < self._recheck_interval:
            return True
        try:
            st = os.stat(rep.path, follow_symlinks=False)
        except OSError:
            return False
        if not stat.S_ISREG(st.st_mode) or not rep.matches(st):
            return False
        rep.checked = now
        return True

    def _open_and_answer(self, resource: Resource, index: int, request: Request) -> Answer:
        rep = resource.representations[index]
        # Opened again through the resolver: the descriptor is what gets checked.
        fd = self._resolver.reopen(rep.path)
        if fd is None:
            raise Changed
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise Changed
            if not rep.matches(st):
                self._cache.release(rep)
                rep = self._builder.refresh(resource, index, st)
            if rep.size <= SMALL_BODY and self._cache.reserve(rep.size):
                # Small enough to keep: read once, check, then serve from memory.
                data = read_exact(fd, 0, rep.size)
                if not rep.matches(os.fstat(fd)):
                    self._cache.unreserve(rep.size)
                    raise Changed
                os.close(fd)
                rep.checked = monotonic()
                rep.content = data
                return from_memory(request, rep, data)
            plan = responses.decide(request, rep)
            body = self._body(plan, fd, request.method, rep)
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(fd)
            raise
        return plan, body

    @staticmethod
    def _body(plan: Plan, fd: int, method: str, rep: Representation) -> list[bytes] | FileBody:
        """The body; takes ownership of *fd* (closed now, or owned by the FileBody)."""
        parts = plan.body
        if not parts or method == "HEAD":
            os.close(fd)
            return []
        if len(parts) == 1 and isinstance(parts[0], tuple):
            offset, length = parts[0]
            # A whole small file is read now and checked; a range, or a large
            # file, is left to the adapter (sendfile, pathsend, or blocks).
            if length <= SMALL_BODY and plan.status == 200:
                data = read_exact(fd, offset, length)
                # The bytes must be the ones the headers describe.
                if not rep.matches(os.fstat(fd)):
                    raise Changed
                os.close(fd)
                return [data]
        return FileBody(fd, parts)
