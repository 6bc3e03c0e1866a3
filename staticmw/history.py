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


def files_below(directory: str, below: str = "") -> set[str]:
    """Every regular file below *directory* (no link followed), as ``/``-separated names."""
    found: set[str] = set()
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return found
    for entry in entries:
        name = below + entry.name
        if entry.is_dir(follow_symlinks=False):
            found |= files_below(entry.path, name + "/")
        elif entry.is_file(follow_symlinks=False) and not entry.name.endswith(TMP_SUFFIX):
            found.add(name)
    return found


def _copy(source: str, dest: str) -> None:
    """Copy a file whole under its final name only (its times kept), or not at all."""
    with replacing(dest) as handle, open(source, "rb") as src:
        shutil.copyfileobj(src, handle)
    shutil.copystat(source, dest)


def _link(source: str, dest: str) -> None:
    """A second name for a file that no build changes in place (every output is written
    under a temporary name and renamed): one call, where a copy costs a file's creation
    and its bytes. A copy across file systems, or where links are refused."""
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    try:
        os.link(source, dest)
    except FileExistsError:
        pass
    except OSError:
        _copy(source, dest)


def restore(history: str, out: str) -> int:
    """Copy into *out* what *history* holds and *out* lacks, and its build record when
    *out* has none as recent; how many files came back."""
    record = os.path.join(history, MANIFEST_NAME)
    if not os.path.isfile(record):
        return 0
    count = 0
    for name in sorted(files_below(history) - {MANIFEST_NAME}):
        dest = os.path.join(out, *name.split("/"))
        if not os.path.lexists(dest):
            _link(os.path.join(history, *name.split("/")), dest)
            count += 1
    ours = os.path.join(out, MANIFEST_NAME)
    if read_build_record(ours).number < read_build_record(record).number:
        _copy(record, ours)
    return count


def save(history: str, out: str, names: Iterable[str]) -> None:
    """Make *history* hold exactly *names* (outputs in *out*) and the build record; the
    record is written last, so a save cut short is finished by the next one."""
    keep = set(names)
    held = files_below(history)
    # Outputs never change under one name (hashed names carry their content; the
    # others kept are of sources since removed), so one held already is right.
    for name in sorted(keep - held):
        source = os.path.join(out, *name.split("/"))
        if os.path.isfile(source):
            _link(source, os.path.join(history, *name.split("/")))
    _copy(os.path.join(out, MANIFEST_NAME), os.path.join(history, MANIFEST_NAME))
    for name in held - keep - {MANIFEST_NAME}:
        os.unlink(os.path.join(history, *name.split("/")))
