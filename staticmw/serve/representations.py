"""A served file's representations (one per content coding) and the resource that holds
them, each with its response headers computed once."""

from __future__ import annotations

import os

from ..http.messages import Answer, Plan
from ..manifest.formats import Entry

# Header names dropped from a 304 (§15.4.5: no representation metadata beyond
# what caches need to update, and no Content-Length that could disagree).
_NOT_IN_304 = frozenset({"content-type", "content-length", "content-encoding", "accept-ranges"})

Headers_ = tuple[tuple[str, str], ...]


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
        "directory_checked",
        "directory_mtime",
        "entry",
        "representations",
        "url",
        "vary",
    )

    def __init__(
        self,
        url: str,
        content_type: str,
        cache_control: str | None,
        representations: tuple[Representation, ...],
        entry: Entry | None = None,
        deltas: tuple[bytes, ...] = (),
    ):
        self.url = url
        self.content_type = content_type
        self.cache_control = cache_control
        self.entry = entry
        # The directory holding the file and its variants, and its mtime when indexed
        # (adding or removing a variant changes it), and when that was last checked.
        self.directory_mtime: tuple[str, int] | None = None
        self.directory_checked = 0.0
        self.representations = representations
        # Deltas (RFC 9842 dcz) come last, one per dictionary: index by dictionary hash.
        first_delta = len(representations) - len(deltas)
        self.deltas = {digest: first_delta + i for i, digest in enumerate(deltas)}
        self.vary = vary_header(len(representations) - len(deltas), bool(deltas))
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
