"""Import maps for JavaScript modules: the build's record of them (``importmap.json``) and
the HTML that puts them on a page.

The record maps each module's logical name to its hashed name, with its SRI integrity
and the modules it imports statically, plus the bare names the project declares
(``"chart"`` -> ``vendor/chart.js``). It holds names, not URLs: the page's URLs depend
on the prefix and CDN host it is served under, so :meth:`ImportMap.render` makes them.
Serving reads and renders it; the build assembles it (:mod:`staticmw.build.modulegraph`).
"""

from __future__ import annotations

import html
import json
import os
import posixpath
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .formats import is_sri

IMPORTMAP_NAME = "importmap.json"
FORMAT_VERSION = 1
MODULE_EXTENSIONS = (".js", ".mjs")


class ImportMapError(ValueError):
    """A declared bare name that cannot be mapped, or an unreadable ``importmap.json``."""


def is_module(name: str) -> bool:
    """Whether a file is a JavaScript module the import map lists."""
    return name.lower().endswith(MODULE_EXTENSIONS)


def check_declared(declared: Mapping[str, str]) -> dict[str, str]:
    """Bare name -> logical path, checked: a clear :class:`ImportMapError` names a bad one.

    A name ending in ``/`` maps a folder (``"lodash/": "vendor/lodash/"``): every module
    below it gets its own entry, since each has its own hashed name.
    """
    checked = {}
    for name, target in declared.items():
        if not isinstance(name, str) or not name.strip() or name != name.strip():
            raise ImportMapError(f"import map name {name!r} must be non-empty text without spaces")
        if name.startswith(("./", "../", "/")):
            raise ImportMapError(
                f"import map name {name!r} is a relative or absolute path; "
                "relative imports are rewritten by the build and need no entry"
            )
        if not isinstance(target, str) or not target.strip("/"):
            raise ImportMapError(f"import map entry {name!r} needs a file path, got {target!r}")
        clean = posixpath.normpath(target.strip().lstrip("/"))
        if clean.startswith("..") or clean == ".":
            raise ImportMapError(f"import map entry {name!r}: {target!r} leaves the build")
        if name.endswith("/") != target.endswith("/"):
            raise ImportMapError(
                f"import map entry {name!r}: a name ending in '/' maps a folder ending in '/', "
                f"got {target!r}"
            )
        checked[name] = clean + "/" if name.endswith("/") else clean
    return checked


@dataclass(frozen=True)
class Module:
    """One module: its hashed name, SRI integrity ("" when unknown), static imports, and
    the modules it may load later (``import("./x.js")``, ``new URL("./w.js", import.meta.url)``)."""

    hashed: str
    integrity: str = ""
    imports: tuple[str, ...] = ()
    lazy: tuple[str, ...] = ()


