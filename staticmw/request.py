"""What the core needs to know of a request, whatever protocol carried it.

Decisions read header values through a getter and a key table (``get(keys[name])``
for a lower-case field name), so that the WSGI adapter can hand its environ over
as it is: :data:`FIELDS` is the table for a :class:`Request`, :data:`WSGI_KEYS` the
one for an environ. Both are derived from the one list of fields below.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

# Reads one value by key; ``None`` when absent.
Getter = Callable[[str], "str | None"]
# Lower-case field name -> the key a Getter finds it under.
Keys = Mapping[str, str]


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

    def get(self, slot: str) -> str | None:
        """The value of one slot: the :data:`Getter` for the key table :data:`FIELDS`."""
        value: str | None = getattr(self, slot)
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

# The same fields in a WSGI environ (PEP 3333: HTTP_ and the name in upper case, "_" for "-").
WSGI_KEYS = {name: "HTTP_" + name.upper().replace("-", "_") for name in FIELDS}
# For a plain mapping keyed by lower-case field names.
NAMES = {name: name for name in FIELDS}


def wsgi_request(environ: Mapping[str, object], path: str | None = None) -> Request:
    """The core's request from a WSGI environ (or Django's ``META``, which has the same keys)."""
    get = environ.get
    request = Request(
        str(get("REQUEST_METHOD", "GET")),
        str(get("PATH_INFO", "")) if path is None else path,
        str(get("QUERY_STRING", "")),
    )
    for name, key in WSGI_KEYS.items():
        value = get(key)
        if value is not None:
            setattr(request, FIELDS[name], str(value))
    return request
