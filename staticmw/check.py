"""``staticmw check``: what a deployed middleware will serve, and why a URL is or is not served."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator
from typing import Any

from . import compress, encodings, paths
from .files import Resource
from .mediatypes import MediaTypes
from .middleware import StaticMiddleware

HUGE = 100 * 1024 * 1024
# Walking stops here; a root larger than this is reported as "at least".
WALK_LIMIT = 200_000


class CheckError(Exception):
    """The target could not be loaded or holds no StaticMiddleware."""


def load(target: str) -> tuple[Any, StaticMiddleware]:
    """Import ``module:attribute`` (from the current directory) and find its StaticMiddleware."""
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise CheckError(f"expected module:application, got {target!r}")
    sys.path.insert(0, os.getcwd())
    try:
        obj: Any = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise CheckError(f"cannot load {target}: {exc}") from None
    finally:
        sys.path.pop(0)
    found = find_middleware(obj)
    if found is None:
        raise CheckError(f"{target} is not, and does not wrap, a StaticMiddleware")
    return obj, found


def find_middleware(obj: Any) -> StaticMiddleware | None:
    """The StaticMiddleware that *obj* is, or that a Flask app's ``wsgi_app`` holds."""
    if isinstance(obj, StaticMiddleware):
        return obj
    wsgi_app = getattr(obj, "wsgi_app", None)
    if isinstance(wsgi_app, StaticMiddleware):
        return wsgi_app
    state = getattr(wsgi_app, "state", None)
    if wsgi_app is not None and state is not None and hasattr(state, "middleware"):
        built = state.middleware(wsgi_app.wsgi_app)
        return built if isinstance(built, StaticMiddleware) else None
    return None


def _walk(directory: str) -> Iterator[tuple[str, int]]:
    count = 0
    for folder, dirnames, filenames in os.walk(directory):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for filename in filenames:
            if filename.startswith("."):
                continue
            path = os.path.join(folder, filename)
            try:
                size = os.stat(path).st_size
            except OSError:
                continue
            yield path, size
            count += 1
            if count >= WALK_LIMIT:
                return


def report(obj: Any, static: StaticMiddleware) -> tuple[list[str], list[str]]:
    """Lines describing each root, and warnings."""
    lines: list[str] = []
    warnings: list[str] = []
    media = MediaTypes()
    for prefix, directory in static.roots:
        files = list(_walk(directory))
        names = {path for path, _ in files}
        manifest = next(m.manifest for m in static._mounts if m.directory == directory)
        described = "none"
        if manifest is not None:
            described = f"{manifest.format} ({len(manifest)} names, {manifest.path})"
        more = "at least " if len(files) >= WALK_LIMIT else ""
        lines += [f"root {directory}", f"  prefix    {prefix}", f"  files     {more}{len(files)}"]
        lines.append(f"  manifest  {described}")
        if os.path.isdir(os.path.join(directory, ".git")) or os.path.isdir(
            os.path.join(directory, ".hg")
        ):
            hidden = (
                "served!" if static.options.serve_hidden else "not served, keep serve_hidden off"
            )
            warnings.append(f"{directory} is a version-control checkout (dotfiles {hidden})")
        bare = [
            path
            for path, size in files
            if size > 1024
            and not path.endswith(paths.ALL_SIDECAR_SUFFIXES)
            and compress.worth_compressing(media.bare_type(path))
            and not any(path + suffix in names for suffix in paths.ALL_SIDECAR_SUFFIXES)
        ]
        if bare:
            warnings.append(
                f"{len(bare)} compressible files under {prefix} have no .gz/.br/.zst variant "
                f"(e.g. {os.path.relpath(bare[0], directory)}): run staticmw build"
            )
        huge = [(size, path) for path, size in files if size >= HUGE]
        if huge:
            size, path = max(huge)
            warnings.append(
                f"{len(huge)} files of 100 MiB or more under {prefix} "
                f"(largest {size // 2**20} MiB: {os.path.relpath(path, directory)}); "
                "a CDN or object store serves those better"
            )
    warnings += _shadowed(obj, static)
    return lines, warnings


def _shadowed(obj: Any, static: StaticMiddleware) -> list[str]:
    """A framework's own static route that staticmw does not cover, or covers with other files."""
    url_map = getattr(obj, "url_map", None)
    if url_map is None:
        return []
    found = []
    ours = {prefix: os.path.realpath(directory) for prefix, directory in static.roots}
    for rule in url_map.iter_rules():
        if not rule.rule.endswith("/<path:filename>"):
            continue
        if rule.endpoint == "static":
            folder = getattr(obj, "static_folder", None)
        elif rule.endpoint.endswith(".static"):
            blueprint = obj.blueprints.get(rule.endpoint[: -len(".static")])
            folder = getattr(blueprint, "static_folder", None)
        else:
            continue
        if not folder:
            continue
        prefix = rule.rule[: -len("<path:filename>")]
        directory = ours.get(prefix)
        if directory is None:
            found.append(
                f"the app's static route {prefix} ({folder}) is not covered by staticmw: "
                "those files go out without its headers"
            )
        elif directory != os.path.realpath(folder) and not directory.startswith(
            os.path.realpath(obj.config.get("STATICMW_ROOT", "\0"))
        ):
            found.append(
                f"the app's static route {prefix} serves {folder} while staticmw serves "
                f"{directory} there: files only in the former bypass staticmw"
            )
    return found


def explain(static: StaticMiddleware, url: str, accept_encoding: str | None) -> list[str]:
    """Why *url* is served (which root, file, variant, headers) or passed through."""
    raw = url.split("?", 1)[0]
    from urllib.parse import unquote_to_bytes

    path_info = unquote_to_bytes(raw).decode("latin-1")
    matching = [
        (p, d) for p, d in static.roots if path_info.startswith(p.encode().decode("latin-1"))
    ]
    if not matching:
        return [f"{url}: under no prefix ({', '.join(p for p, _ in static.roots)}): passes through"]
    lines: list[str] = []
    for prefix, _ in matching:
        relative = paths.decode_path(path_info[len(prefix.encode().decode("latin-1")) :])
        if relative is None:
            return [f"{url}: not valid UTF-8 after percent-decoding: passes through"]
        body = relative.rstrip("/")
        for segment in body.split("/") if body else []:
            if not paths.segment_is_safe(segment, static.options.serve_hidden):
                return [f"{url}: segment {segment!r} is refused by the path rules: passes through"]
        if paths.split_request_path(relative, static.options.serve_hidden) is None:
            return [f"{url}: refused by the path rules (empty segment or too long): passes through"]
    found = static._find(path_info)
    if found is None:
        roots = ", ".join(d for _, d in matching)
        return [
            *lines,
            f"{url}: no servable file in {roots} (missing, a directory without index, hidden, "
            "or a link leaving the roots): passes through",
        ]
    if not isinstance(found, Resource):
        return [f"{url}: a directory: redirects to {found.segment}/"]
    reps = found.representations
    chosen = 0 if len(reps) == 1 else encodings.choose(found.available, accept_encoding)
    rep = reps[chosen]
    lines.append(f"{url}: served from {reps[0].path}")
    variants = ", ".join(f"{r.coding} ({r.size} bytes)" for r in reps)
    lines.append(f"  representations  {variants}")
    lines.append(f"  for Accept-Encoding {accept_encoding!r}: {rep.coding}, {rep.path}")
    for name, value in rep.headers:
        lines.append(f"  {name}: {value}")
    return lines
