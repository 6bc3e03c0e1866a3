"""Asset manifests: ours (``staticmw.json``) and those of Django, Vite and webpack.

A manifest answers two questions: which hashed name stands for a logical name
(for cache-busted URLs), and which names are content-addressed (served as
immutable, with their content hash as the ETag when the manifest knows it).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import posixpath
import re
import threading
import weakref
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from ..http.dictionaries import delta_name, use_as_dictionary
from ..serve.paths import split_request_path
from ..serve.watched import Watched

log = logging.getLogger("staticmw.manifest")

MANIFEST_NAME = "staticmw.json"
DJANGO_MANIFEST_NAME = "staticfiles.json"
VITE_MANIFEST_NAME = os.path.join(".vite", "manifest.json")
FORMAT_VERSION = 1

# Looked for in a root, in this order, when no manifest is named.
AUTO_DETECTED = (MANIFEST_NAME, DJANGO_MANIFEST_NAME, VITE_MANIFEST_NAME)


class ManifestError(ValueError):
    """A manifest that cannot be read or understood."""


# An SRI value (a ``sha256``/``sha384``/``sha512`` digest in base64): nothing else may reach
# an attribute or a header field as one.
_SRI = re.compile(r"sha(?:256|384|512)-[A-Za-z0-9+/]+={0,2}")


def sri(content: bytes) -> str:
    """The Subresource Integrity value (sha384) of a response body."""
    return "sha384-" + base64.b64encode(hashlib.sha384(content).digest()).decode("ascii")


def is_sri(value: object) -> bool:
    """Whether *value* is an SRI value and nothing else."""
    return isinstance(value, str) and _SRI.fullmatch(value) is not None


# Files whose integrity is worked out by reading them: at most this many remembered, each at
# most this large (a stylesheet; a larger file gets none).
INTEGRITY_LIMIT = 4096
INTEGRITY_BYTES = 8 * 1024 * 1024


class Integrities:
    """SRI values of files read from disk where no manifest records them, each read once,
    remembered by a key that changes with the file (a hashed name, or a path and its stat)."""

    def __init__(self) -> None:
        self._found: dict[Hashable, str] = {}
        self._lock = threading.Lock()

    def of(self, key: Hashable, opener: Callable[[], int | None]) -> str | None:
        """The value for *key*; else read from the descriptor *opener* gives (and this
        closes), ``None`` when there is none or the file is too large or unreadable."""
        found = self._found.get(key)
        if found is not None:
            return found
        try:
            fd = opener()
        except OSError:
            return None
        if fd is None:
            return None
        try:
            with open(fd, "rb") as handle:
                if os.fstat(handle.fileno()).st_size > INTEGRITY_BYTES:
                    return None
                found = sri(handle.read(INTEGRITY_BYTES + 1))
        except OSError:
            return None
        with self._lock:
            if len(self._found) >= INTEGRITY_LIMIT:
                self._found.clear()
            self._found[key] = found
        return found


class Entry:
    """What a manifest knows of one hashed file."""

    __slots__ = (
        "content_hash", "deltas", "dictionary", "encodings", "fonts", "integrity", "size",
    )  # fmt: skip

    def __init__(
        self,
        content_hash: str | None = None,
        size: int | None = None,
        encodings: Mapping[str, int] | None = None,
        dictionary: str | None = None,
        deltas: Mapping[bytes, tuple[str, int]] | None = None,
        fonts: tuple[str, ...] | None = None,
        integrity: str | None = None,
    ):
        self.content_hash = content_hash
        self.size = size
        self.encodings = dict(encodings or {})
        # RFC 9842: the Use-As-Dictionary value the file is served with, and its deltas
        # against earlier versions: dictionary SHA-256 -> (file name beside it, size).
        self.dictionary = dictionary
        self.deltas = dict(deltas or {})
        # A stylesheet's fonts as the build recorded them, relative URLs as written in it
        # (``None``: not recorded, so early hints read the stylesheet).
        self.fonts = fonts
        # A stylesheet's SRI value as the build recorded it (``None``: not recorded).
        self.integrity = integrity


class Manifest:
    """Logical name -> hashed name, and the set of hashed names with what is known of them.

    Names are relative to the root, with ``/`` separators and no leading slash.
    """

    __slots__ = ("digest", "format", "hashed", "names", "path")

    def __init__(self, names: dict[str, str], hashed: dict[str, Entry], fmt: str, path: str = ""):
        self.names = names
        self.hashed = hashed
        self.format = fmt
        self.path = path
        # The hash of the whole, where the format has one (Django's ``manifest_hash``).
        self.digest = ""

    def __len__(self) -> int:
        return len(self.names)

    def below(self, directory: str) -> Manifest:
        """The part of this manifest under *directory*, with names relative to it (all of it
        for the top, ``""``)."""
        if not directory.strip("/"):
            return self
        head = directory.strip("/") + "/"
        names = {
            k[len(head) :]: v[len(head) :]
            for k, v in self.names.items()
            if k.startswith(head) and v.startswith(head)
        }
        hashed = {k[len(head) :]: v for k, v in self.hashed.items() if k.startswith(head)}
        part = Manifest(names, hashed, self.format, self.path)
        part.digest = self.digest
        return part

    def lookup(self, name: str) -> str | None:
        """The hashed name for a logical name, or ``None``."""
        return self.names.get(name.lstrip("/"))

    def entry(self, name: str) -> Entry | None:
        """What is known of a hashed name, or ``None`` if *name* is not one."""
        return self.hashed.get(name)

    @classmethod
    def load(cls, path: str | os.PathLike[str], public_prefix: str = "/") -> Manifest:
        """Read any supported manifest, detecting its format from its content.

        *public_prefix* is stripped from webpack's public paths (``/static/app.js``).
        """
        path = os.fspath(path)
        try:
            with open(path, "rb") as handle:
                raw = handle.read()
        except OSError as exc:
            raise ManifestError(f"cannot read manifest {path!r}: {exc}") from None
        data = decode(raw, f"manifest {path!r}")
        try:
            manifest = parse(data, public_prefix)
        except ManifestError as exc:
            raise ManifestError(f"{path}: {exc}") from None
        manifest.path = path
        return manifest


def decode(raw: bytes, what: str) -> Any:
    """The JSON in *raw*, or :class:`ManifestError` naming *what*: no text, however made
    (broken syntax, bad UTF-8, nesting deep enough to exhaust the parser), raises else."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ManifestError(f"{what} is not JSON: {reason}") from None


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _sizes(value: Any) -> bool:
    return isinstance(value, dict) and all(_text(k) and _count(v) for k, v in value.items())


