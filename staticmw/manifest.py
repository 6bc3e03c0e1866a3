"""Asset manifests: ours (``staticmw.json``) and those of Django, Vite and webpack.

A manifest answers two questions: which hashed name stands for a logical name
(for cache-busted URLs), and which names are content-addressed (served as
immutable, with their content hash as the ETag when the manifest knows it).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import posixpath
from collections.abc import Mapping, Sequence
from typing import Any

from .atomic import replacing
from .dictionaries import delta_original, use_as_dictionary

log = logging.getLogger("staticmw.manifest")

MANIFEST_NAME = "staticmw.json"
DJANGO_MANIFEST_NAME = "staticfiles.json"
VITE_MANIFEST_NAME = os.path.join(".vite", "manifest.json")
FORMAT_VERSION = 1

# Looked for in a root, in this order, when no manifest is named.
AUTO_DETECTED = (MANIFEST_NAME, DJANGO_MANIFEST_NAME, VITE_MANIFEST_NAME)


class ManifestError(ValueError):
    """A manifest that cannot be read or understood."""


class Entry:
    """What a manifest knows of one hashed file."""

    __slots__ = ("content_hash", "deltas", "dictionary", "encodings", "size")

    def __init__(
        self,
        content_hash: str | None = None,
        size: int | None = None,
        encodings: Mapping[str, int] | None = None,
        dictionary: str | None = None,
        deltas: Mapping[bytes, tuple[str, int]] | None = None,
    ):
        self.content_hash = content_hash
        self.size = size
        self.encodings = dict(encodings or {})
        # RFC 9842: the Use-As-Dictionary value the file is served with, and its deltas
        # against earlier versions: dictionary SHA-256 -> (file name beside it, size).
        self.dictionary = dictionary
        self.deltas = dict(deltas or {})


class Manifest:
    """Logical name -> hashed name, and the set of hashed names with what is known of them.

    Names are relative to the root, with ``/`` separators and no leading slash.
    """

    __slots__ = ("format", "hashed", "names", "path")

    def __init__(self, names: dict[str, str], hashed: dict[str, Entry], fmt: str, path: str = ""):
        self.names = names
        self.hashed = hashed
        self.format = fmt
        self.path = path

    def __len__(self) -> int:
        return len(self.names)

    def below(self, directory: str) -> Manifest:
        """The part of this manifest under *directory*, with names relative to it."""
        head = directory.strip("/") + "/"
        names = {
            k[len(head) :]: v[len(head) :]
            for k, v in self.names.items()
            if k.startswith(head) and v.startswith(head)
        }
        hashed = {k[len(head) :]: v for k, v in self.hashed.items() if k.startswith(head)}
        return Manifest(names, hashed, self.format, self.path)

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
                data = json.load(handle)
        except (OSError, ValueError) as exc:
            raise ManifestError(f"cannot read manifest {path!r}: {exc}") from None
        try:
            manifest = parse(data, public_prefix)
        except ManifestError as exc:
            raise ManifestError(f"{path}: {exc}") from None
        manifest.path = path
        return manifest


def _clean(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise ManifestError(f"expected a file name, got {name!r}")
    return name.lstrip("/")


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
    names: dict[str, str] = {}
    hashed: dict[str, Entry] = {}
    files = data["files"]
    if not isinstance(files, dict):
        raise ManifestError("'files' must be an object")
    for logical, info in files.items():
        if not isinstance(info, dict):
            raise ManifestError(f"entry for {logical!r} must be an object")
        target = _clean(info.get("hashed"))
        names[_clean(logical)] = target
        size = info.get("size")
        encodings = info.get("encodings") or {}
        if not isinstance(encodings, dict):
            raise ManifestError(f"'encodings' of {logical!r} must be an object")
        hashed[target] = Entry(
            info.get("hash") if isinstance(info.get("hash"), str) else None,
            size if isinstance(size, int) else None,
            {k: v for k, v in encodings.items() if isinstance(k, str) and isinstance(v, int)},
            use_as_dictionary(logical) if info.get("dictionary") is True else None,
            _deltas(logical, info.get("deltas")),
        )
    return Manifest(names, hashed, "staticmw")


def _deltas(logical: str, found: Any) -> dict[bytes, tuple[str, int]]:
    """An entry's ``deltas``: dictionary hash -> (file name in the asset's folder, size)."""
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
        if delta_original(base) is None:  # only a delta's own name, beside its file
            raise ManifestError(f"{name!r} is not a delta file name ({logical!r})")
        deltas[digest] = (base, size)
    return deltas


def _parse_django(data: dict[str, Any]) -> Manifest:
    names = {_clean(k): _clean(v) for k, v in data["paths"].items()}
    return Manifest(names, {v: Entry() for v in names.values()}, "django")


def _parse_vite(data: dict[str, Any]) -> Manifest:
    names: dict[str, str] = {}
    hashed: dict[str, Entry] = {}
    for source, chunk in data.items():
        target = _clean(chunk["file"])
        names[_clean(source)] = target
        hashed[target] = Entry()
        for key in ("css", "assets"):
            for extra in chunk.get(key) or ():
                hashed[_clean(extra)] = Entry()
    return Manifest(names, hashed, "vite")


def _parse_webpack(data: dict[str, Any], public_prefix: str) -> Manifest:
    names: dict[str, str] = {}
    for logical, public in data.items():
        target = public
        if "://" in target:  # an absolute URL: keep its path
            target = "/" + target.split("://", 1)[1].partition("/")[2]
        if public_prefix != "/" and target.startswith(public_prefix):
            target = target[len(public_prefix) :]
        names[_clean(logical)] = _clean(target)
    return Manifest(names, {v: Entry() for v in names.values()}, "webpack")


def find_in_root(root: str) -> str | None:
    """The first auto-detected manifest file in *root*, or ``None``."""
    for name in AUTO_DETECTED:
        candidate = os.path.join(root, name)
        if os.path.isfile(candidate):
            return candidate
    return None


# -- writing --------------------------------------------------------------------------


def atomic_write(path: str, data: bytes) -> bool:
    """Write *data* to *path* via a temporary file and rename; skip when unchanged.

    Returns whether the file was written. A crash or interrupt never leaves a
    partial file under *path*; the temporary name is a dotfile, never served.
    """
    try:
        with open(path, "rb") as handle:
            if handle.read(len(data) + 1) == data:
                return False
    except FileNotFoundError:
        pass
    with replacing(path) as handle:
        handle.write(data)
    return True


def dump_ours(
    files: Mapping[str, Mapping[str, Any]],
    codecs: Sequence[str] = (),
    retained: Sequence[str] = (),
) -> bytes:
    """Serialise our manifest deterministically (sorted keys), so rebuilds are byte-identical.

    *codecs* are those the build tried, so the next build knows which missing
    variants were not worth keeping rather than never made; *retained* are
    outputs of earlier builds still on disk, for ``--prune`` to remove.
    """
    payload = {
        "version": FORMAT_VERSION,
        "codecs": sorted(codecs),
        "retained": sorted(retained),
        "files": {k: files[k] for k in sorted(files)},
    }
    return (json.dumps(payload, indent=2, sort_keys=True) + "\n").encode()


def dump_django(names: Mapping[str, str]) -> bytes:
    """Serialise Django's ``staticfiles.json`` (version 1.1) for ``names``."""
    paths = {k: names[k] for k in sorted(names)}
    digest = hashlib.md5(json.dumps(paths, sort_keys=True).encode(), usedforsecurity=False)
    payload = {"paths": paths, "version": "1.1", "hash": digest.hexdigest()[:12]}
    return (json.dumps(payload, indent=2, sort_keys=True) + "\n").encode()
