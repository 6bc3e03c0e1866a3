"""A directory carried from deploy to deploy (a buildpack cache, a Docker cache mount): the
hashed outputs of the last builds, for platforms where every deploy builds into an empty
output directory. Restored before a build, pages still open on an earlier deploy find
their files, and ``--dictionaries`` finds its earlier versions."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable

from .atomic import TMP_SUFFIX, replacing
from .manifest import MANIFEST_NAME, read_build_record


def _files(directory: str) -> set[str]:
    """Every regular file below *directory* (no link followed), as ``/``-separated names."""
    found = set()
    for parent, _, names in os.walk(directory):
        for name in names:
            path = os.path.join(parent, name)
            if name.endswith(TMP_SUFFIX) or os.path.islink(path) or not os.path.isfile(path):
                continue
            found.add(os.path.relpath(path, directory).replace(os.sep, "/"))
    return found


def _copy(source: str, dest: str) -> None:
    """Copy a file whole under its final name only (its times kept), or not at all."""
    with replacing(dest) as handle, open(source, "rb") as src:
        shutil.copyfileobj(src, handle)
    shutil.copystat(source, dest)


def restore(history: str, out: str) -> int:
    """Copy into *out* what *history* holds and *out* lacks, and its build record when
    *out* has none as recent; how many files came back."""
    record = os.path.join(history, MANIFEST_NAME)
    if not os.path.isfile(record):
        return 0
    count = 0
    for name in sorted(_files(history) - {MANIFEST_NAME}):
        dest = os.path.join(out, *name.split("/"))
        if not os.path.lexists(dest):
            _copy(os.path.join(history, *name.split("/")), dest)
            count += 1
    ours = os.path.join(out, MANIFEST_NAME)
    if read_build_record(ours).number < read_build_record(record).number:
        _copy(record, ours)
    return count


def save(history: str, out: str, names: Iterable[str]) -> None:
    """Make *history* hold exactly *names* (outputs in *out*) and the build record; the
    record is written last, so a save cut short is finished by the next one."""
    keep = set(names)
    for name in sorted(keep):
        source = os.path.join(out, *name.split("/"))
        dest = os.path.join(history, *name.split("/"))
        if not os.path.isfile(source):
            continue
        if os.path.isfile(dest) and os.path.getsize(dest) == os.path.getsize(source):
            continue  # hashed names: the same name is the same bytes
        _copy(source, dest)
    _copy(os.path.join(out, MANIFEST_NAME), os.path.join(history, MANIFEST_NAME))
    for name in _files(history) - keep - {MANIFEST_NAME}:
        os.unlink(os.path.join(history, *name.split("/")))