def _texts(value: Any) -> bool:
    return isinstance(value, list) and all(_text(v) for v in value)


def _delta_files(value: Any) -> bool:
    return isinstance(value, dict) and all(
        _text(k) and isinstance(v, dict) and _text(v.get("file")) and _count(v.get("size"))
        for k, v in value.items()
    )


# Each field an entry of ``staticmw.json`` may have, and the shape it must have.
ENTRY_FIELDS: dict[str, Callable[[Any], bool]] = {
    "name": _text,
    "hashed": _text,
    "hash": _text,
    "source_hash": _text,
    "size": _count,
    "source_size": _count,
    "encodings": _sizes,
    "source_encodings": _sizes,
    "dictionary": lambda value: isinstance(value, bool),
    "versions": _texts,
    "deltas": lambda value: value is None or _delta_files(value),
    "fonts": _texts,
    "integrity": is_sri,
}


def entry_problem(info: Any) -> str | None:
    """What is wrong with the shape of one entry of ``staticmw.json`` (``None``: nothing):
    the one check every reader of an entry makes, before it looks inside."""
    if not isinstance(info, dict):
        return f"an entry must be an object, got {type(info).__name__}"
    for key, value in info.items():
        check = ENTRY_FIELDS.get(key)
        if check is not None and not check(value):
            if key == "deltas":
                return "bad delta: 'deltas' must be an object of objects, each a file and a size"
            return f"{key!r} has the wrong shape ({type(value).__name__})"
    return None


