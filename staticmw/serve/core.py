"""The protocol-neutral core: from a :class:`~staticmw.http.request.Request` to an answer.

It owns the roots, the lookup, the memory cache and every file-system call. The
WSGI (:mod:`staticmw.integrations.wsgi`) and ASGI (:mod:`staticmw.asgi`) adapters map
their protocol to a request and send the answer; they decide nothing.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import stat
from collections.abc import Callable
from functools import partial
from time import monotonic
from typing import TYPE_CHECKING, Literal

from ..hints import memory
from ..hints.pagelinks import PageLinks
from ..http import decision, negotiation
from ..http.messages import Answer
from ..http.request import (
    IF_MATCH,
    IF_MODIFIED_SINCE,
    IF_NONE_MATCH,
    IF_UNMODIFIED_SINCE,
    METHOD,
    RANGE,
    Getter,
    Request,
)
from ..manifest import importmaps
from ..manifest.urls import StaticURLs, join
from .bodies import SMALL_BODY, Changed, FileBody, read_exact
from .cache import ResourceCache
from .explain import Explanation, explain
from .mounts import ManifestOption, Mount, MountInfo, Mounts, Redirect, Refused
from .options import ConfigurationError, Options
from .representations import HeaderBuilder, Representation, Resource

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .options import OptionValues

log = logging.getLogger("staticmw")


# Errors that mean "the server is short of resources", not "the file is gone".
_EXHAUSTED = frozenset(
    {errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS, errno.EIO, errno.EAGAIN}
)

# Attempts at serving a file that keeps changing between open and read.
_ATTEMPTS = 3


def _directory_unchanged(resource: Resource) -> bool:
    """Whether the directory holding a file and its variants has its mtime as indexed."""
    directory = resource.directory
    if directory is None:
        return True
    try:
        return os.stat(directory).st_mtime_ns == resource.directory_mtime
    except OSError:
        return False


def from_memory(method: str, rep: Representation, content: bytes, get: Getter) -> Answer:
    """The answer for a representation whose bytes are in memory (*content*)."""
    plan = decision.respond(method, rep, get)
    if plan.body is None:  # the representation's 304, whose answer is made once
        return rep.answer_304 or rep.make_answer_304()
    if method == "HEAD" or not plan.body:
        return Answer((plan, ()))
    if plan.status == 200:  # always the whole representation: made once when held
        answer = rep.answer_200
        return answer if answer is not None else Answer((plan, (content,)))
    return Answer((plan, (decision.materialize(plan.body, content),)))


class StaticFiles:
    """Files under URL prefixes from allowed roots, answered for any protocol.

    ``StaticFiles(root="static", prefix="/static/", max_age=60, ...)``; more roots
    with :meth:`add_files`. Option names follow WhiteNoise; :class:`~staticmw.serve.options.Options`
    declares and checks them all, once, here.
    """

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        prefix: str | None = None,
        **options: Unpack[OptionValues],
    ):
        self.options = Options.from_keywords(options)
        self._autorefresh = self.options.autorefresh
        # Autorefresh checks the file system on every request.
        self._recheck_interval = 0.0 if self._autorefresh else self.options.recheck_interval
        self.static_host = self.options.static_host
        self.manifest_strict = self.options.manifest_strict
        manifest = self.options.manifest
        self._builder = HeaderBuilder(self.options)
        self._mounts = Mounts(self.options, self._builder, self._recheck_interval)
        self._resolver = self._mounts.resolver
        self._cache = ResourceCache(
            self.options.cache_bytes, self._recheck_interval, self.options.cache_entries
        )
        # known_miss(path): whether *path* was looked up and not found within
        # ``recheck_interval``; the cache's own method, so a miss costs one call.
        self.known_miss: Callable[[str], bool] = self._cache.known_miss
        # The hot path reads these directly (the cache clears them, never replaces them).
        self._resources = self._cache.resources
        self._misses = self._cache.misses
        self._all_origins = self.options.allow_all_origins
        self._prefixes: tuple[str, ...] = ()
        self._bare_prefixes: frozenset[str] = frozenset()
        # A request path (PEP 3333 form) that may be ours starts with one of these: a
        # filter an adapter can apply with no call; answer_held decides exactly.
        self.path_prefixes: tuple[str, ...] = ()
        # Early hints, when asked for: the adapters ask it before and after the app runs.
        self.hints: PageLinks | None = None
        if self.options.early_hints:
            self.hints = PageLinks(self._mounts, self.options.early_hints_key)
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
        self._prefixes = self._mounts.raw_prefixes
        self._bare_prefixes = self._mounts.bare_prefixes
        self.path_prefixes = self._prefixes + tuple(self._bare_prefixes)
        self._cache.clear()

    def mounts_added(self) -> list[Mount]:
        """The roots in the order they were added, for integrations that adjust one."""
        return self._mounts.added

    def static_url(self, name: str) -> str:
        """The cache-busted URL for a logical name, e.g. ``css/app.css``.

        ``/static/css/app.3f2a9c1b9d0e.css`` from a root's manifest (on
        ``static_host`` when set). A name no manifest lists gives its plain URL
        under the root that holds the file, else under the first root, with a
        logged warning when that root has a manifest, or :class:`staticmw.NotInManifest`
        with ``manifest_strict=True``. A URL path such as ``/static/css/app.css``
        is taken as the name below its prefix; the prefix is never doubled.
        """
        url = self._url(name)
        memory.note(memory.ASSET, name, url)
        return url

    def _url(self, name: str) -> str:
        """:meth:`static_url` without noting the name for early hints."""
        self._manifests_current()
        fallback = StaticURLs(None, "/", self.static_host or None, self.manifest_strict)
        return self._mounts.static_url(name, fallback)

    def stylesheet_tag(self, name: str, *, integrity: bool = True) -> str:
        """``<link rel="stylesheet">`` for a logical name at its :meth:`static_url`, with
        the hashed file's SRI ``integrity`` and ``crossorigin="anonymous"`` (not with
        ``integrity=False``, or for a file no manifest lists). Its early hint preloads it in
        that same mode, so the browser uses what it preloaded."""
        url = self._url(name)
        value = self.integrity(name) if integrity else None
        memory.note(memory.STYLESHEET if value else memory.ASSET, name, url)
        return importmaps.stylesheet_link(url, value)

    def script_tag(
        self,
        name: str,
        *,
        integrity: bool = True,
        defer: bool = False,
        nonce: str | None = None,
    ) -> str:
        """``<script src>`` for a classic script at its :meth:`static_url`, with the hashed
        file's SRI ``integrity`` and ``crossorigin="anonymous"`` (not with ``integrity=False``,
        or for a file no manifest lists), ``defer`` and a CSP *nonce* when asked. Its early
        hint preloads it as a script in that same mode. Modules go through
        :meth:`importmap_tag`."""
        url = self._url(name)
        value = self.integrity(name) if integrity else None
        memory.note(memory.SCRIPT if value else memory.PLAIN_SCRIPT, name, url)
        return importmaps.script_element(url, value, defer=defer, nonce=nonce)

    def integrity(self, name: str) -> str | None:
        """The SRI value of the hashed file :meth:`static_url` gives for the logical name (or
        URL path) *name*: the build's record, else the file read once; ``None`` for a file no
        manifest lists, whose bytes may change under its name."""
        self._manifests_current()
        return self._mounts.hashed_integrity(name)

    def _manifests_current(self) -> None:
        """Take any manifest rewritten on disk (one look per recheck interval), and forget
        what was looked up with the one before: ETags and dictionaries come from it."""
        if self._mounts.refresh():
            self._cache.clear()
            if self.hints is not None:
                self.hints.forget()

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
        self._manifests_current()
        maps = [
            (m.importmap, partial(join, m.urls.host, m.prefix))
            for m in self._mounts.added
            if m.importmap is not None
        ]
        if entry is not None and memory.recording():
            memory.note(memory.ENTRY, entry, importmaps.entry_url(maps, entry, self.static_url))
        return importmaps.render(
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

    def build_records(self, prefix: str) -> frozenset[str]:
        """Names below the root at *prefix* that are build records (its manifest, its import
        map), never served."""
        return next((m.hidden for m in self._mounts.ordered if m.prefix == prefix), frozenset())

    def lookup(self, path: str) -> Resource | Redirect | None:
        """Resolve a request path (PEP 3333 form) as a request would, bypassing every cache.

        A :class:`~staticmw.serve.representations.Resource`, a
        :class:`~staticmw.serve.mounts.Redirect`
        for a directory named without its slash, or ``None`` when the request
        would pass through.
        """
        return self._mounts.find(path)

    def traced(self, path: str) -> tuple[Resource | Redirect | None, list[str], bool]:
        """:meth:`lookup`, with each step of it in words, and whether *path* is under a
        prefix other than ``/`` (where it can be no page of the application's)."""
        trace: list[str] = []
        found = self._mounts.search(path, trace)
        below = any(
            path.startswith(mount.raw_prefix)
            for mount in self._mounts.ordered
            if mount.prefix != "/"
        )
        return (None if isinstance(found, Refused) else found), trace, below

    def explain(
        self,
        url: str,
        accept_encoding: str | None = None,
        available_dictionary: str | None = None,
    ) -> Explanation:
        """Why *url* (a URL path as sent) is served, redirected or passed through, and which
        representation a GET with these header values gets."""
        return explain(self, url, accept_encoding, available_dictionary)

    # -- answering ------------------------------------------------------------

    def handles(self, path: str) -> bool:
        """Whether a request path (PEP 3333 form) is under a prefix; no file-system call."""
        return path.startswith(self._prefixes) or path in self._bare_prefixes

    def select(self, resource: Resource, request: Request) -> int:
        """The index of the representation *request* gets (see :mod:`staticmw.http.negotiation`)."""
        return negotiation.select(resource, request.get, self.options.allow_all_origins)

    def answer_held(self, path: str, get: Getter) -> Answer | Literal[False] | None:
        """For any request: the answer when it needs no file-system call (bytes held,
        fresh); ``False`` to pass it on (not under a prefix (:meth:`handles`), or looked up
        and not found within the recheck interval); else ``None``: ask :meth:`answer`.

        Over plain values, so an adapter can pass its request as it is: *get* reads
        the method and header values (:mod:`staticmw.http.request`). The hottest path there is,
        and one call whatever the request: pass-through and misses go this way too.
        """
        resource = self._resources.get(path)
        if resource is None:
            # known_miss (less its clean-up, which answer does) and handles, written out:
            # only a path that is ours is ever remembered as a miss.
            expiry = self._misses.get(path)
            if expiry is not None:
                return False if monotonic() < expiry else None
            return None if path.startswith(self._prefixes) or path in self._bare_prefixes else False
        resource.seen = True  # the cache's whole bookkeeping of a hit: one store
        method = get(METHOD)
        if method != "GET" and method != "HEAD":
            return None
        reps = resource.representations
        if len(reps) == 1:
            rep = reps[0]
        else:
            rep = reps[negotiation.select(resource, get, self._all_origins)]
        content = rep.content
        if content is None or not monotonic() - rep.checked < self._recheck_interval:
            return None  # (the rule of _fresh, written out here for speed)
        # The two usual outcomes, decided here without further calls: a revalidation
        # with our own tag alone (§13.2.2 step 3: 304), and a plain GET (200).
        if get(IF_MATCH) is None and get(IF_UNMODIFIED_SINCE) is None:
            if_none_match = get(IF_NONE_MATCH)
            if if_none_match == rep.etag:
                return rep.answer_304 or rep.make_answer_304()
            if (
                if_none_match is None
                and method == "GET"
                and get(IF_MODIFIED_SINCE) is None
                and get(RANGE) is None
            ):
                answer = rep.answer_200
                if answer is not None:
                    return answer
        return from_memory(method, rep, content, get)

    def answer_from_memory(self, request: Request) -> Answer | None:
        """:meth:`answer_held` for a :class:`~staticmw.http.request.Request`: ``None`` when
        it has no answer without the file system."""
        return self.answer_held(request.path, request.get) or None

    def answer(self, request: Request) -> Answer | None:
        """The answer to a request under a prefix, or ``None`` to pass it on.

        May touch the file system: call it off any event loop. A file that keeps
        changing is looked up again, up to three times; a file that exists but
        cannot be opened for want of resources is a 503 (uncacheable), one that
        cannot be read passes through.
        """
        for _ in range(_ATTEMPTS):
            found = self._resource(request)
            if not isinstance(found, Resource):
                return found
            try:
                return self._answer_resource(found, request)
            except Changed:
                self._cache.forget(request.path)
            except OSError as exc:
                self._cache.forget(request.path)
                if isinstance(exc, PermissionError) or exc.errno in _EXHAUSTED:
                    return self._cannot_open(request.path, exc)
                # Deleted, replaced by a directory or a link, or unreadable now:
                # look again; a second miss passes through.
        return None

    def _resource(self, request: Request) -> Resource | Answer | None:
        """The resource *request* names (remembered or looked up), else its final answer."""
        path = request.path
        cache = self._cache
        resource = self._resources.get(path)
        if resource is not None:
            resource.seen = True
            if not self._directory_current(resource):
                cache.forget(path)
                resource = None
        if resource is None:
            if cache.known_miss(path):
                return None
            self._manifests_current()
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
                if request.method not in decision.ALLOWED_METHODS:
                    return None
                plan = decision.redirect_to_directory(
                    found.segment, request.query, self.options.max_age
                )
                return Answer((plan, []))
            resource = found
            cache.remember(path, resource)
        if request.method not in decision.ALLOWED_METHODS:
            return Answer((decision.method_not_allowed(), [decision.METHOD_NOT_ALLOWED_BODY]))
        return resource

    def _answer_resource(self, resource: Resource, request: Request) -> Answer:
        """The answer from a resource: from memory when its bytes are held and current,
        else from the file opened again. Raises Changed (or OSError) to look again."""
        index = self.select(resource, request)
        rep = resource.representations[index]
        content = rep.content
        if content is None:
            return self._open_and_answer(resource, index, request)
        if not self._still_current(rep):
            raise Changed
        return from_memory(request.method, rep, content, request.get)

    def _cannot_open(self, path: str, exc: OSError) -> Answer | None:
        """A file that exists but cannot be opened: pass through, or 503 when out of resources."""
        if exc.errno in _EXHAUSTED:
            # Say so (uncacheable) rather than let the app answer 404.
            log.error("staticmw: cannot open %s: %s", path, exc)
            return Answer((decision.service_unavailable(), [decision.UNAVAILABLE_BODY]))
        log.warning("staticmw: cannot read %s: %s", path, exc)
        self._cache.remember_miss(path)
        return None

    def _directory_current(self, resource: Resource) -> bool:
        """Whether the directory holding a file and its variants is as when the file was
        looked up; one ``stat`` per recheck interval (every time under autorefresh). A
        variant added, replaced or removed changes it, so no coding outlives its version."""
        now = monotonic()
        if now - resource.directory_checked < self._recheck_interval:
            return True
        if not _directory_unchanged(resource):
            return False
        resource.directory_checked = now
        return True

    def _fresh(self, rep: Representation) -> bool:
        """Whether held bytes were checked against the file within ``recheck_interval``
        (never under autorefresh, where the interval is 0)."""
        return monotonic() - rep.checked < self._recheck_interval

    def _still_current(self, rep: Representation) -> bool:
        """Whether bytes held in memory still match the file; one stat per recheck interval."""
        if self._fresh(rep):
            return True
        try:
            st = os.stat(rep.path, follow_symlinks=False)
        except OSError:
            return False
        if not stat.S_ISREG(st.st_mode) or not rep.matches(st):
            return False
        rep.checked = monotonic()
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
                if len(resource.representations) > 1:
                    # The other codings may be of the version before: look all up again.
                    raise Changed
                self._cache.release(rep)
                rep = self._builder.refresh(resource, index, st)
            if rep.size > SMALL_BODY:
                # Left to the adapter: sendfile, pathsend, or blocks.
                plan = decision.decide(request, rep)
                if plan.body and request.method != "HEAD":
                    return Answer((plan, FileBody(fd, plan.body)))
                os.close(fd)
                return Answer((plan, []))
            # Small: read whole and checked, kept in memory when the budget allows.
            data = _read_checked(fd, rep)
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(fd)
            raise
        os.close(fd)
        self._cache.hold(resource, rep, data, monotonic())
        return from_memory(request.method, rep, data, request.get)


def _read_checked(fd: int, rep: Representation) -> bytes:
    """The whole file, read once and checked: the bytes must be the ones the headers describe."""
    data = read_exact(fd, 0, rep.size)
    if not rep.matches(os.fstat(fd)):
        raise Changed
    return data
