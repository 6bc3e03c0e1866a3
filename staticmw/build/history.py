"""A directory carried from deploy to deploy (a buildpack cache, a Docker cache mount): the
hashed outputs of the last builds, for platforms where every deploy builds into an empty
output directory. Restored before a build, pages still open on an earlier deploy find
their files, and ``--dictionaries`` finds its earlier versions."""

from __future__ import annotations

import hashlib
import os
import posixpath
import zlib
from collections.abc import Iterable
from typing import NamedTuple

from ..http import encodings
from ..http.dictionaries import DCZ_HEADER_SIZE, frame
from ..manifest.formats import MANIFEST_NAME, BuildRecord, build_record_of, read_build_record
from ..manifest.importmaps import IMPORTMAP_NAME
from ..serve.paths import split_request_path
from .tree import Tree


def _carry(source: Tree, target: Tree, name: str) -> None:
    """*name* of one tree into the other: a second name for the very file opened when it
    has one (outputs are never changed in place: each is written under a temporary name and
    renamed), a copy of its bytes otherwise or where links are refused."""
    fd = source.open(name)
    try:
        if os.fstat(fd).st_nlink > 1 or not target.link_in(fd, name):
            target.copy_in(fd, name)
    finally:
        os.close(fd)


def _same_inode(one: Tree, other: Tree, name: str) -> bool:
    """Whether *name* is one file under both trees (a link the last save made)."""
    try:
        first, second = one.lstat(name), other.lstat(name)
    except OSError:
        return False
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


class _Expected(NamedTuple):
    """What the history's record says one output holds: the content (after undoing its
    coding) has this SHA-256 and size; a delta is undone against the version whose SHA-256
    is *dictionary*."""

    digest: str
    size: int
    coding: str  # "identity", a codec of encodings.WRITTEN_SUFFIX, or "dcz"
    dictionary: str = ""


def _listed(record: BuildRecord) -> dict[str, _Expected]:
    """Every output the record vouches for by content: each entry's hashed file (current
    and earlier versions), the variants it lists and its deltas; by name in the output."""
    listed: dict[str, _Expected] = {}
    if record.importmap is not None:
        listed[IMPORTMAP_NAME] = _Expected(*record.importmap, "identity")
    current = ({**entry, "name": name} for name, entry in record.files.items())
    for entry in (*current, *record.earlier.values()):
        hashed, digest, size = entry.get("hashed"), entry.get("hash"), entry.get("size")
        if not isinstance(hashed, str) or not isinstance(digest, str) or not isinstance(size, int):
            continue
        split = split_request_path(hashed, serve_hidden=True)
        if split is None or split[1]:
            continue  # a name that could lead out of the output
        listed[hashed] = _Expected(digest, size, "identity")
        for codec in entry.get("encodings") or {}:
            if codec in encodings.WRITTEN_SUFFIX:
                listed[hashed + encodings.WRITTEN_SUFFIX[codec]] = _Expected(digest, size, codec)
        source, source_size = entry.get("source_hash"), entry.get("source_size")
        plain = entry.get("name")
        plain_split = (
            split_request_path(plain, serve_hidden=True) if isinstance(plain, str) else None
        )
        if (
            isinstance(source, str)
            and isinstance(source_size, int)
            and plain_split is not None
            and not plain_split[1]
        ):
            # A rewritten file's plain name: its variants hold the source's bytes.
            for codec in entry.get("source_encodings") or {}:
                if codec in encodings.WRITTEN_SUFFIX:
                    variant = f"{plain}{encodings.WRITTEN_SUFFIX[codec]}"
                    listed[variant] = _Expected(source, source_size, codec)
        folder = posixpath.dirname(hashed)
        for dictionary, delta in (entry.get("deltas") or {}).items():
            name = posixpath.basename(delta["file"])
            if split_request_path(name, serve_hidden=True) is not None:
                listed[posixpath.join(folder, name)] = _Expected(digest, size, "dcz", dictionary)
    return listed


