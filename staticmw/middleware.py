"""The WSGI glue: match a prefix, find and open the file, send what :mod:`responses` decides."""

from __future__ import annotations

import contextlib
import errno
import io
import logging
import os
import re
import stat
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from time import monotonic
from typing import Any, NamedTuple

from . import encodings, paths, responses
from .explain import Explanation, explain
from .files import HeaderBuilder, Representation, Resource
from .manifest import Manifest, ManifestError, find_in_root
from .options import ConfigurationError, Options, normalize_prefix
from .plan import BodyPart, Plan
from .urls import StaticURLs, check_static_host

log = logging.getLogger("staticmw")

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]

# Bodies up to this size are read into memory and checked against a second
# fstat; larger ones are streamed (zero-copy under Gunicorn).
SMALL_BODY = 64 * 1024
BLOCK_SIZE = 64 * 1024

# Bound on remembered files; the oldest entry goes first when it is reached.
CACHE_ENTRIES = 200_000
# Bound on remembered misses (each for recheck_interval): random URLs under a
# prefix cost a dictionary lookup, not a file-system walk, and memory stays flat.
MISS_ENTRIES = 10_000

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


def no_application(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    """The wrapped application of a middleware used only for its decisions (glue, ASGI)."""
    raise AssertionError("requests that pass through are handed on by the caller")


class FileChangedError(OSError):
    """A file shrank while its body was being sent; the connection must be dropped."""


class _Changed(Exception):
    """The file changed between fstat and read; start over from the lookup."""


class Redirect:
    """A directory asked for without its slash: redirect to ``segment + "/"``."""

    __slots__ = ("segment",)

    def __init__(self, segment: str):
        self.segment = segment


class MountInfo(NamedTuple):
    """One root as :attr:`StaticMiddleware.mounts` describes it."""

    prefix: str
    directory: str
    manifest: Manifest | None


class _Mount:
    __slots__ = ("directory", "hidden", "manifest", "prefix", "raw_prefix", "urls")

    def __init__(self, prefix: str, directory: str, manifest: Manifest | None, urls: StaticURLs):
        self.prefix = prefix
        # PATH_INFO carries bytes as latin-1 code points (PEP 3333).
        self.raw_prefix = prefix.encode("utf-8").decode("latin-1")
        self.directory = directory
        self.manifest = manifest
        self.urls = urls
        # The manifest file itself is build metadata, not an asset.
        self.hidden: frozenset[str] = frozenset()
        if manifest is not None and paths.is_within(manifest.path, directory):
            relative = os.path.relpath(manifest.path, directory).replace(os.sep, "/")
            self.hidden = frozenset({relative})


def _honours_content_length(wrapper: Any) -> bool:
    """Whether a server's file_wrapper sends only Content-Length bytes from the current offset.

    Gunicorn's does (sendfile with offset = tell(), count = Content-Length);
    others, such as wsgiref's, read to EOF, so they get a bounded iterator.
    """
    return getattr(wrapper, "__module__", "").startswith("gunicorn.")


def _from_memory(
    method: str, environ: Mapping[str, Any], rep: Representation, content: bytes
) -> tuple[Plan, list[bytes]]:
    """The plan and body for a representation whose bytes are held in memory."""
    plan = responses.respond(method, environ, rep)
    if method == "HEAD" or not plan.body:
        return plan, []
    return plan, [responses.materialize(plan.body, content)]


def _read_exact(fd: int, offset: int, length: int) -> bytes:
    os.lseek(fd, offset, os.SEEK_SET)
    chunks = []
    while length > 0:
        chunk = os.read(fd, length)
        if not chunk:
            raise _Changed
        chunks.append(chunk)
        length -= len(chunk)
    return b"".join(chunks)


class FileBody:
    """Yields literal parts and file spans from an open descriptor, which close() releases."""

    __slots__ = ("_fd", "_parts")

    def __init__(self, fd: int, parts: Sequence[BodyPart]):
        self._fd = fd
        self._parts = parts

    def __iter__(self) -> Iterator[bytes]:
        for part in self._parts:
            if isinstance(part, bytes):
                yield part
                continue
            offset, length = part
            os.lseek(self._fd, offset, os.SEEK_SET)
            while length > 0:
                chunk = os.read(self._fd, min(BLOCK_SIZE, length))
                if not chunk:
                    raise FileChangedError(f"file shrank while being sent ({length} bytes short)")
                length -= len(chunk)
                yield chunk

    def close(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)

    __del__ = close


class StaticMiddleware:
    """Serve files under URL prefixes from allowed roots; pass everything else to *application*.

    ``StaticMiddleware(app, root="static", prefix="/static/", max_age=60, ...)``;
    more roots with :meth:`add_files`. Option names follow WhiteNoise.
    """

    def __init__(
        self,
        application: WSGIApp,
        root: str | os.PathLike[str] | None = None,
        prefix: str | None = None,
        *,
        max_age: int | None = 60,
        index_file: bool | str | None = None,
        autorefresh: bool = False,
        mimetypes: Mapping[str, str] | None = None,
        charset: str = "utf-8",
        allow_all_origins: bool = True,
        add_headers_function: Callable[..., Any] | None = None,
        immutable_file_test: Callable[[str, str], bool] | str | re.Pattern[str] | None = None,
        follow_symlinks: bool = False,
        serve_hidden: bool = False,
        manifest: str | os.PathLike[str] | bool | None = None,
        static_host: str | None = None,
        manifest_strict: bool = False,
        cache_bytes: int = 32 * 1024 * 1024,
        recheck_interval: float = 1.0,
    ):
        if not callable(application):
            raise ConfigurationError("application must be a WSGI callable")
        self.application = application
        self.options = Options(
            max_age=max_age,
            index_file=index_file,
            autorefresh=autorefresh,
            mimetypes=mimetypes,
            charset=charset,
            allow_all_origins=allow_all_origins,
            add_headers_function=add_headers_function,
            immutable_file_test=immutable_file_test,
            follow_symlinks=follow_symlinks,
            serve_hidden=serve_hidden,
            cache_bytes=cache_bytes,
            recheck_interval=recheck_interval,
        )
        self._autorefresh = self.options.autorefresh
        # Autorefresh checks the file system on every request.
        self._recheck_interval = 0.0 if self._autorefresh else self.options.recheck_interval
        self._cache_bytes = self.options.cache_bytes
        self._cached_bytes = 0
        self._lock = threading.Lock()
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
        self._mounts: list[_Mount] = []
        self._added: list[_Mount] = []
        self._roots: list[str] = []
        self._resolver = paths.Resolver(
            self._roots, self.options.follow_symlinks, self.options.serve_hidden
        )
        self._raw_prefixes: tuple[str, ...] = ()
        self._bare_prefixes: frozenset[str] = frozenset()
        self._cache: dict[str, Resource] = {}
        self._misses: dict[str, float] = {}
        if root is not None:
            self.add_files(root, prefix, manifest=manifest)
        elif manifest not in (None, False):
            raise ConfigurationError("manifest needs a root")

    def add_files(
        self,
        root: str | os.PathLike[str],
        prefix: str | None = None,
        manifest: str | os.PathLike[str] | Manifest | bool | None = None,
    ) -> None:
        """Serve the directory *root* under *prefix* (``None`` means ``/``).

        The longest matching prefix is tried first; among equal prefixes, the
        root added first. A missing root fails now, not on the first request.
        *manifest* is a path (relative to *root*), ``None`` to look for
        ``staticmw.json``, ``staticfiles.json`` or ``.vite/manifest.json`` in
        the root, or ``False`` for none.
        """
        try:
            directory = os.fspath(root)
        except TypeError:
            raise ConfigurationError(f"root must be a path, got {root!r}") from None
        if not isinstance(directory, str) or not directory:
            raise ConfigurationError(f"root must be a non-empty text path, got {root!r}")
        real = os.path.realpath(directory)
        if not os.path.isdir(real):
            raise ConfigurationError(
                f"root {directory!r} does not exist or is not a directory (resolved to {real!r})"
            )
        if not os.access(real, os.R_OK | os.X_OK):
            raise ConfigurationError(f"root {directory!r} is not readable by this process")
        normalized = normalize_prefix(prefix)
        loaded = self._load_manifest(real, normalized, manifest)
        urls = StaticURLs(loaded, normalized, self.static_host or None, self.manifest_strict)
        mount = _Mount(normalized, real, loaded, urls)
        self._added.append(mount)
        self._mounts.append(mount)
        self._mounts.sort(key=lambda m: len(m.prefix), reverse=True)
        if real not in self._roots:
            self._roots.append(real)
        self._raw_prefixes = tuple(m.raw_prefix for m in self._mounts)
        # "/static" redirects to "/static/" only when index files are on.
        self._bare_prefixes = frozenset(
            m.raw_prefix[:-1]
            for m in self._mounts
            if len(m.raw_prefix) > 1 and self.options.index_file is not None
        )
        self._cache.clear()
        self._misses.clear()

    @staticmethod
    def _load_manifest(
        directory: str, prefix: str, option: str | os.PathLike[str] | Manifest | bool | None
    ) -> Manifest | None:
        if option is False:
            return None
        if isinstance(option, Manifest):
            return option
        if option is None:
            found = find_in_root(directory)
            if found is None:
                return None
            path = found
        elif isinstance(option, (str, os.PathLike)):
            path = os.path.join(directory, os.fspath(option))
            if not os.path.isfile(path):
                raise ConfigurationError(
                    f"manifest {os.fspath(option)!r} not found (looked at {path!r})"
                )
        else:
            raise ConfigurationError(f"manifest must be a path, None or False, got {option!r}")
        try:
            loaded = Manifest.load(path, public_prefix=prefix)
        except ManifestError as exc:
            raise ConfigurationError(str(exc)) from None
        log.info("staticmw: %s manifest %s lists %d files", loaded.format, path, len(loaded))
        return loaded

    def static_url(self, name: str) -> str:
        """The cache-busted URL for a logical name, e.g. ``css/app.css``.

        ``/static/css/app.3f2a9c1b9d0e.css`` from a root's manifest (on
        ``static_host`` when set). A name no manifest lists gives its plain URL
        under the root that holds the file, else under the first root, with a
        logged warning when that root has a manifest, or :class:`staticmw.NotInManifest`
        with ``manifest_strict=True``. A URL path such as ``/static/css/app.css``
        is taken as the name below its prefix; the prefix is never doubled.
        """
        mounts: Sequence[_Mount] = self._mounts
        if name.startswith("/"):
            under = [m for m in mounts if m.prefix != "/" and name.startswith(m.prefix)]
            if under:
                mounts, name = under[:1], name[len(under[0].prefix) :]
            else:
                name = name.lstrip("/")
        for mount in mounts:
            url = mount.urls.lookup(name)
            if url is not None:
                return url
        for mount in mounts:
            if self._holds(mount, name):
                return (
                    mount.urls.plain(name) if mount.manifest is None else mount.urls.missing(name)
                )
        if self._added:
            return (mounts[0] if len(mounts) == 1 else self._added[0]).urls.missing(name)
        return StaticURLs(None, "/", self.static_host or None, self.manifest_strict).missing(name)

    def _holds(self, mount: _Mount, name: str) -> bool:
        """Whether *name* is a file that *mount* would serve (checked like a request)."""
        split = paths.split_request_path(name, self.options.serve_hidden)
        if split is None or split[1]:
            return False
        try:
            return self._resolver.exists(mount.directory, split[0], directory=False)
        except OSError:
            return False

    @property
    def roots(self) -> list[tuple[str, str]]:
        """``(prefix, directory)`` pairs in the order they are tried."""
        return [(m.prefix, m.directory) for m in self._mounts]

    @property
    def mounts(self) -> list[MountInfo]:
        """Each root with its prefix and manifest, in the order they are tried."""
        return [MountInfo(m.prefix, m.directory, m.manifest) for m in self._mounts]

    def lookup(self, path_info: str) -> Resource | Redirect | None:
        """Resolve a raw ``PATH_INFO`` as a request would, bypassing every cache.

        A :class:`~staticmw.files.Resource`, a :class:`Redirect` for a directory
        named without its slash, or ``None`` when the request would pass through.
        """
        return self._find(path_info)

    def explain(self, url: str, accept_encoding: str | None = None) -> Explanation:
        """Why *url* (a URL path as sent) is served, redirected or passed through."""
        return explain(self, url, accept_encoding)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(self._raw_prefixes) or path in self._bare_prefixes:
            # Fast path: a remembered single-representation file held in memory
            # and checked within the interval; everything else takes _serve.
            # _from_memory, written out: this is the hottest path there is.
            resource = self._cache.get(path)
            if resource is not None and len(resource.representations) == 1:
                rep = resource.representations[0]
                content = rep.content
                if content is not None and monotonic() - rep.checked < self._recheck_interval:
                    method = environ.get("REQUEST_METHOD")
                    if method == "GET" or method == "HEAD":
                        plan = responses.respond(method, environ, rep)
                        start_response(plan.status_line, list(plan.headers))
                        if method == "HEAD" or not plan.body:
                            return []
                        return [responses.materialize(plan.body, content)]
            served = self._serve(path, environ)
            if served is not None:
                plan, body = served
                # A copy: outer middleware may append to the list it is given.
                start_response(plan.status_line, list(plan.headers))
                return body
        return self.application(environ, start_response)

    def handles(self, path_info: str) -> bool:
        """Whether a PEP 3333 ``PATH_INFO`` is under a prefix; no file-system call."""
        return path_info.startswith(self._raw_prefixes) or path_info in self._bare_prefixes

    def answer(
        self, path_info: str, request: Mapping[str, Any]
    ) -> tuple[Plan, Iterable[bytes]] | None:
        """The decision and body for a request under a prefix; ``None`` passes it on.

        Protocol-neutral: *request* maps ``REQUEST_METHOD``, ``QUERY_STRING`` and the
        headers as CGI-style ``HTTP_*`` keys (a WSGI environ is one such mapping).
        The body is a list of bytes or a :class:`FileBody` that owns one descriptor;
        a ``wsgi.file_wrapper`` in *request* is used for single spans under Gunicorn.
        May touch the file system: call it off any event loop.
        """
        return self._serve(path_info, request)

    def known_miss(self, path_info: str) -> bool:
        """Whether *path_info* was looked up and not found within ``recheck_interval``."""
        expiry = self._misses.get(path_info)
        return expiry is not None and monotonic() < expiry

    def answer_from_memory(
        self, path_info: str, request: Mapping[str, Any]
    ) -> tuple[Plan, list[bytes]] | None:
        """The answer when it needs no file-system call (bytes held, fresh), else ``None``."""
        resource = self._cache.get(path_info)
        if resource is None:
            return None
        method = request.get("REQUEST_METHOD")
        if method != "GET" and method != "HEAD":
            return None
        reps = resource.representations
        index = 0
        if len(reps) > 1:
            index = encodings.choose(resource.available, request.get("HTTP_ACCEPT_ENCODING"))
        rep = reps[index]
        content = rep.content
        if content is None or monotonic() - rep.checked >= self._recheck_interval:
            return None
        return _from_memory(method, request, rep, content)

    def serve(self, environ: Environ) -> tuple[str, list[tuple[str, str]], Iterable[bytes]] | None:
        """Answer a request that is ours: ``(status, headers, body)``; ``None`` passes it on.

        For framework glue that builds its own response objects. The body must be
        consumed or closed, like any WSGI body.
        """
        path = environ.get("PATH_INFO", "")
        if not self.handles(path):
            return None
        served = self._serve(path, environ)
        if served is None:
            return None
        plan, body = served
        return plan.status_line, list(plan.headers), body

    # -- lookup -------------------------------------------------------------

    def _serve(self, path: str, environ: Mapping[str, Any]) -> tuple[Plan, Iterable[bytes]] | None:
        """A plan and body for *path*, or ``None`` to pass the request through."""
        method = environ.get("REQUEST_METHOD", "GET")
        for _ in range(_ATTEMPTS):
            resource = self._cache.get(path)
            if resource is not None and self._autorefresh and not _directory_unchanged(resource):
                self._forget(path)
                resource = None
            if resource is None:
                misses = self._misses
                if misses:
                    expiry = misses.get(path)
                    if expiry is not None:
                        if monotonic() < expiry:
                            return None
                        misses.pop(path, None)
                try:
                    found = self._find(path)
                except OSError as exc:
                    return self._cannot_open(path, exc)
                if found is None:
                    self._remember_miss(path)
                    return None
                if isinstance(found, Redirect):
                    if method not in responses.ALLOWED_METHODS:
                        return None
                    plan = responses.redirect_to_directory(
                        found.segment, environ.get("QUERY_STRING", ""), self.options.max_age
                    )
                    return plan, []
                resource = found
                self._remember(path, resource)
            if method not in responses.ALLOWED_METHODS:
                return responses.method_not_allowed(), [responses.METHOD_NOT_ALLOWED_BODY]
            reps = resource.representations
            if len(reps) == 1:
                index = 0
            else:
                index = encodings.choose(resource.available, environ.get("HTTP_ACCEPT_ENCODING"))
            rep = reps[index]
            content = rep.content
            if content is not None:
                if self._still_current(rep):
                    return _from_memory(method, environ, rep, content)
                self._forget(path)
                continue
            try:
                return self._open_and_plan(resource, index, method, environ)
            except _Changed:
                self._forget(path)
            except OSError as exc:
                self._forget(path)
                if isinstance(exc, PermissionError) or exc.errno in _EXHAUSTED:
                    return self._cannot_open(path, exc)
                # Deleted, replaced by a directory or a link, or unreadable now:
                # look again; a second miss passes through.
        return None

    def _cannot_open(self, path: str, exc: OSError) -> tuple[Plan, Iterable[bytes]] | None:
        """A file that exists but cannot be opened: pass through, or 503 when out of resources."""
        if exc.errno in _EXHAUSTED:
            # Say so (uncacheable) rather than let the app answer 404.
            log.error("staticmw: cannot open %s: %s", path, exc)
            return responses.service_unavailable(), [responses.UNAVAILABLE_BODY]
        log.warning("staticmw: cannot read %s: %s", path, exc)
        self._remember_miss(path)
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

    def _open_and_plan(
        self, resource: Resource, index: int, method: str, environ: Mapping[str, Any]
    ) -> tuple[Plan, Iterable[bytes]]:
        rep = resource.representations[index]
        # Opened again through the resolver: the descriptor is what gets checked.
        fd = self._resolver.reopen(rep.path)
        if fd is None:
            raise _Changed
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise _Changed
            if not rep.matches(st):
                self._release(rep)
                rep = self._builder.refresh(resource, index, st)
            if rep.size <= SMALL_BODY and self._reserve(rep.size):
                # Small enough to keep: read once, check, then serve from memory.
                data = _read_exact(fd, 0, rep.size)
                if not rep.matches(os.fstat(fd)):
                    self._unreserve(rep.size)
                    raise _Changed
                os.close(fd)
                rep.checked = monotonic()
                rep.content = data
                return _from_memory(method, environ, rep, data)
            plan = responses.respond(method, environ, rep)
            body = self._body(plan, fd, method, environ, rep)
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(fd)
            raise
        return plan, body

    def _body(
        self,
        plan: Plan,
        fd: int,
        method: str,
        environ: Mapping[str, Any],
        rep: Representation,
    ) -> Iterable[bytes]:
        """The body iterable; takes ownership of *fd* (closed now or by the server)."""
        parts = plan.body
        if not parts or method == "HEAD":
            os.close(fd)
            return []
        if len(parts) == 1 and isinstance(parts[0], tuple):
            offset, length = parts[0]
            # A whole small file is read now and checked; a range, or a large
            # file, goes to the server's sendfile from the real file when it can.
            if length <= SMALL_BODY and plan.status == 200:
                data = _read_exact(fd, offset, length)
                # The bytes must be the ones the headers describe.
                if not rep.matches(os.fstat(fd)):
                    raise _Changed
                os.close(fd)
                return [data]
            wrapper = environ.get("wsgi.file_wrapper")
            if wrapper is not None and _honours_content_length(wrapper):
                fileobj = io.FileIO(fd, "rb", closefd=True)
                fileobj.seek(offset)
                return wrapper(fileobj, BLOCK_SIZE)  # type: ignore[no-any-return]
        return FileBody(fd, parts)

    # -- the index and its memory ---------------------------------------------

    def _reserve(self, size: int) -> bool:
        """Claim *size* bytes of the in-memory budget; ``False`` when it is spent."""
        with self._lock:
            if self._cached_bytes + size > self._cache_bytes:
                return False
            self._cached_bytes += size
            return True

    def _unreserve(self, size: int) -> None:
        with self._lock:
            self._cached_bytes -= size

    def _release(self, rep: Representation) -> None:
        body = rep.content
        if body is not None:
            rep.content = None
            self._unreserve(len(body))

    def _forget(self, path: str) -> None:
        resource = self._cache.pop(path, None)
        if resource is not None:
            for rep in resource.representations:
                self._release(rep)

    def _remember_miss(self, path: str) -> None:
        if self._recheck_interval <= 0:
            return
        misses = self._misses
        if len(misses) >= MISS_ENTRIES:
            with contextlib.suppress(RuntimeError, StopIteration, KeyError):
                del misses[next(iter(misses))]
        misses[path] = monotonic() + self._recheck_interval

    def _remember(self, path: str, resource: Resource) -> None:
        cache = self._cache
        if len(cache) >= CACHE_ENTRIES:
            # Another thread may insert meanwhile; losing an eviction is harmless.
            with contextlib.suppress(RuntimeError, StopIteration, KeyError):
                self._forget(next(iter(cache)))
        cache[path] = resource

    def _find(self, path: str) -> Resource | Redirect | None:
        """Resolve a raw PATH_INFO to a resource, a slash redirect, or nothing."""
        index = self.options.index_file
        for mount in self._mounts:
            if not path.startswith(mount.raw_prefix):
                if (
                    index
                    and path == mount.raw_prefix[:-1]
                    and mount.prefix != "/"
                    and self._resolver.exists(mount.directory, (index,), directory=False)
                ):
                    return Redirect(mount.prefix.rstrip("/").rsplit("/", 1)[-1])
                continue
            relative = paths.decode_path(path[len(mount.raw_prefix) :])
            if relative is None:
                return None
            split = paths.split_request_path(relative, self.options.serve_hidden)
            if split is None:
                continue
            segments, trailing = split
            found = self._find_in(mount, segments, trailing, mount.prefix + relative)
            if found is not None:
                return found
        return None

    def _find_in(
        self, mount: _Mount, segments: tuple[str, ...], trailing: bool, url: str
    ) -> Resource | Redirect | None:
        """Open what *segments* name in one mount: a file, or a directory's index file."""
        resolver = self._resolver
        opened = resolver.open(mount.directory, segments)
        if opened is None:
            return None
        if opened.is_dir:
            opened.close()
            index = self.options.index_file
            if index is None:
                return None
            parts = (*segments, index)
            opened = resolver.open(mount.directory, parts)
            if opened is None:
                return None
            if opened.is_dir or not trailing:
                opened.close()
                return None if opened.is_dir else Redirect(segments[-1])
            return self._resource(mount, parts, url, opened, True)
        name_in_root = "/".join(segments)
        sidecar_of = paths.sidecar_original(segments[-1])
        if (
            trailing
            or name_in_root in mount.hidden
            # A sidecar is only reachable through its original's URL.
            or (
                sidecar_of is not None
                and resolver.exists(mount.directory, (*segments[:-1], sidecar_of))
            )
        ):
            opened.close()
            return None
        return self._resource(mount, segments, url, opened, sidecar_of is None)

    def _resource(
        self,
        mount: _Mount,
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
            for coding, suffixes in paths.SIDECAR_SUFFIXES.items():
                for suffix in suffixes:
                    variant = self._resolver.open(
                        mount.directory, (*parts[:-1], parts[-1] + suffix)
                    )
                    if variant is None:
                        continue
                    variant.close()
                    if not variant.is_dir:
                        files.append((coding, variant.path, variant.stat))
                        break
        name_in_root = "/".join(parts)
        entry = mount.manifest.entry(name_in_root) if mount.manifest is not None else None
        resource = self._builder.resource(url, parts[-1], files, entry)
        if self._autorefresh:
            directory = os.path.join(mount.directory, *parts[:-1])
            with contextlib.suppress(OSError):
                resource.directory_mtime = (directory, os.stat(directory).st_mtime_ns)
        return resource
