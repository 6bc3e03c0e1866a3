"""Precompress files where they lie (for storages such as Django's): skip what is unchanged.

The rules are ``staticmw build``'s: only compressible media types, a variant only when
it is at most 95% of the original, reproducible bytes, the zstd window capped. A record
of what was done (``.staticmw-compressed.json``, a dotfile, so never served) lets a
second run with nothing changed compress nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..http import encodings, mediatypes
from ..manifest.formats import ManifestError, decode
from . import compress, workers
from .tree import Tree

RECORD = ".staticmw-compressed.json"


@dataclass
class Result:
    """What a run did: variants written or kept, files left alone, and errors (``name: why``)."""

    compressed: int = 0
    unchanged: int = 0
    # Not of a compressible media type; and left alone by skip_extensions.
    skipped: int = 0
    excluded: int = 0
    # Variants of a codec no longer asked for, removed from beside the file they were of.
    removed: int = 0
    errors: list[str] = field(default_factory=list)


def _codecs(value: object) -> bool:
    return isinstance(value, list) and all(
        isinstance(codec, str) and codec in encodings.WRITTEN_SUFFIX for codec in value
    )


def record(root: str) -> dict[str, dict[str, object]]:
    """What the last run under *root* compressed, or found not worth it, by name: an entry
    of another shape, or a record that is not one, is as good as none, and what it covered
    is compressed again."""
    try:
        loaded = decode(Tree(root).read(RECORD), os.path.join(root, RECORD))
    except (OSError, ManifestError):
        return {}
    if not isinstance(loaded, dict):
        return {}
    return {
        name: entry
        for name, entry in loaded.items()
        if isinstance(entry, dict)
        and isinstance(entry.get("sha256"), str)
        and all(_codecs(entry.get(key)) for key in ("codecs", "kept"))
    }


def _run(
    todo: dict[str, list[str]], codecs: list[str], jobs: int | None, tree: Tree, result: Result
) -> tuple[dict[str, list[str]], set[str]]:
    """Make each codec's variant of each group of identical files through the build's
    engine: the first file is read and compressed once, and the result written beside
    every file of the group (or an old variant removed when no longer worth keeping).

    Returns the codecs kept by digest, and the digests that failed.
    """
    kept: dict[str, list[str]] = {}
    failed: set[str] = set()
    sizes = {digest: tree.size(names[0]) or 0 for digest, names in todo.items()}
    work = [
        (
            (codec, digest),
            workers.Task(
                codec,
                names[0],
                tuple(name + encodings.WRITTEN_SUFFIX[codec] for name in names),
                remove_unkept=True,
                root=tree.root,
                weight=workers.weight(codec, sizes[digest]),
            ),
        )
        for digest, names in todo.items()
        for codec in codecs
    ]

    def done(_: int, key: tuple[str, str], size: int | None, error: OSError | None) -> None:
        codec, digest = key
        if error is not None:
            failed.add(digest)
            result.errors.append(f"{todo[digest][0]}: cannot compress: {error}")
        elif size is not None:
            kept.setdefault(digest, []).append(codec)
            result.compressed += len(todo[digest])

    workers.run(work, jobs, done)
    return kept, failed


def _remove_variant(tree: Tree, name: str, codec: str, result: Result) -> None:
    variant = name + encodings.WRITTEN_SUFFIX[codec]
    try:
        tree.unlink(variant)
    except FileNotFoundError:
        return
    except OSError as exc:
        result.errors.append(f"{variant}: cannot remove: {exc.strerror or exc}")
        return
    result.removed += 1


def files_to_compress(root: str) -> list[str]:
    """Every regular file below *root* (``/``-separated names) that ``staticmw compress``
    considers: no dotfile or dot folder, no symlink, and no variant already made."""
    return sorted(
        name
        for name in Tree(root).files()
        if not name.endswith(encodings.ALL_SIDECAR_SUFFIXES)
        and not any(part.startswith(".") for part in name.split("/"))
    )


def precompress(
    root: str,
    names: Iterable[str],
    codecs: list[str] | None = None,
    jobs: int | None = None,
    skip_extensions: Iterable[str] = (),
    known: Mapping[str, str] | None = None,
) -> Result:
    """Compress each of *names* (paths relative to *root*, ``/``-separated) with *codecs*.

    *codecs* defaults to every installed one; *jobs* to one worker process per core.
    Names ending in one of *skip_extensions* (``"map"`` or ``".map"``) are left alone.
    Files with identical bytes (an unhashed copy and its hashed name, when no
    reference was rewritten) are compressed once. *known* gives
    :func:`~staticmw.build.workers.file_digest` values the caller has already computed, by
    name, so those files are not read again.
    """
    known = known or {}
    skipped_endings = tuple("." + ext.lower().lstrip(".") for ext in skip_extensions)
    codecs = compress.available() if codecs is None else codecs
    media = mediatypes.MediaTypes()
    tree = Tree(root)
    done = record(root)
    result = Result()
    # digest -> the files with those bytes that need their variants made
    todo: dict[str, list[str]] = {}
    digests: dict[str, str] = {}
    for name in sorted(set(names)):
        if skipped_endings and name.lower().endswith(skipped_endings):
            result.excluded += 1
            continue
        if not encodings.worth_compressing(media.bare_type(name)):
            result.skipped += 1
            continue
        try:
            digest = known.get(name) or tree.digest(name)
        except OSError as exc:
            result.errors.append(f"{name}: cannot read: {exc}")
            continue
        digests[name] = digest
        before = done.get(name)
        before = before if isinstance(before, dict) else {}
        kept = before.get("kept")
        kept = kept if isinstance(kept, list) else []
        previous_codecs = before.get("codecs")
        if (
            before.get("sha256") == digest
            and isinstance(previous_codecs, list)
            and set(previous_codecs) == set(codecs)
            and all(tree.exists(name + encodings.WRITTEN_SUFFIX[codec]) for codec in kept)
        ):
            result.unchanged += 1
            continue
        # A variant an earlier run wrote with a codec not asked for now would outlive the
        # bytes it was made of: a client of that coding would get the old file.
        for codec in kept:
            if codec not in codecs:
                _remove_variant(tree, name, codec, result)
        todo.setdefault(digest, []).append(name)
    kept, failed = _run(todo, codecs, jobs, tree, result)
    for name, digest in digests.items():
        if digest in failed:
            done.pop(name, None)
        elif digest in todo and name in todo[digest]:
            done[name] = {"sha256": digest, "codecs": codecs, "kept": kept.get(digest, [])}
    try:
        tree.write(RECORD, json.dumps(done, sort_keys=True, indent=0).encode())
    except OSError as exc:
        result.errors.append(f"{RECORD}: cannot write: {exc.strerror or exc}")
    return result