# Every manifest file watched in this process, by real path and public prefix, while in use.
_SHARED: weakref.WeakValueDictionary[tuple[str, str], ManifestFile] = weakref.WeakValueDictionary()
_SHARED_LOCK = threading.Lock()

# A manifest rewritten on disk is parsed where it is noticed up to this size; a larger one
# on a thread of its own, so that a request (an event loop) never waits for the parse.
INLINE_BYTES = 256 * 1024


class ManifestFile:
    """A manifest on disk, read again when it changes (checked at most once per *interval*
    seconds, on use), by the rule of :class:`~staticmw.serve.watched.Watched`: a version that cannot
    be read or parsed, such as one caught half written, is never used (the last good one
    stays, and the error is logged once), a new version over :data:`INLINE_BYTES` is parsed
    in the background, and a manifest removed leaves the last good one in use.

    *below* takes the part under one directory (:meth:`Manifest.below`).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        interval: float = 1.0,
        public_prefix: str = "/",
        below: str | None = None,
    ):
        self.path = os.fspath(path)
        self.interval = interval
        self._prefix = public_prefix
        self._below = below
        self._watched = Watched(
            self.path,
            self._load,
            (ManifestError,),
            interval,
            what="manifest",
            keep_when_gone=True,
            background_over=INLINE_BYTES,
            log=log,
        )
        self.manifest = self._watched.first()  # a bad manifest at start-up is an error, raised

    @classmethod
    def shared(
        cls, path: str | os.PathLike[str], interval: float = 1.0, public_prefix: str = "/"
    ) -> ManifestFile:
        """The one watch of the manifest at *path* in this process, made on first use: every
        reader of one file (a mount and Django's storage of ``staticfiles.json``) takes each
        new version from one read. The shortest *interval* asked for is the one kept."""
        key = (os.path.realpath(path), public_prefix)
        with _SHARED_LOCK:
            found = _SHARED.get(key)
            if found is None:
                found = _SHARED[key] = cls(path, interval, public_prefix)
            elif interval < found.interval:
                found.interval = found._watched.interval = interval
            return found

    @property
    def loading(self) -> threading.Thread | None:
        """The thread parsing a large new version, while it runs."""
        return self._watched.loading

    def _load(self, path: str) -> Manifest:
        loaded = Manifest.load(path, self._prefix)
        return loaded if self._below is None else loaded.below(self._below)

    def current(self) -> Manifest:
        """The manifest as last read well; read again first when it is time to look."""
        found = self._watched.current()
        if found is not None:
            self.manifest = found
        return self.manifest


def _clean(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise ManifestError(f"expected a file name, got {name!r}")
    return name.lstrip("/")


def _served(name: Any) -> str:
    """A hashed name as the server can serve it, or :class:`ManifestError`: a name the path
    rules refuse (a NUL, ``..``, a Windows-reserved character, ...) is never requested, so
    it must not reach a URL or an open."""
    cleaned = _clean(name)
    path = cleaned.split("?", 1)[0].split("#", 1)[0]  # webpack may add a query
    split = split_request_path(path, serve_hidden=True)
    if split is None or split[1]:
        raise ManifestError(f"{cleaned!r} is not a name the server would serve")
    return cleaned


class _Entries:
    """Collects a manifest's entries; a bad one costs that entry and one log line.

    A manifest in which every entry is bad is not a manifest of that format at all.
    """

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.hashed: dict[str, Entry] = {}
        self.first_error: ManifestError | None = None

    def drop(self, key: Any, error: ManifestError) -> None:
        log.warning("staticmw: manifest entry %r dropped: %s", key, error)
        if self.first_error is None:
            self.first_error = error

    def manifest(self, fmt: str) -> Manifest:
        if self.first_error is not None and not self.names and not self.hashed:
            raise self.first_error
        return Manifest(self.names, self.hashed, fmt)


def parse(data: Any, public_prefix: str = "/") -> Manifest:
    """Build a :class:`Manifest` from decoded JSON in any supported format."""
    if not isinstance(data, dict):
        raise ManifestError("a manifest must be a JSON object")
    if "files" in data and data.get("version") == FORMAT_VERSION:
        return _parse_ours(data)
    if "paths" in data and isinstance(data["paths"], dict):
        return _parse_django(data)
    if data and all(isinstance(v, dict) and "file" in v for v in data.values()):
        return _parse_vite(data)
    if data and all(isinstance(v, str) for v in data.values()):
        return _parse_webpack(data, public_prefix)
    raise ManifestError("not a staticmw, Django, Vite or webpack manifest")


def _parse_ours(data: dict[str, Any]) -> Manifest:
    found = _Entries()
    files = data["files"]
    if not isinstance(files, dict):
        raise ManifestError("'files' must be an object")
    for logical, info in files.items():
        try:
            problem = entry_problem(info)
            if problem is not None:
                raise ManifestError(problem)
            target, entry = _our_entry(logical, info)
        except ManifestError as exc:
            found.drop(logical, exc)
            continue
        found.names[_clean(logical)] = target
        found.hashed[target] = entry
    # Earlier versions still on disk, for pages still open on them: served as what they
    # are (content-hash ETag, dictionary), though no name leads to them any more.
    earlier = data.get("earlier", [])
    for info in earlier if isinstance(earlier, list) else ():
        logical = info.get("name") if isinstance(info, dict) else None
        try:
            problem = entry_problem(info)
            if problem is not None:
                raise ManifestError(problem)
            target, entry = _our_entry(logical, {**info, "deltas": None})
        except ManifestError as exc:
            found.drop(str(logical), exc)
            continue
        found.hashed.setdefault(target, entry)
    return found.manifest("staticmw")


def _our_entry(logical: Any, info: Any) -> tuple[str, Entry]:
    """One entry of ``staticmw.json``: its hashed name and what is known of it."""
    if not isinstance(info, dict):
        raise ManifestError(f"entry for {logical!r} must be an object")
    _clean(logical)
    target = _served(info.get("hashed"))
    size = info.get("size")
    encodings = info.get("encodings") or {}
    if not isinstance(encodings, dict):
        raise ManifestError(f"'encodings' of {logical!r} must be an object")
    try:
        dictionary = use_as_dictionary(logical) if info.get("dictionary") is True else None
    except ValueError as exc:
        raise ManifestError(f"{logical!r} cannot be a dictionary: {exc}") from None
    entry = Entry(
        info.get("hash") if isinstance(info.get("hash"), str) else None,
        size if isinstance(size, int) else None,
        {k: v for k, v in encodings.items() if isinstance(k, str) and isinstance(v, int)},
        dictionary,
        _deltas(logical, target, info.get("deltas")),
        tuple(info["fonts"]) if "fonts" in info else None,
        info.get("integrity"),
    )
    return target, entry


def _deltas(logical: str, target: str, found: Any) -> dict[bytes, tuple[str, int]]:
    """An entry's ``deltas``: dictionary hash -> (file name in the asset's folder, size).

    Each must be named as the build names a delta of *target* against that dictionary, so
    that no entry can make another file (or another asset's delta) pass for its delta.
    """
    if found is None:
        return {}
    if not isinstance(found, dict):
        raise ManifestError(f"'deltas' of {logical!r} must be an object")
    deltas = {}
    for dictionary_hash, info in found.items():
        try:
            digest = bytes.fromhex(dictionary_hash)
            name, size = info["file"], info["size"]
        except (ValueError, TypeError, KeyError):
            raise ManifestError(f"bad delta {dictionary_hash!r} of {logical!r}") from None
        if len(digest) != 32 or not isinstance(name, str) or not isinstance(size, int):
            raise ManifestError(f"bad delta {dictionary_hash!r} of {logical!r}")
        base = posixpath.basename(name)
        expected = delta_name(posixpath.basename(target), digest.hex())
        if base != expected:
            raise ManifestError(
                f"{name!r} is not a delta file name of {target!r} ({logical!r}); "
                f"expected {expected!r}"
            )
        deltas[digest] = (base, size)
    return deltas


def _parse_django(data: dict[str, Any]) -> Manifest:
    found = _names_only(data["paths"].items(), "django")
    digest = data.get("hash")
    found.digest = digest if isinstance(digest, str) else ""
    return found


def _names_only(pairs: Iterable[tuple[Any, Any]], fmt: str) -> Manifest:
    """A manifest of logical -> hashed names and nothing more (Django's, webpack's)."""
    found = _Entries()
    for logical, target in pairs:
        try:
            found.names[_clean(logical)] = _served(target)
        except ManifestError as exc:
            found.drop(logical, exc)
    found.hashed = {v: Entry() for v in found.names.values()}
    return found.manifest(fmt)


def _parse_vite(data: dict[str, Any]) -> Manifest:
    found = _Entries()
    for source, chunk in data.items():
        try:
            logical = _clean(source)
            target = _served(chunk["file"])
            extras = [_served(extra) for key in ("css", "assets") for extra in chunk.get(key) or ()]
        except (ManifestError, TypeError, AttributeError) as exc:
            found.drop(source, exc if isinstance(exc, ManifestError) else ManifestError(str(exc)))
            continue
        found.names[logical] = target
        found.hashed[target] = Entry()
        for extra in extras:
            found.hashed[extra] = Entry()
    return found.manifest("vite")


def _parse_webpack(data: dict[str, Any], public_prefix: str) -> Manifest:
    def target(public: str) -> str:
        if "://" in public:  # an absolute URL: keep its path
            public = "/" + public.split("://", 1)[1].partition("/")[2]
        if public_prefix != "/" and public.startswith(public_prefix):
            public = public[len(public_prefix) :]
        return public

    return _names_only(((k, target(v)) for k, v in data.items()), "webpack")


def find_in_root(root: str) -> str | None:
    """The first auto-detected manifest file in *root*, or ``None``."""
    for name in AUTO_DETECTED:
        candidate = os.path.join(root, name)
        if os.path.isfile(candidate):
            return candidate
    return None


# -- writing --------------------------------------------------------------------------


def dump_ours(
    files: Mapping[str, Mapping[str, Any]],
    codecs: Sequence[str] = (),
    retained: Sequence[str] | Mapping[str, int] = (),
    earlier: Sequence[Mapping[str, Any]] = (),
    number: int = 0,
    settings: str = "",
    importmap: tuple[str, int] | None = None,
) -> bytes:
    """Serialise our manifest deterministically (sorted keys), so rebuilds are byte-identical.

    *codecs* are those the build tried, so the next build knows which missing
    variants were not worth keeping rather than never made; *retained* are
    outputs of earlier builds still on disk, for ``--prune`` to remove (by the number
    of the last build that made or used each, when known); *earlier* are the entries
    (with their logical ``name``) of the hashed files among them; *number* counts builds.
    """
    payload: dict[str, Any] = {
        "version": FORMAT_VERSION,
        "codecs": sorted(codecs),
        "retained": sorted(retained),
        "files": {k: files[k] for k in sorted(files)},
    }
    if number:
        payload["build"] = number
    if settings:
        payload["settings"] = settings
    if importmap is not None:
        payload["importmap"] = {"hash": importmap[0], "size": importmap[1]}
    if isinstance(retained, Mapping) and retained:
        payload["kept"] = {k: retained[k] for k in sorted(retained)}
    if earlier:
        payload["earlier"] = sorted(earlier, key=lambda entry: str(entry.get("hashed")))
    return (json.dumps(payload, indent=2, sort_keys=True) + "\n").encode()


class BuildRecord(NamedTuple):
    """What the last build wrote in ``staticmw.json``, as the next one reads it back: the
    entries as written (objects only), the codecs it tried and the outputs it retained."""

    files: dict[str, dict[str, Any]]
    codecs: set[str]
    retained: set[str]
    # Entries of earlier versions still on disk, by hashed name.
    earlier: dict[str, dict[str, Any]]
    # This build's number (0 before numbering), and the number of the last build that
    # made or used each retained output.
    number: int
    kept: dict[str, int]
    # What shaped the build's outputs besides its sources (see the build's ``fingerprint``).
    settings: str = ""
    # The SHA-256 (hex) and size of the importmap.json it wrote, if it wrote one.
    importmap: tuple[str, int] | None = None


def read_build_record(path: str) -> BuildRecord:
    """The :func:`dump_ours` record at *path*. One that is missing, not JSON, or not an object
    with ``files`` is empty, and the build then redoes what it would have skipped; one whose
    fields or entries have the wrong shape is :class:`ManifestError`, for the build to stop
    on rather than act on a record it cannot trust."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError:
        return BuildRecord({}, set(), set(), {}, 0, {})
    return build_record_of(raw, path)


def build_record_of(raw: bytes, path: str) -> BuildRecord:
    """:func:`read_build_record` of bytes already read (from *path*, named in errors)."""
    empty = BuildRecord({}, set(), set(), {}, 0, {})
    try:
        data = decode(raw, path)
    except ManifestError:
        return empty
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        return empty

    def wrong(what: str) -> ManifestError:
        return ManifestError(f"{path}: {what}; remove it to build everything again")

    for key, check in (("codecs", _texts), ("retained", _texts), ("kept", _sizes)):
        if key in data and not check(data[key]):
            raise wrong(f"{key!r} has the wrong shape")
    number = data.get("build", 0)
    if not _count(number):
        raise wrong("'build' must be a whole number")
    files = data["files"]
    for name, info in files.items():
        problem = entry_problem(info)
        if problem is not None:
            raise wrong(f"entry {name!r}: {problem}")
    found = data.get("earlier", [])
    if not isinstance(found, list):
        raise wrong("'earlier' must be a list")
    earlier = {}
    for info in found:
        problem = entry_problem(info) or (None if _text(info.get("hashed")) else "no 'hashed'")
        if problem is not None:
            raise wrong(f"an earlier entry: {problem}")
        earlier[info["hashed"]] = info
    return BuildRecord(
        files,
        set(data.get("codecs", ())),
        set(data.get("retained", ())),
        earlier,
        max(number, 0),
        dict(data.get("kept", {})),
        data["settings"] if _text(data.get("settings")) else "",
        _vouched(data.get("importmap")),
    )


def _vouched(value: Any) -> tuple[str, int] | None:
    """``{"hash": hex, "size": n}`` as a pair; anything else as nothing vouched for."""
    if isinstance(value, dict) and _text(value.get("hash")) and _count(value.get("size")):
        return value["hash"], value["size"]
    return None


def django_digest(names: Mapping[str, str]) -> str:
    """The ``hash`` of Django's manifest (its ``manifest_hash``) for *names*."""
    paths = json.dumps(dict(sorted(names.items())), sort_keys=True).encode()
    return hashlib.md5(paths, usedforsecurity=False).hexdigest()[:12]


def dump_django(names: Mapping[str, str]) -> bytes:
    """Serialise Django's ``staticfiles.json`` (version 1.1) for ``names``."""
    paths = {k: names[k] for k in sorted(names)}
    payload = {"paths": paths, "version": "1.1", "hash": django_digest(paths)}
    return (json.dumps(payload, indent=2, sort_keys=True) + "\n").encode()
