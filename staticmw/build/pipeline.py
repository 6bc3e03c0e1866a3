"""The build step: collect sources, hash names, rewrite references, precompress, write manifests.

Every output is written to a temporary dotfile and renamed into place, and only
when its bytes change, so an interrupted build never leaves a partial file under
a final name and a repeated build changes nothing.
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import hashlib
import json
import logging
import os
import posixpath
import stat
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import quote

from ..hints.cssrefs import is_font
from ..http import dictionaries
from ..http.encodings import ALL_SIDECAR_SUFFIXES, WRITTEN_SUFFIX, worth_compressing
from ..http.mediatypes import MediaTypes
from ..manifest import formats, importmaps
from ..serve.options import not_a_directory
from ..serve.paths import (
    MAX_SEGMENT_CHARS,
    Resolver,
    is_within,
    sidecar_original,
    split_request_path,
)
from . import compress, history, jsscan, modulegraph, rewrite, workers
from .atomic import TMP_SUFFIX
from .tree import Tree, digest_of

log = logging.getLogger("staticmw.build")

HASH_LENGTH = 12

Progress = Callable[[str, int, int], None]


class BuildError(Exception):
    """A build that cannot start: bad sources, an output that overlaps a source, ..."""


class OutputError(BuildError):
    """The output directory cannot be created or written."""


@dataclass
class BuildConfig:
    """What to build; mirrors the command-line options."""

    sources: Sequence[str | tuple[str, str]]  # a directory, or (directory, sub-path in out)
    out: str
    exclude: Sequence[str] = ()
    codecs: Sequence[str] | None = None  # None: every installed codec
    strict: bool = False
    prune: bool = False
    dry_run: bool = False
    django_manifest: bool = False
    jobs: int = 0  # 0: one per core
    importmap: Mapping[str, str] = field(default_factory=dict)  # bare name -> module path
    dictionaries: int = 0  # earlier versions of each JS/CSS/WASM asset to make deltas against
    follow_symlinks: bool = False  # follow symlinks out of the sources too
    # With prune: keep what the last *keep* earlier builds made or used (pages still open).
    keep: int = 0
    # A directory carried from deploy to deploy (a build cache): earlier builds' outputs
    # come back from it into a fresh output directory, and this build's go into it.
    history: str | None = None
    # The files themselves, by logical name, instead of a walk of the sources: each lies in
    # one of the sources, which may be the output itself (a build in place, as collectstatic
    # makes one of STATIC_ROOT). The collected copies are the plain names.
    collected: Mapping[str, str] | None = None
    # No variants for the plain names (the integration removes them after the build).
    hashed_only: bool = False
    # File extensions (without the dot) never precompressed.
    skip_compress: Sequence[str] = ()
    # The URL path the output is served at (Django's STATIC_URL path, "/static/"): a
    # stylesheet's root-absolute url() below it names a file of the build, as in Django.
    url_prefix: str | None = None


@dataclass
class CodecStats:
    files: int = 0
    before: int = 0
    after: int = 0


@dataclass
class Report:
    """What a build did (or, with ``dry_run``, would do)."""

    dry_run: bool = False
    files: int = 0
    written: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    clashes: list[tuple[str, str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    codecs: dict[str, CodecStats] = field(default_factory=dict)
    seconds: float = 0.0
    # Earlier outputs brought back from the history into the output.
    restored: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "dry_run": self.dry_run,
            "files": self.files,
            "written": sorted(self.written),
            "unchanged": self.unchanged,
            "removed": sorted(self.removed),
            "clashes": [{"name": n, "kept": k, "ignored": i} for n, k, i in self.clashes],
            "warnings": self.warnings,
            "errors": self.errors,
            "codecs": {k: vars(v) for k, v in self.codecs.items()},
            "restored": self.restored,
            "seconds": round(self.seconds, 3),
        }


def hashed_name(name: str, digest: str) -> str:
    """``css/app.css`` -> ``css/app.<first 12 hex>.css`` (Django's naming)."""
    head, tail = posixpath.split(name)
    stem, ext = posixpath.splitext(tail)
    if not stem:  # ".htaccess"-like names have no extension to keep
        stem, ext = tail, ""
    return posixpath.join(head, f"{stem}.{digest[:HASH_LENGTH]}{ext}")


def _excluded(relative: str, patterns: Sequence[str]) -> bool:
    base = posixpath.basename(relative)
    return any(fnmatch.fnmatchcase(relative, p) or fnmatch.fnmatchcase(base, p) for p in patterns)


def split_source(source: str | tuple[str, str]) -> tuple[str, str]:
    """``"dir"`` or ``("dir", "sub/path")`` (or ``"dir=sub/path"``) -> (directory, sub-path)."""
    if isinstance(source, tuple):
        directory, under = source
    else:
        directory, _, under = source.partition("=")
    under = under.strip("/")
    if any(part in ("", ".", "..") or part.startswith(".") for part in under.split("/") if under):
        raise BuildError(f"sub-path {under!r} of source {directory!r} must be plain names")
    return directory, under


def unservable(name: str) -> str | None:
    """Why the server would never serve *name* (``a/b.css``) or its hashed copy and
    variants, or ``None``: the request path rules, applied at build time."""
    split = split_request_path(name, serve_hidden=False)
    if split is None or split[1]:
        return "a name the server refuses (see Path safety in the README)"
    # The longest name the build derives: the hashed copy's delta file.
    longest = dictionaries.delta_name(hashed_name(split[0][-1], "0" * 64), "0" * 64)
    if len(longest) > MAX_SEGMENT_CHARS:
        return f"too long once hashed (at most {MAX_SEGMENT_CHARS} characters a segment)"
    return None


class _Collector:
    """Walks one source for :func:`collect`: what may be built, and a warning for the rest."""

    def __init__(self, root: str, report: Report, follow_symlinks: bool, strict: bool):
        self.root = root
        self.report = report
        self.follow_symlinks = follow_symlinks
        self.strict = strict
        self.visited: set[str] = set()

    def skip(self, path: str, why: str, error: bool = False) -> None:
        (self.report.errors if error else self.report.warnings).append(f"{path}: skipped; {why}")

    def directories(self, directory: str, names: list[str]) -> list[str]:
        """The subdirectories to walk into: no dotted ones, and links only when followed."""
        kept = []
        for name in sorted(names):
            path = os.path.join(directory, name)
            if name.startswith("."):
                continue
            if os.path.islink(path) and not self.follow_symlinks:
                self.skip(path, "a symlinked directory (--follow-symlinks follows it)")
                continue
            kept.append(name)
        return kept

    def entered(self, directory: str) -> bool:
        """Whether *directory* is new to the walk (a followed link may lead back)."""
        real = os.path.realpath(directory)
        if real in self.visited:
            self.skip(directory, "already collected (a symlink loop or a second link to it)")
            return False
        self.visited.add(real)
        return True

    def file(self, path: str, relative: str) -> bool:
        """Whether the file *path*, named *relative* in the output, may be built."""
        if os.path.islink(path) and not self.follow_symlinks:
            target = os.path.realpath(path)
            inside = is_within(target, self.root) and not any(
                part.startswith(".") for part in os.path.relpath(target, self.root).split(os.sep)
            )
            if not inside:
                self.skip(path, "a symlink to outside the source (--follow-symlinks follows it)")
                return False
        problem = unservable(relative)
        if problem is not None:
            self.skip(path, problem, error=self.strict)
            return False
        return True


def collect(
    sources: Sequence[str | tuple[str, str]],
    exclude: Sequence[str],
    report: Report,
    follow_symlinks: bool = False,
    strict: bool = False,
) -> dict[str, str]:
    """Logical name -> source file, first source winning; dotfiles and exclusions skipped.

    A source given with a sub-path is collected below that path in the output
    (which never overlaps a source: the build refuses that before it starts). As
    when serving, a symlink is followed only while it stays inside the source, unless
    *follow_symlinks*; a name the server would refuse is not built. Each skipped
    entry is reported once (an error under *strict* for names).
    """
    found: dict[str, str] = {}
    for entry in sources:
        source, under = split_source(entry)
        root = os.path.realpath(source)
        if not os.path.isdir(root):
            raise BuildError(f"source {source!r} {not_a_directory(root)}")
        walker = _Collector(root, report, follow_symlinks, strict)
        for directory, dirnames, filenames in os.walk(root, followlinks=follow_symlinks):
            if follow_symlinks and not walker.entered(directory):
                dirnames[:] = []
                continue
            dirnames[:] = walker.directories(directory, dirnames)
            relative_dir = os.path.relpath(directory, root).replace(os.sep, "/")
            for filename in sorted(filenames):
                if filename.startswith(".") or filename.endswith(TMP_SUFFIX):
                    continue
                relative = filename if relative_dir == "." else f"{relative_dir}/{filename}"
                if _excluded(relative, exclude):
                    continue
                if under:
                    relative = f"{under}/{relative}"
                path = os.path.join(directory, filename)
                if not walker.file(path, relative):
                    continue
                if relative in found:
                    report.clashes.append((relative, found[relative], path))
                    continue
                found[relative] = path
    return _without_sidecars(found)


def _without_sidecars(found: dict[str, str]) -> dict[str, str]:
    """*found* less the precompressed siblings of its files: the build makes them again."""
    for name in list(found):
        original = sidecar_original(name)
        if original is not None and original in found:
            del found[name]
    return dict(sorted(found.items()))


def collect_named(named: Mapping[str, str], report: Report, strict: bool) -> dict[str, str]:
    """The files an integration collected (logical name -> path), under the walk's name
    rules: a name the server would refuse is skipped with a warning (an error under
    *strict*); precompressed siblings are made again, not taken."""
    found: dict[str, str] = {}
    for name, path in named.items():
        problem = unservable(name)
        if problem is not None:
            (report.errors if strict else report.warnings).append(f"{name}: skipped; {problem}")
            continue
        found[name] = path
    return _without_sidecars(found)


def _order(deps: dict[str, list[str]], report: Report) -> tuple[list[str], set[tuple[str, str]]]:
    """Dependencies first; edges that close a cycle are returned to be left unrewritten."""
    order: list[str] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done
    cyclic: set[tuple[str, str]] = set()
    for start in deps:
        if state.get(start):
            continue
        stack: list[tuple[str, Iterable[str]]] = [(start, iter(deps[start]))]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            for child in children:
                if state.get(child) == 1:
                    cyclic.add((node, child))
                    report.warnings.append(
                        f"{node}: references {child}, which references it back; "
                        "left pointing at the unhashed name"
                    )
                elif not state.get(child):
                    state[child] = 1
                    stack.append((child, iter(deps.get(child, ()))))
                    break
            else:
                stack.pop()
                state[node] = 2
                order.append(node)
    return order, cyclic


@dataclass
class _File:
    name: str
    source: str
    size: int = 0
    source_hash: str = ""
    content: bytes | None = None  # rewritten content, for CSS/JS only
    digest: str = ""
    hashed: str = ""
    specifiers: list[jsscan.Specifier] = field(default_factory=list)  # modules only
    integrity: str = ""  # modules and stylesheets
    fonts: list[str] | None = None  # stylesheets only: the fonts named, as relative URLs


def _plan(
    collected: dict[str, str],
    report: Report,
    strict: bool,
    sources: Sources,
    url_prefix: str | None = None,
) -> dict[str, _File]:
    files = {name: _File(name, path) for name, path in collected.items()}
    unreadable: set[str] = set()
    raw: dict[str, bytes] = {}
    for item in files.values():
        try:
            fd = sources.open(item.source)
            item.size = os.fstat(fd).st_size
            if rewrite.is_rewritable(item.name):
                with open(fd, "rb", closefd=True) as handle:
                    raw[item.name] = handle.read()
                item.source_hash = hashlib.sha256(raw[item.name]).hexdigest()
                item.size = len(raw[item.name])
            else:
                item.source_hash = digest_of(fd)
                item.digest = item.source_hash
                item.hashed = hashed_name(item.name, item.digest)
        except OSError as exc:
            report.errors.append(f"{item.source}: cannot read: {exc.strerror or exc}")
            unreadable.add(item.name)
    for name, data in raw.items():
        if importmaps.is_module(name):
            files[name].specifiers = rewrite.module_specifiers(data)
    references = {
        name: rewrite.find_references(name, data, files[name].specifiers)
        for name, data in raw.items()
    }
    targets: dict[str, list[str | None]] = {}
    deps: dict[str, list[str]] = {}
    for name, refs in references.items():
        targets[name] = [rewrite.target_of(name, ref.url, url_prefix) for ref in refs]
        deps[name] = [t for t in targets[name] if t and t in raw and t != name]
    order, cyclic = _order(deps, report)
    # Every folder that holds a file of the build: ``new URL("./fonts/", import.meta.url)``
    # names one (pdf.js sets its font and wasm folders so), which has nothing to hash.
    folders = {folder for name in files for folder in _ancestors(name)}
    for name in order:
        item = files[name]
        refs = references[name]
        resolved = dict(zip((id(r) for r in refs), targets[name], strict=True))

        def replacement(
            ref: rewrite.Reference, name: str = name, resolved: Any = resolved
        ) -> str | None:
            target = resolved[id(ref)]
            if target is None or target in unreadable:
                return None  # not local, or already reported as unreadable
            if target not in files or not files[target].hashed:
                if target == name or (name, target) in cyclic or target in folders:
                    return None
                message = f"{files[name].source}:{ref.line}: {ref.url!r} not found"
                (report.errors if strict else report.warnings).append(message)
                return None
            return rewrite.replace_path(ref.url, posixpath.basename(files[target].hashed))

        content = rewrite.rewrite(raw[name], refs, replacement)
        # Unchanged by rewriting: the hashed copy is a plain copy.
        item.content = None if content == raw[name] else content
        item.digest = hashlib.sha256(content).hexdigest()
        item.hashed = hashed_name(name, item.digest)
        if importmaps.is_module(name):
            item.integrity = formats.sri(content)
        if name.lower().endswith(".css"):
            item.fonts = _fonts(item, [files.get(t or "") for t in targets[name]])
            item.integrity = formats.sri(content)
    return {name: item for name, item in files.items() if item.hashed}


def _ancestors(name: str) -> list[str]:
    """``a/b/c.js`` -> ``["a/b", "a"]``: the folders a name is in, below the top."""
    found = []
    head = posixpath.dirname(name)
    while head:
        found.append(head)
        head = posixpath.dirname(head)
    return found


def _fonts(item: _File, targets: list[_File | None]) -> list[str]:
    """The fonts a stylesheet names, as URLs relative to its hashed name: what early hints
    preload with it, recorded so that serving need not read the stylesheet."""
    here = posixpath.dirname(item.hashed) or "."
    found = [
        quote(posixpath.relpath(target.hashed, here))
        for target in targets
        if target is not None and target.hashed and is_font(target.hashed)
    ]
    return list(dict.fromkeys(found))


def _versions(out: Tree, previous: dict[str, Any], current: str, keep: int) -> list[str]:
    """The hashed names of an asset's last *keep* versions before *current*, newest first,
    among those still in the output."""
    found: list[str] = []
    older = previous.get("versions", [])
    for name in [previous.get("hashed"), *(older if isinstance(older, list) else ())]:
        fresh = isinstance(name, str) and name != current and name not in found
        if fresh and out.exists(name):
            found.append(name)
    return found[:keep]


def _kept_deltas(run: _Run, name: str, entry: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The deltas worth serving: smaller than every other coding of the file. The others
    are removed (a client offered one would only get more bytes)."""
    best = min([entry["size"], *entry["encodings"].values()])
    kept: dict[str, dict[str, Any]] = {}
    for dictionary_hash, key in run.deltas[name].items():
        size = run.sizes.get(key)
        if size is not None and size < best:
            kept[dictionary_hash] = {"file": key, "size": size}
            _stats(run.report, dictionaries.DCZ, entry["size"], size)
        elif size is not None:
            if key in run.report.written:
                run.report.written.remove(key)
            if not run.config.dry_run:
                with contextlib.suppress(OSError):
                    run.tree.unlink(key)
    return kept


def _written_names(config: BuildConfig) -> list[str]:
    """The files the build writes at the top of its output, besides the assets."""
    names = [formats.MANIFEST_NAME, importmaps.IMPORTMAP_NAME]
    return [*names, formats.DJANGO_MANIFEST_NAME] if config.django_manifest else names


def _import_map(
    files: dict[str, _File], declared: Mapping[str, str], report: Report, strict: bool
) -> importmaps.ImportMap | None:
    """The record of the build's modules and their static imports; ``None`` without modules."""

    def resolve(target: str) -> str | None:
        return target if target in files and importmaps.is_module(target) else None

    sources = (
        modulegraph.Source(name, item.hashed, item.integrity, name, item.specifiers)
        for name, item in files.items()
        if importmaps.is_module(name)
    )
    record, errors, warnings = modulegraph.assemble(
        sources, declared, resolve, strict, where=lambda name: files[name].source
    )
    report.errors += errors
    report.warnings += warnings
    return record


def _same_file(out: Tree, name: str, size: int, digest: str | None) -> bool:
    if out.size(name) != size:
        return False
    return digest is None or out.digest(name) == digest


def _remove_variants(out: Tree, name: str) -> None:
    """Delete the precompressed variants beside *name* (those the server would pick up)."""
    for suffix in ALL_SIDECAR_SUFFIXES:
        with contextlib.suppress(FileNotFoundError):
            out.unlink(name + suffix)


class Sources:
    """Opens the collected source files by descriptor, under the rule the walk applied: a
    symlink is followed only while it stays inside a source (unless ``--follow-symlinks``),
    at the moment of the open, so a directory swapped for a link mid-build lets no byte of
    outside in."""

    def __init__(self, sources: Sequence[str | tuple[str, str]], follow_symlinks: bool):
        self.roots = [os.path.realpath(split_source(entry)[0]) for entry in sources]
        self.follow_symlinks = follow_symlinks
        self.resolver = Resolver(self.roots, follow_symlinks=False, serve_hidden=False)

    def open(self, path: str) -> int:
        """A read-only descriptor of the regular file at *path*, as collected."""
        if self.follow_symlinks:  # the symlink rule is off: the path as it is
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                os.close(fd)
                raise OSError(errno.EINVAL, "not a regular file")
            return fd
        for root in self.roots:
            if path.startswith(root + os.sep):
                opened = self.resolver.open(root, os.path.relpath(path, root).split(os.sep))
                if opened is not None and not opened.is_dir:
                    taken: int = opened.fd
                    opened.fd = -1  # this descriptor is the caller's now
                    return taken
                if opened is not None:
                    opened.close()
                break
        raise OSError(errno.ENOENT, "no longer a file inside its source (moved, or a link out)")

    def read(self, path: str) -> bytes:
        with open(self.open(path), "rb", closefd=True) as handle:
            return handle.read()


def resolve_codecs(requested: Sequence[str] | None, report: Report) -> list[str]:
    """Codecs to use: the requested ones (each must be installed) or all installed ones."""
    if requested is None:
        codecs = compress.available()
        for missing in sorted(set(compress.ALL_CODECS) - set(codecs)):
            report.warnings.append(
                f"{missing} variants skipped: install the '{compress.EXTRAS[missing]}' extra"
            )
        return codecs
    for codec in requested:
        compress.compressor(codec)  # raises CodecUnavailable or ValueError
    return list(dict.fromkeys(requested))


def _check_output(config: BuildConfig) -> str:
    """The output's absolute path; refused when it overlaps a source or cannot be written."""
    if not config.sources:
        raise BuildError("no source directories given")
    out = os.path.abspath(config.out)
    out_real = os.path.realpath(out)
    # Files named one by one are the collected copies; the outputs are never taken for them.
    overlap_allowed = config.collected is not None
    for given in config.sources:
        source, _ = split_source(given)
        real = os.path.realpath(source)
        if not os.path.isdir(source):
            raise BuildError(f"source {source!r} {not_a_directory(real)}")
        if overlap_allowed:
            continue
        if out_real == real:
            relation = "is"
        elif is_within(out_real, real):
            relation = "is inside"
        elif is_within(real, out_real):
            relation = "contains"
        else:
            continue
        raise BuildError(
            f"output {config.out!r} {relation} source {source!r}: "
            "choose an output directory outside every source"
        )
    if os.path.exists(out) and not os.path.isdir(out):
        raise BuildError(f"output {config.out!r} {not_a_directory(out_real)}")
    if not isinstance(config.keep, int) or config.keep < 0:
        raise BuildError(f"keep must be a whole number of builds, 0 or more, got {config.keep!r}")
    if config.history is not None:
        history = os.path.realpath(config.history)
        if history == out_real or is_within(history, out_real) or is_within(out_real, history):
            raise BuildError(
                f"history {config.history!r} overlaps output {config.out!r}: "
                "it would be served, or hold the output; choose a directory beside it"
            )
    if not config.dry_run:
        try:
            os.makedirs(out, exist_ok=True)
        except OSError as exc:
            raise OutputError(
                f"cannot create output {config.out!r}: {exc.strerror or exc}"
            ) from None
        if not os.access(out, os.W_OK | os.X_OK):
            raise OutputError(f"cannot write to output {config.out!r}: permission denied")
    return out


def _earlier_outputs(record: formats.BuildRecord) -> set[str]:
    """Every output the builds behind *record* made: each entry's names and their variants,
    its kept versions and deltas, and what they retained without ``--prune``."""
    outputs: set[str] = set(record.retained)
    for name, entry in record.files.items():
        for base in (name, entry.get("hashed", "")):
            if isinstance(base, str) and base:
                outputs.add(base)
                outputs.update(base + suffix for suffix in ALL_SIDECAR_SUFFIXES)
        outputs.update(v for v in entry.get("versions", ()) if isinstance(v, str))
        made = entry.get("deltas", {})
        if isinstance(made, dict):
            outputs.update(d["file"] for d in made.values() if isinstance(d, dict) and "file" in d)
    return outputs


class _Scheduled(NamedTuple):
    """A variant the build wants: its output name, the work, and whether that name carries
    the content's hash (so an existing file under it is already right)."""

    key: str
    task: workers.Task
    content_addressed: bool


@dataclass
class _Run:
    """One build under way: what it was asked, what the last build left, what it has made."""

    config: BuildConfig
    report: Report
    out: str
    codecs: list[str]
    before: formats.BuildRecord
    sources: Sources
    number: int = 1  # builds into this output, counted
    files: dict[str, _File] = field(default_factory=dict)
    outputs: set[str] = field(default_factory=set)
    sizes: dict[str, int | None] = field(default_factory=dict)  # variant sizes by output name
    # With --dictionaries: each asset's earlier versions kept, and its delta files by the
    # dictionary's SHA-256 (hex).
    versions: dict[str, list[str]] = field(default_factory=dict)
    deltas: dict[str, dict[str, str]] = field(default_factory=dict)
    # The output, reached through directory descriptors, held for the run.
    tree: Tree = field(init=False)
    # What shapes the outputs besides the sources (see fingerprint()).
    fingerprint: str = ""
    # The outputs the history brought back for this build, each checked by content against
    # the record it came with: by name, the SHA-256 of the content each holds.
    restored: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.tree = Tree(self.out)

    def note(self, key: str, changed: bool) -> None:
        """An output this build keeps, written now or already right."""
        self.outputs.add(key)
        if changed:
            self.report.written.append(key)
        else:
            self.report.unchanged += 1

    def in_place(self, item: _File) -> bool:
        """Whether *item*'s source is its own plain name in the output (a build in place)."""
        if self.config.collected is None:
            return False
        plain = os.path.join(self.out, *item.name.split("/"))
        # The usual case, the very path collectstatic wrote, is decided without resolving.
        return plain == item.source or os.path.realpath(plain) == os.path.realpath(item.source)

    def previous(self, name: str) -> dict[str, Any]:
        """The last build's entry for *name*, or an empty one."""
        return self.before.files.get(name, {})

    def task(
        self,
        key: str,
        codec: str,
        source: str | bytes,
        dry_source: str | bytes,
        size: int,
        **extra: Any,
    ) -> workers.Task:
        """Work that writes output *key* from output *source* (*size* bytes); a dry run
        compresses *dry_source* (the source file's path, or rewritten content) in memory
        and writes nothing."""
        weight = workers.weight(codec, size)
        if self.config.dry_run:
            data = self.sources.read(dry_source) if isinstance(dry_source, str) else dry_source
            return workers.Task(codec, data, (), root=self.out, weight=weight, **extra)
        return workers.Task(codec, source, (key,), root=self.out, weight=weight, **extra)


def build(config: BuildConfig, progress: Progress | None = None) -> Report:
    """Run the build described by *config*; errors are collected in the report.

    When a source cannot be read, or ``strict`` finds a missing reference, nothing
    is written. A dry run computes everything (compression included, in memory)
    and reports exactly what the real build would write and remove.
    """
    started = time.perf_counter()
    report = Report(dry_run=config.dry_run)
    run = _start(config, report)
    declared = importmaps.check_declared(config.importmap)
    if config.collected is not None:
        collected = collect_named(config.collected, report, config.strict)
    else:
        collected = collect(
            config.sources, config.exclude, report, config.follow_symlinks, config.strict
        )
    for reserved in _written_names(config):
        if reserved in collected:
            report.warnings.append(
                f"{collected.pop(reserved)}: skipped; the build writes its own {reserved!r}"
            )
    run.fingerprint = fingerprint(config, run.codecs, declared)
    reused = _unchanged(run, collected)
    if reused is not None:
        run.files, modules = reused
    else:
        run.files = _plan(
            collected,
            report,
            config.strict,
            run.sources,
            config.url_prefix,
        )
        modules = _import_map(run.files, declared, report, config.strict)
    report.files = len(run.files)
    if report.errors:
        report.warnings.append("nothing written because of errors")
    else:
        try:
            _write(run, modules, progress)
        except OSError as exc:
            # The output changed under the build, or cannot be written: stopped as a
            # killed build stops, and the next one repairs what this one left.
            where = f" ({exc.filename})" if exc.filename else ""
            report.errors.append(f"{config.out}: cannot write{where}: {exc.strerror or exc}")
            report.warnings.append("stopped; the next build repairs the output")
    run.tree.close()
    report.seconds = time.perf_counter() - started
    return report


# Bumped whenever the same sources and settings would make other outputs than before.
RULES = 1


def fingerprint(config: BuildConfig, codecs: Sequence[str], declared: Mapping[str, str]) -> str:
    """What shapes the outputs besides the sources' bytes and names, as a digest recorded in
    ``staticmw.json``: a build that finds the same, over the very same sources, may take its
    plan from the record instead of rewriting every file again."""
    shaping = {
        "rules": RULES,
        "codecs": sorted(codecs),
        "importmap": sorted(declared.items()),
        "dictionaries": config.dictionaries,
        "strict": config.strict,
        "hashed_only": config.hashed_only,
        "skip_compress": sorted(config.skip_compress),
        "url_prefix": config.url_prefix,
        "follow_symlinks": config.follow_symlinks,
    }
    return hashlib.sha256(repr(shaping).encode()).hexdigest()


def _unchanged(
    run: _Run, collected: dict[str, str]
) -> tuple[dict[str, _File], importmaps.ImportMap | None] | None:
    """The last build's plan, when it was made from the same settings and the very same
    sources (every one hashed again now) and its outputs are still there, checked by hash;
    ``None`` sends the build the long way."""
    before = run.before
    if (
        run.config.dry_run
        or before.settings != run.fingerprint
        or set(before.files) != set(collected)
    ):
        return None
    modules = None
    if any(importmaps.is_module(name) for name in collected):
        if before.importmap is None:
            return None
        try:
            mapped = run.tree.read(importmaps.IMPORTMAP_NAME)
            if (hashlib.sha256(mapped).hexdigest(), len(mapped)) != before.importmap:
                return None
            # The very bytes checked against the record, not the file read again by name.
            modules = importmaps.ImportMap.parse(json.loads(mapped))
        except (OSError, ValueError, RecursionError, importmaps.ImportMapError):
            return None
    files: dict[str, _File] = {}
    try:
        for name, path in collected.items():
            entry = before.files[name]
            item = _File(name, path)
            fd = run.sources.open(path)
            item.size = os.fstat(fd).st_size
            item.source_hash = digest_of(fd)
            hashed, digest = entry.get("hashed"), entry.get("hash")
            if item.source_hash != entry.get("source_hash") or not isinstance(hashed, str):
                return None
            if not isinstance(digest, str) or split_request_path(hashed) is None:
                return None
            item.hashed, item.digest = hashed, digest
            if "source_size" in entry:  # rewritten: the hashed output holds the new bytes
                item.content = run.tree.read(hashed)
                if hashlib.sha256(item.content).hexdigest() != digest:
                    return None
            elif digest != item.source_hash:
                return None
            fonts = entry.get("fonts")
            if isinstance(fonts, list) and all(isinstance(font, str) for font in fonts):
                item.fonts = fonts
            integrity = entry.get("integrity")
            item.integrity = integrity if isinstance(integrity, str) else ""
            files[name] = item
    except OSError:
        return None
    return files, modules


def _write(run: _Run, modules: importmaps.ImportMap | None, progress: Progress | None) -> None:
    """Write the outputs, their variants and deltas, then the manifests; prune and save
    the history as asked."""
    report = run.report
    copied = _copy(run, progress)
    _compress(run, _schedule(run, copied), progress)
    entries = {item.name: _entry(run, item) for item in run.files.values()}
    if entries == run.before.files and run.before.number:
        run.number = run.before.number  # the same build again: not a new one to keep
    earlier = _clear_stale(run)
    if report.errors:
        report.warnings.append("manifest not written because of errors")
        return
    # The new manifest first, with the earlier outputs still on disk recorded: a build
    # killed from here on leaves every listed name servable, and the next build still
    # knows what to prune.
    _write_manifests(run, entries, earlier, modules)
    if run.config.prune:
        kept = _prune(run, earlier)
        if kept != earlier:
            _write_manifests(run, entries, kept, modules)
            earlier = kept
    if run.config.history and not run.config.dry_run and not report.errors:
        history.save(run.config.history, run.out, *_history_names(run, earlier))


def _prune(run: _Run, earlier: dict[str, int]) -> dict[str, int]:
    """Remove the earlier outputs that none of the last ``keep`` builds made or used; those
    still on disk after, by the last build that did."""
    oldest = run.number - run.config.keep
    gone = {key for key, last in earlier.items() if last < oldest}
    failed = _remove(run, gone)
    return {key: last for key, last in earlier.items() if key not in gone or key in failed}


def _history_names(run: _Run, earlier: dict[str, int]) -> tuple[set[str], set[str]]:
    """What a fresh output directory needs from this build for pages open on it or on the
    ones kept: every output but the plain names, which the next build makes again. The
    variants of a rewritten file's plain name stay (vouched for by its source's hash): they
    would otherwise be compressed again; the others are copies of the hashed name's.

    Also those of them that can hold other bytes under the same name (the import map, those
    plain-name variants), for the history to carry again every time."""
    plain = {item.name for item in run.files.values()}
    rewritten = {item.name for item in run.files.values() if item.content is not None}
    plain |= {name + suffix for name in plain - rewritten for suffix in ALL_SIDECAR_SUFFIXES}
    names = (run.outputs - plain) | set(earlier)
    changing = {importmaps.IMPORTMAP_NAME}
    changing |= {name + suffix for name in rewritten for suffix in ALL_SIDECAR_SUFFIXES}
    return names, changing & names


def _start(config: BuildConfig, report: Report) -> _Run:
    """Check the output and the codecs, clear a killed build's leftovers, read the last
    build's record."""
    out = _check_output(config)
    codecs = resolve_codecs(config.codecs, report)
    if config.dictionaries:
        compress.compressor("zstd")  # deltas are zstd: CodecUnavailable names the extra
    if config.keep and not config.prune:
        report.warnings.append(
            f"keep={config.keep} has no effect without prune: nothing is removed, so every "
            "earlier output stays (add --prune to remove what is older)"
        )
    if not config.dry_run:
        Tree(out).remove_leftovers()
    record = os.path.join(out, formats.MANIFEST_NAME)
    restored: dict[str, str] = {}
    try:
        if config.history and not config.dry_run:
            restored = history.restore(config.history, out)
            report.restored = len(restored)  # the expected path: a summary line, no warning
        before = formats.read_build_record(record)
    except formats.ManifestError as exc:
        raise OutputError(f"a build record cannot be trusted: {exc}") from None
    sources = Sources(config.sources, config.follow_symlinks)
    run = _Run(config, report, out, codecs, before, sources, number=before.number + 1)
    run.restored = restored
    return run


def _copy(run: _Run, progress: Progress | None) -> list[_File]:
    """Write each file under its own name and its hashed one, where not already right; the
    files copied, less those that could not be written (an error each)."""
    copied = []
    for done, item in enumerate(run.files.values(), 1):
        if progress:
            progress("copy", done, len(run.files))
        out = run.tree
        try:
            in_place = run.in_place(item)
            same_plain = in_place or _same_file(out, item.name, item.size, item.source_hash)
            changed = run.previous(item.name).get("source_hash") != item.source_hash
            if not run.config.dry_run and _variants_may_be_stale(
                run, item, in_place, same_plain, changed
            ):
                # The variants of other bytes go first: at no moment, even if the build dies
                # here, does the plain name have codings of another version.
                _remove_variants(out, item.name)
            elif in_place and not run.config.dry_run:
                _date_restored(run, item.name)
            if not same_plain and not run.config.dry_run:
                _copy_source(run, item, item.name)
            run.note(item.name, not same_plain)
            size = len(item.content) if item.content is not None else item.size
            same_hashed = _same_file(out, item.hashed, size, None)  # the name carries the hash
            if not same_hashed and not run.config.dry_run:
                if item.content is not None:
                    out.write(item.hashed, item.content)
                else:
                    _copy_source(run, item, item.hashed)
            run.note(item.hashed, not same_hashed)
        except OSError as exc:
            run.report.errors.append(f"{item.name}: cannot write: {exc}")
            continue
        copied.append(item)
    return copied


def _variants_may_be_stale(
    run: _Run, item: _File, in_place: bool, same_plain: bool, changed: bool
) -> bool:
    """Whether the variants beside *item*'s plain name may be of other bytes than its source.

    A build killed after writing some variants leaves the record of the build before it,
    so the record alone proves nothing about variants beside a plain name that other bytes
    reached. Those kept: beside a plain name that is not there yet (a fresh output, the
    history's variants checked against this very source), and, in place, variants the
    history brought back for this build or written after the copy collectstatic made, of the
    source the record names. A variant the history brought back for other bytes is stale."""
    name = item.name
    if changed:
        return True
    restored = (run.restored.get(name + suffix) for suffix in ALL_SIDECAR_SUFFIXES)
    if any(digest not in (None, item.source_hash) for digest in restored):
        return True
    if in_place:
        try:
            plain = os.stat(os.path.join(run.out, *name.split("/"))).st_mtime_ns
        except OSError:
            return True
        for suffix in ALL_SIDECAR_SUFFIXES:
            if name + suffix in run.restored:
                continue
            try:
                made = run.tree.lstat(name + suffix).st_mtime_ns
            except FileNotFoundError:
                continue
            if made < plain:
                return True
        return False
    return not same_plain and run.tree.exists(name)


def _date_restored(run: _Run, name: str) -> None:
    """The variants the history brought back beside the plain *name*, checked to be of its
    source, dated now: after collectstatic's copy, as a variant written by this build
    is, so that the next build keeps them too rather than compress them again."""
    for suffix in ALL_SIDECAR_SUFFIXES:
        if name + suffix in run.restored:
            directory, base = run.tree.place(name + suffix)
            os.utime(base, dir_fd=directory, follow_symlinks=False)


def _copy_source(run: _Run, item: _File, key: str) -> None:
    """The source file, as opened now, written as output *key*."""
    fd = run.sources.open(item.source)
    try:
        run.tree.copy_in(fd, key)
    finally:
        os.close(fd)


def _schedule(run: _Run, items: list[_File]) -> list[_Scheduled]:
    """The variants and deltas to make, less those the last build found not worth keeping
    for the very same bytes."""
    media = MediaTypes()
    skip = tuple("." + extension.lower().lstrip(".") for extension in run.config.skip_compress)
    scheduled: list[_Scheduled] = []
    for item in items:
        previous = run.previous(item.name)
        hashed_bytes = item.content if item.content is not None else item.source
        hashed_size = len(item.content) if item.content is not None else item.size
        if run.config.dictionaries and dictionaries.wanted(item.name):
            scheduled += _schedule_deltas(run, item, previous, hashed_bytes, hashed_size)
        if not run.codecs or not worth_compressing(media.bare_type(item.name)):
            continue
        if item.name.lower().endswith(skip):
            continue
        hashed, plain = item.hashed, item.name
        for codec in run.codecs:
            suffix = WRITTEN_SUFFIX[codec]
            # Tried on these very bytes last time and not worth keeping: skip.
            tried = codec in run.before.codecs
            useless = tried and previous.get("hash") == item.digest
            if not (useless and codec not in previous.get("encodings", {})):
                key = item.hashed + suffix
                task = run.task(key, codec, hashed, hashed_bytes, hashed_size)
                scheduled.append(_Scheduled(key, task, True))
            if item.content is not None and not run.config.hashed_only:
                # The unhashed copy of a rewritten file has other bytes: its own
                # variant, redone only when the source changed.
                same_source = tried and previous.get("source_hash") == item.source_hash
                kept = codec in previous.get("source_encodings", {})
                if not (same_source and (not kept or run.tree.exists(plain + suffix))):
                    key = item.name + suffix
                    # collectstatic --link leaves the plain name a link: read the source.
                    linked = run.in_place(item) and not run.tree.exists(plain)
                    source = run.sources.read(item.source) if linked else plain
                    task = run.task(key, codec, source, item.source, item.size)
                    scheduled.append(_Scheduled(key, task, False))
    return scheduled


def _schedule_deltas(
    run: _Run, item: _File, previous: dict[str, Any], hashed_bytes: str | bytes, size: int
) -> list[_Scheduled]:
    """A delta of the hashed file against each earlier version still kept."""
    versions = _versions(run.tree, previous, item.hashed, run.config.dictionaries)
    run.versions[item.name] = versions
    made = run.deltas[item.name] = {}
    scheduled = []
    for version in versions:
        dictionary_hash = run.tree.digest(version)
        key = dictionaries.delta_name(item.hashed, dictionary_hash)
        made[dictionary_hash] = key
        task = run.task(key, dictionaries.DCZ, item.hashed, hashed_bytes, size, dictionary=version)
        scheduled.append(_Scheduled(key, task, True))
    return scheduled


def _compress(run: _Run, scheduled: list[_Scheduled], progress: Progress | None) -> None:
    """Make what is scheduled through the workers, recording each size by output name; a
    name that carries the hash and exists already is right as it is."""
    report = run.report
    pending: list[tuple[str, workers.Task]] = []
    for key, task, content_addressed in scheduled:
        size = run.tree.size(key) if content_addressed else None
        if size is not None:
            # Written atomically under a name that carries the hash: still right.
            run.sizes[key] = size
            report.unchanged += 1
        else:
            pending.append((key, task))

    def done(count: int, key: str, size: int | None, error: OSError | None) -> None:
        if error is not None:
            report.errors.append(f"{key}: cannot compress: {error}")
            return
        run.sizes[key] = size
        if size is not None:
            report.written.append(key)
        if progress:
            progress("compress", count, len(pending))

    workers.run(pending, run.config.jobs, done)


def _entry(run: _Run, item: _File) -> dict[str, Any]:
    """The manifest entry of one file, once its variants are made."""
    size = len(item.content) if item.content is not None else item.size
    encodings, original_encodings = _variant_sizes(run, item, size)
    entry: dict[str, Any] = {
        "hashed": item.hashed,
        "hash": item.digest,
        "size": size,
        "encodings": encodings,
        "source_hash": item.source_hash,
    }
    if item.content is not None:
        entry["source_size"] = item.size
        entry["source_encodings"] = original_encodings
    if item.fonts is not None:
        entry["fonts"] = item.fonts
        entry["integrity"] = item.integrity
    if item.name in run.versions:
        entry["dictionary"] = True
        entry["versions"] = run.versions[item.name]
        entry["deltas"] = _kept_deltas(run, item.name, entry)
        # The next build's dictionaries, with their variants: pages still on an old
        # version get it compressed.
        for version in run.versions[item.name]:
            run.outputs.add(version)
            run.outputs.update(
                version + suffix
                for suffix in ALL_SIDECAR_SUFFIXES
                if run.tree.exists(version + suffix)
            )
        run.outputs.update(d["file"] for d in entry["deltas"].values())
    return entry


def _variant_sizes(run: _Run, item: _File, size: int) -> tuple[dict[str, int], dict[str, int]]:
    """The sizes of the variants kept, of the hashed file and of a rewritten file's source.

    A file that was not rewritten has the same bytes under both names: the hashed
    name's variant is copied to the plain name."""
    encodings: dict[str, int] = {}
    original_encodings: dict[str, int] = {}
    for codec in run.codecs:
        suffix = WRITTEN_SUFFIX[codec]
        hashed_key, plain_key = item.hashed + suffix, item.name + suffix
        variant_size = run.sizes.get(hashed_key)
        if variant_size is not None:
            encodings[codec] = variant_size
            run.outputs.add(hashed_key)
            _stats(run.report, codec, size, variant_size)
        if run.config.hashed_only:
            continue
        if item.content is None:
            if variant_size is not None:
                if not run.config.dry_run:
                    run.note(plain_key, run.tree.write(plain_key, run.tree.read(hashed_key)))
                else:
                    run.note(plain_key, _mirror_would_change(run, codec, item, hashed_key))
            continue
        plain_size = run.sizes.get(plain_key)
        if plain_size is None and plain_key not in run.sizes:
            plain_size = run.tree.size(plain_key)
        if plain_size is not None:
            original_encodings[codec] = plain_size
            run.outputs.add(plain_key)
    return encodings, original_encodings


def _clear_stale(run: _Run) -> dict[str, int]:
    """Remove variants of this build's files that it did not make (they would be served
    stale); the outputs of earlier builds still on disk, for pages still open on them."""
    present = run.tree.files()  # one walk, where a stat per candidate was slow
    stale = set()
    for item in run.files.values():
        for base in (item.name, item.hashed):
            for suffix in ALL_SIDECAR_SUFFIXES:
                key = base + suffix
                if key not in run.outputs and key in present:
                    stale.add(key)
    kept = _remove(run, stale)
    for key in kept:
        run.report.errors.append(f"{key}: a stale variant that could not be removed")
    present -= stale - kept
    earlier = _earlier_outputs(run.before) - run.outputs
    # Each by the last build that made or used it: the one before, unless it kept it.
    last = run.before.kept
    return {key: last.get(key, run.before.number) for key in earlier & present}


def _remove(run: _Run, keys: set[str]) -> set[str]:
    """Delete outputs (a dry run only reports them); those that could not be removed."""
    failed = set()
    for key in sorted(keys):
        if not run.config.dry_run:
            try:
                run.tree.unlink(key)
            except FileNotFoundError:
                pass
            except OSError as exc:
                run.report.warnings.append(f"{key}: cannot remove: {exc}")
                failed.add(key)
                continue
        run.report.removed.append(key)
    return failed


# What an earlier version's entry keeps: enough to serve it as it was served.
_EARLIER_FIELDS = ("hash", "size", "encodings", "dictionary")


def _earlier_entries(run: _Run, kept: set[str]) -> list[dict[str, Any]]:
    """Entries, with their logical names, of the earlier hashed files still on disk (*kept*)."""
    known = dict(run.before.earlier)
    for name, entry in run.before.files.items():
        hashed = entry.get("hashed")
        if isinstance(hashed, str):
            fields = {k: entry[k] for k in _EARLIER_FIELDS if k in entry}
            known[hashed] = {**fields, "name": name, "hashed": hashed}
    current = {item.hashed for item in run.files.values()}
    return [known[h] for h in sorted(kept - current) if h in known]


def _write_manifests(
    run: _Run,
    entries: dict[str, Any],
    retained: dict[str, int],
    modules: importmaps.ImportMap | None,
) -> None:
    """``staticmw.json``, and Django's manifest and the import map when asked for."""
    kept = set(retained).union(*run.versions.values())
    earlier = _earlier_entries(run, kept)
    mapped = modulegraph.dump(modules) if modules is not None else None
    # The import map's content, vouched for by the record, comes back from a history too.
    vouched = (hashlib.sha256(mapped).hexdigest(), len(mapped)) if mapped is not None else None
    ours = formats.dump_ours(
        entries, run.codecs, retained, earlier, run.number, run.fingerprint, vouched
    )
    manifests = {formats.MANIFEST_NAME: ours}
    if run.config.django_manifest:
        names = {name: entry["hashed"] for name, entry in entries.items()}
        manifests[formats.DJANGO_MANIFEST_NAME] = formats.dump_django(names)
    if mapped is not None:
        manifests[importmaps.IMPORTMAP_NAME] = mapped
        run.outputs.add(importmaps.IMPORTMAP_NAME)
    for name, data in manifests.items():
        if run.config.dry_run:
            changed = not run.tree.holds(name, data)
        else:
            changed = run.tree.write(name, data)
        if changed and name not in run.report.written:
            run.report.written.append(name)


def _mirror_would_change(run: _Run, codec: str, item: _File, variant: str) -> bool:
    """Dry run: whether copying the hashed file's variant over the plain one would change it."""
    key = item.name + WRITTEN_SUFFIX[codec]
    if not run.tree.exists(key):
        return True
    if run.tree.exists(variant):
        return not run.tree.holds(key, run.tree.read(variant))
    return not run.tree.holds(key, compress.compressor(codec)(run.sources.read(item.source)))


def _stats(report: Report, codec: str, before: int, after: int) -> None:
    stats = report.codecs.setdefault(codec, CodecStats())
    stats.files += 1
    stats.before += before
    stats.after += after
