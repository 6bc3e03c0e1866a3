"""Which representation of a file a request gets: one pure choice for every caller.

Content codings by ``Accept-Encoding`` (RFC 9110 §12.5.3), and a ``dcz`` delta
(RFC 9842) when the client holds one of the file's dictionaries, wants ``dcz`` at
least as much as the coding chosen otherwise, and its fetch metadata allows it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import dictionaries, encodings
from .request import (
    ACCEPT_ENCODING,
    AVAILABLE_DICTIONARY,
    ORIGIN,
    SEC_FETCH_MODE,
    SEC_FETCH_SITE,
    Getter,
)

if TYPE_CHECKING:
    from ..serve.representations import Resource


def select(resource: Resource, get: Getter, allow_all_origins: bool) -> int:
    """The index into ``resource.representations`` of what to send.

    *get* reads the request's header values (see :mod:`staticmw.http.request`).
    """
    if len(resource.representations) == 1:
        return 0
    available = resource.available
    accept = get(ACCEPT_ENCODING)
    index = encodings.choose(available, accept) if available else 0
    if not resource.deltas or accept is None:
        return index
    offered = get(AVAILABLE_DICTIONARY)
    digest = dictionaries.parse_available_dictionary(offered) if offered is not None else None
    delta = resource.deltas.get(digest) if digest is not None else None
    if delta is None or not _delta_wanted(accept, available, index):
        return index
    origin = "*" if allow_all_origins else None
    fetch = (get(SEC_FETCH_SITE), get(SEC_FETCH_MODE), get(ORIGIN))
    return delta if dictionaries.allowed(*fetch, origin) else index


def _delta_wanted(accept: str, available: tuple[tuple[str, int], ...], index: int) -> bool:
    """Whether ``dcz`` is acceptable and at least as wanted as the coding chosen otherwise."""
    prefs = encodings.cached_preferences(accept)
    wanted = encodings.quality(dictionaries.DCZ, prefs)
    if not wanted:
        return False
    chosen = encodings.quality(available[index][0], prefs) if available else None
    return chosen is None or wanted >= chosen
