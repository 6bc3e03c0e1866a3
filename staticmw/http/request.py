"""What the core needs to know of a request, whatever protocol carried it.

Decisions read header values through a getter keyed as a WSGI environ is
(``get(IF_NONE_MATCH)``, where ``IF_NONE_MATCH == "HTTP_IF_NONE_MATCH"``), so that
the WSGI adapter hands its environ's ``get`` over as it is, and a :class:`Request`
answers the same keys. Every table here derives from the one list of fields below.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

# Reads one header value by its environ key (``HTTP_...``, or ``REQUEST_METHOD``
# for the method); ``None`` when absent.
Getter = Callable[[str], "str | None"]


@dataclasses.dataclass(slots=True, repr=False, eq=False)
class Request:
    """Method, path, query and the header values that decide a static response.

    *path* is in its PEP 3333 form: the percent-decoded bytes of the request path as
    latin-1 code points, below any mount point (``SCRIPT_NAME`` or ``root_path``).
    *query* is the raw query string in the same form. Header values are ``None``
    when absent; repeated fields are joined with commas (RFC 9110 §5.3).

    Every field after *query* is a request header field, named as its slot with ``-``
    for ``_``: this declaration is the one list of the fields the core reads.
    """

    method: str
    path: str
    query: str = ""
    accept_encoding: str | None = None
    if_match: str | None = None
    if_unmodified_since: str | None = None
    if_none_match: str | None = None
    if_modified_since: str | None = None
    range: str | None = None
    if_range: str | None = None
    # RFC 9842: the dictionary the client holds, and what §8.4 checks before using it.
    available_dictionary: str | None = None
    sec_fetch_site: str | None = None
    sec_fetch_mode: str | None = None
    origin: str | None = None
    # What early hints read of a navigation passed to the application: whether it loads a
    # page, the host its absolute links are on, and whether it carries credentials.
    accept: str | None = None
    host: str | None = None
    authorization: str | None = None

    def get(self, key: str) -> str | None:
        """A header value by its environ key (``HTTP_RANGE``), or the method by
        ``REQUEST_METHOD``: this request's :data:`Getter`."""
        value: str | None = getattr(self, _SLOT_OF[key])
        return value

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{name}={getattr(self, name)!r}"
            for name in self.__slots__
            if getattr(self, name) not in (None, "")
        )
        return f"Request({fields})"


# Header fields the core reads, by lower-case name, and the Request slot each fills.
FIELDS = {
    spec.name.replace("_", "-"): spec.name
    for spec in dataclasses.fields(Request)
    if spec.name not in ("method", "path", "query")
}

# Each slot's key in a WSGI environ (PEP 3333: HTTP_ and the name in upper case).
KEYS = {slot: "HTTP_" + slot.upper() for slot in FIELDS.values()}
# The method too, under its environ key, for a getter that is all a decision needs.
METHOD = "REQUEST_METHOD"
_SLOT_OF = {key: slot for slot, key in KEYS.items()} | {METHOD: "method"}

# The keys decisions read, by name; a slot renamed above fails here, at import.
ACCEPT_ENCODING = KEYS["accept_encoding"]
IF_MATCH = KEYS["if_match"]
IF_UNMODIFIED_SINCE = KEYS["if_unmodified_since"]
IF_NONE_MATCH = KEYS["if_none_match"]
IF_MODIFIED_SINCE = KEYS["if_modified_since"]
RANGE = KEYS["range"]
IF_RANGE = KEYS["if_range"]
AVAILABLE_DICTIONARY = KEYS["available_dictionary"]
SEC_FETCH_SITE = KEYS["sec_fetch_site"]
SEC_FETCH_MODE = KEYS["sec_fetch_mode"]
ORIGIN = KEYS["origin"]
ACCEPT = KEYS["accept"]
HOST = KEYS["host"]
AUTHORIZATION = KEYS["authorization"]
# The fields a navigation is read by, as their ASGI header names: only on the pass-through
# path, never for a static file.
_NAVIGATION_ONLY = ("accept", "host", "authorization")
NAVIGATION = {
    name.encode("latin-1"): slot
    for name, slot in FIELDS.items()
    if slot in ("sec_fetch_mode", *_NAVIGATION_ONLY)
}
# The fields a static file's answer reads, as their ASGI header names, each with its key:
# all but those only a navigation needs, which every request carries and none is decided by.
SERVING_KEYS = {
    name.encode("latin-1"): KEYS[slot]
    for name, slot in FIELDS.items()
    if slot not in _NAVIGATION_ONLY
}


def wsgi_request(environ: Mapping[str, object], path: str | None = None) -> Request:
    """The core's request from a WSGI environ (or Django's ``META``, which has the same keys)."""
    get = environ.get
    request = Request(
        str(get("REQUEST_METHOD", "GET")),
        str(get("PATH_INFO", "")) if path is None else path,
        str(get("QUERY_STRING", "")),
    )
    for slot, key in KEYS.items():
        value = get(key)
        if value is not None:
            setattr(request, slot, str(value))
    return request