def _decoded(data: bytes, expected: _Expected, dictionaries: dict[str, bytes]) -> bytes | None:
    """The content *data* stands for under its coding, read no further than the size the
    record gives; ``None`` when it cannot be undone here."""
    limit = expected.size + 1
    try:
        if expected.coding == "identity":
            return data
        if expected.coding == "gzip":
            undo = zlib.decompressobj(wbits=31)
            content = undo.decompress(data, limit)
            return content if undo.eof and not undo.unused_data else None
        if expected.coding == "br":
            import brotli  # type: ignore[import-untyped, unused-ignore]

            decoder = brotli.Decompressor()
            content = bytes(decoder.process(data, output_buffer_limit=limit))
            return content if decoder.is_finished() else None
        import zstandard

        if expected.coding == "zstd":
            return bytes(zstandard.ZstdDecompressor().decompress(data, max_output_size=limit))
        dictionary = dictionaries.get(expected.dictionary)
        if dictionary is None or data[:DCZ_HEADER_SIZE] != frame(
            bytes.fromhex(expected.dictionary), b""
        ):
            return None
        raw = zstandard.ZstdCompressionDict(dictionary, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
        undo_delta = zstandard.ZstdDecompressor(dict_data=raw)
        return bytes(undo_delta.decompress(data[DCZ_HEADER_SIZE:], max_output_size=limit))
    except Exception:  # a library's own error for bytes that are not of its coding
        return None


def _restore_one(
    history: Tree, out: Tree, name: str, expected: _Expected, dictionaries: dict[str, bytes]
) -> bool:
    """Bring one output back, decided about the file opened: a regular file inside the
    history, no larger than its content, that undoes to the content the record gives. A
    file with one name is linked in by its descriptor; any other is copied, so that a
    second name outside the history can neither be reached nor change what is served."""
    try:
        fd = history.open(name)
    except OSError:
        return False
    try:
        st = os.fstat(fd)
        if st.st_size > expected.size + 64:
            return False
        data = os.pread(fd, expected.size + 65, 0)
        content = _decoded(data, expected, dictionaries)
        if (
            content is None
            or len(content) != expected.size
            or hashlib.sha256(content).hexdigest() != expected.digest
        ):
            return False
        if expected.coding == "identity":
            dictionaries[expected.digest] = content
        if st.st_nlink == 1 and out.link_in(fd, name):
            return True
        with out.replacing(name) as handle:  # the name was checked absent: no compare
            handle.write(data)
        directory, base = out.place(name)
        os.utime(base, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=directory)
        return True
    finally:
        os.close(fd)


def restore(history: str, out: str) -> dict[str, str]:
    """Copy into *out* what *history* holds and *out* lacks, and its build record when
    *out* has none as recent; the names that came back, each with the SHA-256 of the
    content it was checked to hold (its coding undone). Only outputs the history's own
    record lists come back, each checked by content (see :func:`_restore_one`): a file
    planted in the history, or a link to one outside it, never does."""
    held, into = Tree(history), Tree(out)
    if not held.exists(MANIFEST_NAME):
        return {}
    # Read once: the record restored is the very one the files were checked against.
    raw = held.read(MANIFEST_NAME)
    kept = build_record_of(raw, os.path.join(history, MANIFEST_NAME))
    listed = _listed(kept)
    dictionaries: dict[str, bytes] = {}
    brought: dict[str, str] = {}
    present = into.files()  # one walk, where a look per name listed was slow
    # Files first, so that the deltas after them find their dictionaries.
    for name in sorted(listed, key=lambda name: (listed[name].coding == "dcz", name)):
        if name not in present and _restore_one(held, into, name, listed[name], dictionaries):
            brought[name] = listed[name].digest
    # The output's own record is read only when it is not the very one the history holds.
    if (
        not into.holds(MANIFEST_NAME, raw)
        and read_build_record(os.path.join(out, MANIFEST_NAME)).number < kept.number
    ):
        into.write(MANIFEST_NAME, raw)
    return brought


def save(history: str, out: str, names: Iterable[str], changing: Iterable[str] = ()) -> None:
    """Make *history* hold exactly *names* (outputs in *out*) and the build record; the
    record is written last, so a save cut short is finished by the next one. Those of
    *changing* can hold other bytes under the same name (the import map, the variants of a
    rewritten file's plain name): they are carried again every time."""
    keep = set(names)
    held, made = Tree(history), Tree(out)
    os.makedirs(history, exist_ok=True)
    present = held.files()
    # The other outputs never change under one name (hashed names carry their content;
    # the others kept are of sources since removed), so one held already is right.
    for name in sorted((keep - present) | (keep & set(changing))):
        if made.exists(name):
            if name in present:
                if _same_inode(made, held, name):
                    continue  # the history holds this very file already
                held.unlink(name)
            _carry(made, held, name)
    held.write(MANIFEST_NAME, made.read(MANIFEST_NAME))
    for name in present - keep - {MANIFEST_NAME}:
        held.unlink(name)