@dataclass
class ImportMap:
    """Modules by logical name, and bare names by the logical name they stand for."""

    modules: dict[str, Module] = field(default_factory=dict)
    bare: dict[str, str] = field(default_factory=dict)

    # -- building ----------------------------------------------------------------------

    @classmethod
    def plain(cls, declared: Mapping[str, str]) -> ImportMap:
        """Bare names to unhashed files, for development where nothing is built."""
        return cls({t: Module(t) for t in declared.values() if not t.endswith("/")}, dict(declared))

    # -- reading -----------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ImportMap:
        try:
            with open(path, "rb") as handle:
                data = json.load(handle)
        except OSError as exc:
            raise ImportMapError(f"cannot read {os.fspath(path)}: {exc.strerror or exc}") from None
        except (ValueError, RecursionError) as exc:
            reason = "nested too deeply" if isinstance(exc, RecursionError) else exc
            raise ImportMapError(f"{os.fspath(path)} is not JSON: {reason}") from None
        return cls.parse(data, os.fspath(path))

    @classmethod
    def parse(cls, data: Any, where: str = IMPORTMAP_NAME) -> ImportMap:
        try:
            if data.get("version") != FORMAT_VERSION:
                raise ImportMapError(f"{where}: unknown version {data.get('version')!r}")
            modules = {
                str(name): Module(
                    str(entry["hashed"]),
                    str(entry.get("integrity", "")),
                    tuple(str(i) for i in entry.get("imports", ())),
                    tuple(str(i) for i in entry.get("lazy", ())),
                )
                for name, entry in data["modules"].items()
            }
            bare = {str(k): str(v) for k, v in data.get("bare", {}).items()}
        except (AttributeError, KeyError, TypeError) as exc:
            raise ImportMapError(f"{where}: not an import map record ({exc!r})") from None
        return cls(modules, bare)

    def merged(self, other: ImportMap) -> ImportMap:
        """This map with *other*'s names added where this one has none."""
        return ImportMap({**other.modules, **self.modules}, {**other.bare, **self.bare})

    # -- rendering ---------------------------------------------------------------------

    def reachable(self, entry: str | None) -> ImportMap:
        """This map cut down to what a page can load: *entry*, every declared bare name's
        module, and what those import, now or later, directly or not. A page's map then
        grows with its own modules, not with every module of the site (an admin's, say)."""
        starts = [*self.bare.values(), *([entry.lstrip("/")] if entry else [])]
        keep = set()
        queue = [name for name in starts if name in self.modules]
        while queue:
            name = queue.pop()
            if name in keep:
                continue
            keep.add(name)
            module = self.modules[name]
            queue.extend(i for i in (*module.imports, *module.lazy) if i in self.modules)
        modules = {name: module for name, module in self.modules.items() if name in keep}
        return ImportMap(modules, self.bare)

    def below(self, directory: str) -> ImportMap:
        """The modules under *directory*, named relative to it (as a root mounted there
        names them); what they import from elsewhere is left out, as is a bare name for a
        module elsewhere. All of it for the top, ``""``."""
        if not directory.strip("/"):
            return self
        head = directory.strip("/") + "/"

        def inside(names: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(name[len(head) :] for name in names if name.startswith(head))

        modules = {
            name[len(head) :]: Module(
                module.hashed[len(head) :],
                module.integrity,
                inside(module.imports),
                inside(module.lazy),
            )
            for name, module in self.modules.items()
            if name.startswith(head) and module.hashed.startswith(head)
        }
        bare = {k: v[len(head) :] for k, v in self.bare.items() if v.startswith(head)}
        return ImportMap(modules, bare)

    def preloads(self, entry: str) -> list[str]:
        """The modules *entry* imports statically, directly or not, nearest first."""
        seen = {entry}
        order: list[str] = []
        queue = [entry]
        while queue:
            module = self.modules.get(queue.pop(0))
            for name in module.imports if module else ():
                if name not in seen and name in self.modules:
                    seen.add(name)
                    order.append(name)
                    queue.append(name)
        return order

    def browser_map(self, url: Callable[[str], str], with_integrity: bool = True) -> dict[str, Any]:
        """The import map a browser reads, with *url* turning a name into a URL.

        Every module's plain URL maps to its hashed one, so that ``import
        "/static/js/app.js"`` (and an import left unrewritten in a cycle) gets the
        current file; each bare name maps to its module's hashed URL.
        """
        imports: dict[str, str] = {}
        for name, target in sorted(self.bare.items()):
            module = self.modules.get(target)
            imports[name] = url(module.hashed if module else target)
        integrities: dict[str, str] = {}
        for logical, module in sorted(self.modules.items()):
            hashed = url(module.hashed)
            if module.hashed != logical:
                imports[url(logical)] = hashed
            if with_integrity and module.integrity:
                integrities[hashed] = module.integrity
        result: dict[str, Any] = {"imports": imports}
        if integrities:
            result["integrity"] = integrities
        return result


URL = Callable[[str], str]


def entry_url(
    maps: Iterable[tuple[ImportMap, URL]], entry: str, fallback: URL | None = None
) -> str:
    """The URL :func:`render` loads *entry* from: its hashed URL from the first map that
    lists it, else ``fallback(entry)``."""
    name = entry.lstrip("/")
    for record, url in maps:
        module = record.modules.get(name)
        if module is not None:
            return url(module.hashed)
    return (fallback or (lambda each: "/" + each))(name)


def stylesheet_link(url: str, integrity: str | None = None) -> str:
    """``<link rel="stylesheet">`` for *url*; with *integrity* (an SRI value) also
    ``crossorigin="anonymous"``, the mode its early hint preloads it in."""
    tag = f'<link rel="stylesheet" href="{html.escape(url)}"'
    if integrity and is_sri(integrity):
        tag += f' integrity="{integrity}" crossorigin="anonymous"'
    return tag + ">"


def script_element(
    url: str, integrity: str | None = None, *, defer: bool = False, nonce: str | None = None
) -> str:
    """``<script src>`` (a classic script) for *url*; with *integrity* (an SRI value) also
    ``crossorigin="anonymous"``, the mode its early hint preloads it in."""
    tag = f'<script src="{html.escape(url)}"'
    if integrity and is_sri(integrity):
        tag += f' integrity="{integrity}" crossorigin="anonymous"'
    if defer:
        tag += " defer"
    if nonce:
        tag += f' nonce="{html.escape(nonce)}"'
    return tag + "></script>"


def render(
    maps: Iterable[tuple[ImportMap, URL]],
    entry: str | None = None,
    *,
    fallback: URL | None = None,
    script: bool = True,
    nonce: str | None = None,
    with_integrity: bool = True,
) -> str:
    """HTML for a page: ``<script type="importmap">`` merging *maps* (each with the function
    that makes its names URLs; the first to name a specifier wins), ``<link
    rel="modulepreload">`` for *entry*'s static imports, and with *script* ``<script
    type="module">`` for *entry* itself.

    Each map holds only what the page can reach (:meth:`ImportMap.reachable`). An entry
    no map lists is loaded from ``fallback(entry)``, without preloads.
    """
    nonce_attr = f' nonce="{html.escape(nonce)}"' if nonce else ""
    merged: dict[str, Any] = {"imports": {}}
    home: tuple[ImportMap, URL] | None = None
    for whole, url in maps:
        record = whole.reachable(entry)
        browser = record.browser_map(url, with_integrity)
        merged["imports"] = {**browser["imports"], **merged["imports"]}
        if "integrity" in browser:
            merged["integrity"] = {**browser["integrity"], **merged.get("integrity", {})}
        if entry is not None and home is None and entry.lstrip("/") in record.modules:
            home = (record, url)
    data = json.dumps(merged, separators=(",", ":"), sort_keys=True)
    # Nothing in the JSON can end the script element or open a comment inside it.
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    lines = [f'<script type="importmap"{nonce_attr}>{data}</script>']
    if entry is None:
        return "\n".join(lines)
    entry = entry.lstrip("/")
    if home is None:
        if script:
            source = html.escape((fallback or (lambda name: "/" + name))(entry))
            lines.append(f'<script type="module" src="{source}"{nonce_attr}></script>')
        return "\n".join(lines)
    record, url = home
    names = record.preloads(entry)
    if not script:
        names.insert(0, entry)
    for name in names:
        lines.append(
            f'<link rel="modulepreload" {_source(record, name, url, "href", with_integrity)}>'
        )
    if script:
        source = _source(record, entry, url, "src", with_integrity)
        lines.append(f'<script type="module" {source}{nonce_attr}></script>')
    return "\n".join(lines)


def _source(record: ImportMap, name: str, url: URL, attr: str, with_integrity: bool) -> str:
    module = record.modules[name]
    text = f'{attr}="{html.escape(url(module.hashed))}"'
    if with_integrity and module.integrity:
        text += f' integrity="{html.escape(module.integrity)}"'
    return text
