"""``{% load staticmw %}`` and ``{% importmap "js/app.js" %}``: a page's import map, module
preloads and entry module, from the ``importmap.json`` that collectstatic writes.

With the finders serving (``DEBUG``), or before any collectstatic, the map holds the bare
names of ``STATICMW_IMPORTMAP`` at their plain URLs. The page's CSP nonce (Django 6's
``csp_nonce``, or django-csp's ``request.csp_nonce``) is put on the script elements, or
``nonce=...`` when given; ``script=False`` leaves the entry to a tag of the
page's own (and preloads it); ``integrity=False`` leaves out the SRI values.
"""

from __future__ import annotations

import os
import threading
from functools import partial

from django import template
from django.conf import settings
from django.templatetags.static import static
from django.utils.safestring import SafeString, mark_safe

from ....hints import memory
from ....manifest.formats import Integrities
from ....manifest.importmaps import (
    IMPORTMAP_NAME,
    ImportMap,
    ImportMapError,
    check_declared,
    entry_url,
    render,
    script_element,
    stylesheet_link,
)
from ....manifest.urls import below
from ....serve.watched import Watched
from .. import use_finders
from ..migration import setting

register = template.Library()

_lock = threading.Lock()
_watched: dict[str, Watched[ImportMap]] = {}


def _record() -> ImportMap:
    """The collected import map (read again when the file changes; one caught half written
    leaves the last good one in use), or the declared names."""
    root = getattr(settings, "STATIC_ROOT", None)
    if root and not use_finders():
        path = os.path.join(os.fspath(root), IMPORTMAP_NAME)
        with _lock:
            watched = _watched.get(path)
            if watched is None:
                watched = _watched[path] = Watched(
                    path, ImportMap.load, (ImportMapError,), what="import map"
                )
        found = watched.current()
        if found is not None:
            return found
    return ImportMap.plain(check_declared(setting("STATICMW_IMPORTMAP", {}) or {}))


def _url(name: str) -> str:
    """The URL of a collected file by its stored name, hashed or not, on ``STATIC_URL``."""
    base = str(settings.STATIC_URL)
    return below(base if base.endswith("/") else base + "/", name)


_integrities = Integrities()


def _integrity_of(name: str) -> str | None:
    """The SRI value of the collected file *name* stands for, read once per version of it;
    ``None`` without a manifest that hashes it, or when it cannot be read."""
    from django.contrib.staticfiles.storage import staticfiles_storage

    stored = getattr(staticfiles_storage, "stored_name", None)
    if stored is None or use_finders():
        return None
    try:
        path = staticfiles_storage.path(stored(name))
        st = os.stat(path)
    except (ValueError, OSError, NotImplementedError):
        return None
    return _integrities.of((path, st.st_size, st.st_mtime_ns), partial(os.open, path, os.O_RDONLY))


@register.simple_tag  # type: ignore[untyped-decorator]
def stylesheet(name: str, integrity: bool = True) -> SafeString:
    """``<link rel="stylesheet">`` at ``{% static name %}``, with the collected file's SRI
    ``integrity`` and ``crossorigin="anonymous"`` (``integrity=False`` leaves them out)."""
    url = static(name)
    value = _integrity_of(name) if integrity else None
    if value:
        memory.note(memory.STYLESHEET, name, url)
    # stylesheet_link() escapes the URL and takes only an SRI value.
    return mark_safe(stylesheet_link(url, value))


def csp_nonce(context: template.Context) -> str | None:
    """The page's CSP nonce, where a project's CSP puts it: the template context's
    ``csp_nonce`` (Django 6's context processor), else ``request.csp_nonce`` (django-csp)."""
    value = context.get("csp_nonce")
    if value is None:
        value = getattr(context.get("request"), "csp_nonce", None)
    # django-csp's nonce is made when first turned into text (it is false until then).
    text = str(value) if value is not None else ""
    return text or None


@register.simple_tag(takes_context=True)  # type: ignore[untyped-decorator]
def script(
    context: template.Context,
    name: str,
    integrity: bool = True,
    defer: bool = False,
    nonce: str | None = None,
) -> SafeString:
    """``<script src>`` (a classic script) at ``{% static name %}``, with the collected
    file's SRI ``integrity`` and ``crossorigin="anonymous"`` (``integrity=False`` leaves them
    out), ``defer`` when asked, and the page's CSP nonce (:func:`csp_nonce`) unless given."""
    url = static(name)
    value = _integrity_of(name) if integrity else None
    memory.note(memory.SCRIPT if value else memory.PLAIN_SCRIPT, name, url)
    if nonce is None:
        nonce = csp_nonce(context)
    # script_element() escapes the URL and the nonce, and takes only an SRI value.
    return mark_safe(script_element(url, value, defer=defer, nonce=nonce))


@register.simple_tag(takes_context=True)  # type: ignore[untyped-decorator]
def importmap(
    context: template.Context,
    entry: str | None = None,
    nonce: str | None = None,
    script: bool = True,
    integrity: bool = True,
) -> SafeString:
    """``<script type="importmap">``, ``<link rel="modulepreload">`` and the entry module;
    *nonce* defaults to the page's CSP nonce (:func:`csp_nonce`)."""
    if nonce is None:
        nonce = csp_nonce(context)
    maps = [(_record(), _url)]
    if entry is not None and memory.recording():
        memory.note(memory.ENTRY, entry, entry_url(maps, entry, static))
    html = render(
        maps,
        entry,
        fallback=static,
        script=script,
        nonce=nonce,
        with_integrity=integrity,
    )
    # render() escapes every value it puts in the HTML.
    return mark_safe(html)
