"""The build's module graph: which modules each JavaScript module imports statically, and
the import-map record (:mod:`staticmw.manifest.importmaps`) assembled from it, for
``staticmw build`` and the Django storage alike.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from ..manifest.importmaps import FORMAT_VERSION, ImportMap, ImportMapError, Module, check_declared
from .jsscan import Specifier
from .rewrite import is_bare, local_target

# Static imports load before the module runs; a dynamic import() is the module's choice.
STATIC_KINDS = frozenset({"import", "export", "side-effect"})
# Specifiers of modules loaded later, when the code runs.
LAZY_KINDS = frozenset({"dynamic", "url"})


@dataclass(frozen=True)
class Source:
    """One built module: its logical and hashed names, SRI integrity, and its specifiers
    as scanned from the file at *referrer* (relative ones resolve against it)."""

    logical: str
    hashed: str
    integrity: str
    referrer: str
    specifiers: Iterable[Specifier]


def assemble(
    sources: Iterable[Source],
    declared: Mapping[str, str],
    resolve: Callable[[str], str | None],
    strict: bool = False,
    where: Callable[[str], str] = str,
) -> tuple[ImportMap | None, list[str], list[str]]:
    """The import-map record of a build's modules, with its errors and warnings; ``None``
    when there are neither modules nor declared names. *resolve* gives the logical name of
    the module a relative specifier reaches (a path in the output), or ``None``; under
    *strict* a bare import no declared name maps is an error. *where* names a module's
    file in a message, as the build names every file it warns of."""
    modules: dict[str, Module] = {}
    bare_imports: dict[str, list[tuple[int, str]]] = {}
    for source in sources:
        specifiers = list(source.specifiers)
        imports, bare_imports[source.logical] = static_links(source.referrer, specifiers, resolve)
        lazy = lazy_links(source.referrer, specifiers, resolve)
        modules[source.logical] = Module(source.hashed, source.integrity, tuple(imports), lazy)
    if not modules and not declared:
        return None, [], []
    return link(modules, declared, bare_imports, strict, where)


def lazy_links(
    referrer: str, specifiers: Iterable[Specifier], resolve: Callable[[str], str | None]
) -> tuple[str, ...]:
    """The modules a module may load later: its relative dynamic imports and
    ``new URL(..., import.meta.url)`` targets that are modules of the build."""
    found: list[str] = []
    for specifier in specifiers:
        if specifier.kind in LAZY_KINDS and not is_bare(specifier.value):
            target = local_target(referrer, specifier.value)
            logical = resolve(target) if target else None
            if logical is not None:
                found.append(logical)
    return tuple(dict.fromkeys(found))


def static_links(
    referrer: str, specifiers: Iterable[Specifier], resolve: Callable[[str], str | None]
) -> tuple[list[str], list[tuple[int, str]]]:
    """What a module imports statically: the modules its relative specifiers name (each
    path passed through *resolve*, which gives a module's logical name or ``None``), and
    its bare names with their lines. Absolute URLs and dynamic imports are not followed.
    """
    modules: list[str] = []
    bare: list[tuple[int, str]] = []
    for specifier in specifiers:
        if specifier.kind not in STATIC_KINDS:
            continue
        if is_bare(specifier.value):
            bare.append((specifier.line, specifier.value))
            continue
        target = local_target(referrer, specifier.value)
        logical = resolve(target) if target else None
        if logical is not None:
            modules.append(logical)
    return modules, bare


def link(
    modules: Mapping[str, Module],
    declared: Mapping[str, str],
    bare_imports: Mapping[str, list[tuple[int, str]]],
    strict: bool = False,
    where: Callable[[str], str] = str,
) -> tuple[ImportMap, list[str], list[str]]:
    """The record for a build, with its errors and warnings.

    *bare_imports* are each module's static bare imports as (line, name): they
    become preloads when declared, and a warning when not (an error under *strict*),
    since the browser cannot load such a module without an import map naming it.
    """
    errors: list[str] = []
    warnings: list[str] = []
    bare: dict[str, str] = {}
    for name, target in declared.items():
        if name.endswith("/"):
            below = {k: k for k in modules if k.startswith(target)}
            if not below:
                errors.append(f"import map entry {name!r}: no module below {target!r}")
            bare.update({name + k[len(target) :]: k for k in below})
        elif target in modules:
            bare[name] = target
        else:
            errors.append(f"import map entry {name!r}: {target!r} is not a module of the build")
    linked = {}
    for logical, module in modules.items():
        extra = []
        for line, specifier in bare_imports.get(logical, ()):
            if specifier in bare:
                extra.append(bare[specifier])
            else:
                (errors if strict else warnings).append(
                    f"{where(logical)}:{line}: bare import {specifier!r} is not in the import map: "
                    "declare it (--importmap-entry, staticmw.toml's [importmap], or "
                    "STATICMW_IMPORTMAP), unless the page brings an import map of its own"
                )
        imports = tuple(dict.fromkeys((*module.imports, *extra)))
        linked[logical] = Module(module.hashed, module.integrity, imports, module.lazy)
    return ImportMap(linked, bare), errors, warnings


# -- writing the record, and the names declared for it --------------------------------


def dump(record: ImportMap) -> bytes:
    """``importmap.json``, serialised deterministically, so that an unchanged build
    rewrites nothing."""
    payload = {
        "version": FORMAT_VERSION,
        "bare": dict(sorted(record.bare.items())),
        "modules": {
            name: {
                "hashed": m.hashed,
                "integrity": m.integrity,
                "imports": list(m.imports),
                **({"lazy": list(m.lazy)} if m.lazy else {}),
            }
            for name, m in sorted(record.modules.items())
        },
    }
    return (json.dumps(payload, indent=2) + "\n").encode()


def parse_declarations(items: Iterable[str]) -> dict[str, str]:
    """``["chart=vendor/chart.js", ...]`` (the ``--importmap-entry`` option) -> a mapping."""
    declared = {}
    for item in items:
        name, equals, target = item.partition("=")
        if not equals:
            raise ImportMapError(f"--importmap-entry {item!r}: expected NAME=PATH")
        declared[name.strip()] = target.strip()
    return check_declared(declared)


def load_declarations(path: str) -> dict[str, str]:
    """The ``[importmap]`` table of a ``staticmw.toml``; empty when it has none."""
    import importlib

    try:
        toml = importlib.import_module("tomllib")  # Python 3.11 and later
    except ImportError:
        try:
            toml = importlib.import_module("tomli")
        except ImportError:
            raise ImportMapError(
                f"reading {path} needs Python 3.11, or `pip install tomli` before it"
            ) from None
    try:
        with open(path, "rb") as handle:
            data = toml.load(handle)
    except OSError as exc:
        raise ImportMapError(f"cannot read {path}: {exc.strerror or exc}") from None
    except toml.TOMLDecodeError as exc:
        raise ImportMapError(f"{path}: not valid TOML: {exc}") from None
    table = data.get("importmap", {})
    if not isinstance(table, dict):
        raise ImportMapError(f'{path}: [importmap] must be a table of name = "path"')
    return check_declared(table)
