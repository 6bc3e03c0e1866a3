"""A served file's representations (one per content coding) and the resource that holds
them, built from ``stat`` results with every response header computed once, under one set of
options."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from types import MappingProxyType
from wsgiref.headers import Headers

from werkzeug.http import http_date

from ..http import cachecontrol, etags
from ..http.dictionaries import DCZ
from ..http.messages import Answer, Plan
from ..manifest.formats import Entry
from .options import Options

# Header names dropped from a 304 (§15.4.5: no representation metadata beyond
# what caches need to update, and no Content-Length that could disagree).
_NOT_IN_304 = frozenset({"content-type", "content-length", "content-encoding", "accept-ranges"})

Headers_ = tuple[tuple[str, str], ...]

# The deltas of a file without any: one empty mapping for all, not a dict each.
_NO_DELTAS: Mapping[bytes, int] = MappingProxyType({})


class Representation:
    """One file on disk as sent with one content coding, and its precomputed headers."""

    __slots__ = (
        "answer_200",
        "answer_304",
        "checked",
        "coding",
        "content",
        "etag",
        "headers",
        "last_modified",
        "last_modified_strong",
        "mtime_ns",
        "path",
        "plan_200",
        "plan_304",
        "size",
    )

    def __init__(
        self,
        path: str,
        coding: str,
        size: int,
        mtime_ns: int,
        etag: str,
        last_modified: int | None,
        last_modified_strong: bool,
        headers: Headers_,
    ):
        self.path = path
        self.coding = coding
        self.size = size
        self.mtime_ns = mtime_ns
        self.etag = etag
        self.last_modified = last_modified
        self.last_modified_strong = last_modified_strong
        self.headers = headers
        # The ready 200 and 304 plans, made on first use: ``rep.plan_304 or rep.make_304()``
        # (a slot read on the hot path, where a property would cost a call).
        self.plan_200: Plan | None = None
        self.plan_304: Plan | None = None
        # The file's bytes, when small enough to keep in memory, and the
        # monotonic time they were last checked against the file system.
        self.content: bytes | None = None
        self.checked = 0.0
        # The answer to a revalidation, made once and shared (it holds no bytes),
        # and while the bytes are held, the whole-file answer that sends them.
        self.answer_304: Answer | None = None
        self.answer_200: Answer | None = None

    def hold(self, content: bytes, now: float) -> None:
        """Keep the file's bytes, checked against it at monotonic time *now*."""
        self.answer_200 = Answer((self.plan_200 or self.make_200(), (content,)))
        self.content = content
        self.checked = now

    def drop(self) -> bytes | None:
        """Stop holding the bytes; the ones dropped, if any."""
        content = self.content
        self.content = None
        self.answer_200 = None
        return content

    def make_304(self) -> Plan:
        """The 304 for this representation (the 200 headers less representation
        metadata), made on first use and kept in :attr:`plan_304`."""
        headers = tuple(pair for pair in self.headers if pair[0].lower() not in _NOT_IN_304)
        plan = self.plan_304 = Plan(304, headers, None)
        return plan

    def make_answer_304(self) -> Answer:
        """The answer to a revalidation, made on first use and kept in :attr:`answer_304`."""
        answer = self.answer_304 = Answer((self.plan_304 or self.make_304(), ()))
        return answer

    def make_200(self) -> Plan:
        """The plain 200 (the whole file, unconditional), made on first use and kept
        in :attr:`plan_200`."""
        plan = self.plan_200 = Plan(200, self.headers, ((0, self.size),))
        return plan

    def matches(self, st: os.stat_result) -> bool:
        """Whether a fresh ``stat`` still describes the bytes these headers were made for."""
        return st.st_size == self.size and st.st_mtime_ns == self.mtime_ns


class Resource:
    """A URL that maps to a file: its identity representation first, then its variants."""

    __slots__ = (
        "available",
        "cache_control",
        "content_type",
        "deltas",
        "directory",
        "directory_checked",
        "directory_mtime",
        "entry",
        "remembered",
        "representations",
        "seen",
        "url",
        "vary",
    )

    def __init__(
        self,
        url: str,
        content_type: str,
        cache_control: str | None,
        representations: tuple[Representation, ...],
        entry: Entry | None,
        deltas: tuple[bytes, ...],
        vary: str | None,
    ):
        self.url = url
        self.content_type = content_type
        self.cache_control = cache_control
        self.entry = entry
        # The directory holding the file and its variants (one string for every file in
        # it), its mtime when indexed (adding or removing a variant changes it), and when
        # that was last checked.
        self.directory: str | None = None
        self.directory_mtime = 0
        self.directory_checked = 0.0
        # Whether it was asked for since the cache last passed over it (its second chance),
        # and whether the cache holds it (bytes are held only while it does).
        self.seen = False
        self.remembered = False
        self.representations = representations
        # Deltas (RFC 9842 dcz) come last, one per dictionary: index by dictionary hash.
        first_delta = len(representations) - len(deltas)
        self.deltas: Mapping[bytes, int] = (
            {digest: first_delta + i for i, digest in enumerate(deltas)} if deltas else _NO_DELTAS
        )
        self.vary = vary
        # (coding, size) pairs for the choice among variants; none without variants.
        self.available: tuple[tuple[str, int], ...] = ()
        if first_delta > 1:
            self.available = tuple((rep.coding, rep.size) for rep in representations[:first_delta])

    def replace(self, index: int, rep: Representation) -> None:
        """Swap in a representation rebuilt after the file changed on disk."""
        reps = list(self.representations)
        reps[index] = rep
        self.representations = tuple(reps)
        if self.available:
            count = len(self.available)
            self.available = tuple((r.coding, r.size) for r in reps[:count])


def vary_header(codings: int, deltas: bool) -> str | None:
    """``Vary`` for a file with *codings* representations, and deltas or not (§8 of RFC 9842:
    every answer for a file with deltas varies on the dictionary too, delta or not)."""
    if deltas:
        return "Accept-Encoding, Available-Dictionary"
    return "Accept-Encoding" if codings > 1 else None


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
        return Resource(url, content_type, control, reps, entry, tuple(deltas), vary)

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
