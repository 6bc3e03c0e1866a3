"""Builds a file's representations from ``stat`` results: every response header computed
once, under one set of options."""

from __future__ import annotations

import os
import time
from wsgiref.headers import Headers

from werkzeug.http import http_date

from ..http import cachecontrol, etags
from ..http.dictionaries import DCZ
from ..manifest.formats import Entry
from .options import Options
from .representations import Representation, Resource, vary_header

# Modification times that mean "unknown" (reproducible builds, the Nix store).
_UNKNOWN_MTIME = 1

# Header pairs that most files share are stored once, not once per file: a
# hundred thousand indexed files should cost tens of megabytes, not hundreds.
_SHARED_LIMIT = 4096
_shared: dict[tuple[str, str], tuple[str, str]] = {}


def _share(pair: tuple[str, str]) -> tuple[str, str]:
    found = _shared.get(pair)
    if found is not None:
        return found
    if len(_shared) < _SHARED_LIMIT:
        _shared[pair] = pair
    return pair


def _tag(coding: str, dictionary: bytes | None) -> str:
    """What an ETag says of its coding: a delta's names its dictionary too, since two deltas
    of one file differ (§8.8.3.3): ``dcz-`` and the first 16 hex digits of its SHA-256."""
    return coding if dictionary is None else f"{DCZ}-{dictionary[:8].hex()}"


class HeaderBuilder:
    """Builds representations from ``stat`` results under one set of options."""

    __slots__ = ("options",)

    def __init__(self, options: Options):
        self.options = options

    def resource(
        self,
        url: str,
        name: str,
        files: list[tuple[str, str, os.stat_result]],
        entry: Entry | None = None,
        deltas: list[bytes] | tuple[bytes, ...] = (),
    ) -> Resource:
        """A resource from ``(coding, path, stat)`` triples, identity first.

        *entry* is what a manifest knows of this file: listed as hashed, it is
        immutable, and its content hash becomes the ETag. The last ``len(deltas)``
        triples are ``dcz`` deltas against the dictionaries *deltas* name, in order.
        """
        content_type = self.options.media_types.content_type(name)
        primary = files[0][1]
        immutable = entry is not None or bool(self.options.immutable_file_test(primary, url))
        control = cachecontrol.cache_control(immutable, self.options.max_age)
        vary = vary_header(len(files) - len(deltas), bool(deltas))
        dictionaries = (None,) * (len(files) - len(deltas)) + tuple(deltas)
        reps = tuple(
            self.representation(
                url, primary, content_type, control, vary, coding, path, st, entry, dictionary
            )
            for (coding, path, st), dictionary in zip(files, dictionaries, strict=True)
        )
        return Resource(url, content_type, control, reps, entry, tuple(deltas))

    def refresh(self, resource: Resource, index: int, st: os.stat_result) -> Representation:
        """Rebuild one representation of *resource* from a newer ``stat`` and store it."""
        old = resource.representations[index]
        dictionary = next((d for d, i in resource.deltas.items() if i == index), None)
        rep = self.representation(
            resource.url,
            resource.representations[0].path,
            resource.content_type,
            resource.cache_control,
            resource.vary,
            old.coding,
            old.path,
            st,
            resource.entry,
            dictionary,
        )
        resource.replace(index, rep)
        return rep

    def representation(
        self,
        url: str,
        primary: str,
        content_type: str,
        control: str | None,
        vary: str | None,
        coding: str,
        path: str,
        st: os.stat_result,
        entry: Entry | None = None,
        dictionary: bytes | None = None,
    ) -> Representation:
        """Compute the 200 headers for the file at *path* as sent with one coding.

        *primary* is the file the URL names, which ``add_headers_function`` sees
        for every representation, as WhiteNoise passes it. *dictionary* is the digest
        a ``dcz`` delta was made against, as the manifest lists it.
        """
        options = self.options
        size = st.st_size
        mtime_ns = st.st_mtime_ns
        identity = coding == "identity"
        tag = _tag(coding, dictionary)
        etag = etags.make_etag(mtime_ns, size, None if identity else tag)
        if entry is not None and entry.content_hash:
            # The manifest's content hash is the same on every machine and
            # deploy; it is used only while the size on disk agrees with it.
            expected = entry.size if identity else entry.encodings.get(coding)
            if coding == DCZ:
                expected = size  # its size was checked against the manifest when found
            if expected == size:
                etag = etags.make_content_etag(entry.content_hash, None if identity else tag)

        mtime = mtime_ns // 1_000_000_000
        now = int(time.time())
        last_modified: int | None
        if mtime <= _UNKNOWN_MTIME:
            last_modified, strong = None, False
        elif mtime > now:
            # §8.8.2.1: never later than the message's Date.
            last_modified, strong = now, False
        else:
            # §8.8.2.2: strong only when at least a second older than now.
            last_modified, strong = mtime, now - mtime >= 1

        headers = Headers([])
        headers["Content-Type"] = content_type
        headers["Content-Length"] = str(size)
        if last_modified is not None:
            headers["Last-Modified"] = http_date(last_modified)
        headers["ETag"] = etag
        if control is not None:
            headers["Cache-Control"] = control
        if vary:
            headers["Vary"] = vary
        if not identity:
            headers["Content-Encoding"] = coding
        if entry is not None and entry.dictionary:
            headers["Use-As-Dictionary"] = entry.dictionary
        headers["Accept-Ranges"] = "bytes"
        if options.allow_all_origins:
            headers["Access-Control-Allow-Origin"] = "*"
        headers["X-Content-Type-Options"] = "nosniff"
        if options.add_headers_function is not None:
            options.add_headers_function(headers, primary, url)
        shared = tuple(_share(pair) for pair in headers.items())
        return Representation(path, coding, size, mtime_ns, etag, last_modified, strong, shared)
