"""Checked configuration: every option is declared once, in :class:`Options`, and
validated there at construction."""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypedDict
from urllib.parse import urlsplit

from ..http import cachecontrol, mediatypes

if TYPE_CHECKING:
    from ..manifest.formats import Manifest, ManifestFile


class ConfigurationError(ValueError):
    """A root, prefix or option that cannot work; raised at construction, never per request."""


class UnknownOption(ConfigurationError, TypeError):
    """A keyword that names no option: a configuration error and a calling error."""


class OptionValues(TypedDict, total=False):
    """Every keyword option of the middleware, WSGI or ASGI, with its type.

    The types a caller may pass, for type checkers; :class:`Options` declares each one's
    default, check and reading from text, and a test keeps the two in step.
    """

    max_age: int | None
    index_file: bool | str | None
    autorefresh: bool
    mimetypes: Mapping[str, str] | None
    charset: str
    allow_all_origins: bool
    add_headers_function: Callable[..., Any] | None
    immutable_file_test: Callable[[str, str], bool] | str | re.Pattern[str] | None
    follow_symlinks: bool
    serve_hidden: bool
    allow_hard_links: bool
    manifest: str | os.PathLike[str] | Manifest | ManifestFile | bool | None
    static_host: str | None
    manifest_strict: bool
    cache_bytes: int
    cache_entries: int
    recheck_interval: float
    early_hints: bool
    early_hints_key: Callable[[str, str], str | None] | None


def check_option_names(names: Iterable[str]) -> None:
    """A clear error for a keyword that is no option, with the likely intended one."""
    for name in names:
        if name not in KEYWORD_OPTIONS:
            close = difflib.get_close_matches(name, KEYWORD_OPTIONS, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UnknownOption(f"unexpected keyword argument {name!r}: no such option{hint}")


def unknown_setting_names(keys: Iterable[str], known: Iterable[str]) -> list[tuple[str, str]]:
    """``(key, likely intended name or "")`` for each ``STATICMW_*`` setting no option reads."""
    known = sorted(known)
    found = []
    for key in sorted(keys):
        if not key.startswith("STATICMW_") or key in known:
            continue
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        found.append((key, close[0] if close else ""))
    return found


def unknown_settings(keys: Iterable[str], known: Iterable[str]) -> list[str]:
    """Warnings for ``STATICMW_*`` settings that no option reads, with a likely intended name."""
    return [
        f"staticmw: unknown setting {key} is ignored"
        + (f"; did you mean {close}?" if close else "")
        for key, close in unknown_setting_names(keys, known)
    ]


def setting_names(options: Iterable[str]) -> list[str]:
    """``max_age`` -> ``STATICMW_MAX_AGE`` for each option."""
    return ["STATICMW_" + option.upper() for option in options]


def not_a_directory(path: str) -> str:
    """Why *path* cannot be a root, in the words every message uses, with the path it
    resolves to."""
    real = os.path.realpath(path)
    if os.path.isfile(real):
        return f"is a file, not a directory (resolved to {real!r})"
    if os.path.lexists(real):
        return f"is not a directory (resolved to {real!r})"
    return f"does not exist (resolved to {real!r})"


def normalize_prefix(prefix: str | None) -> str:
    """``static``, ``/static`` and ``/static/`` all become ``/static/``; ``None`` becomes ``/``."""
    if prefix is None:
        return "/"
    if not isinstance(prefix, str):
        raise ConfigurationError(f"prefix must be a string, got {type(prefix).__name__}")
    split = urlsplit(prefix)
    if split.netloc:
        host = f"{split.scheme}://{split.netloc}" if split.scheme else f"https://{split.netloc}"
        raise ConfigurationError(
            f"prefix {prefix!r} is a URL: give the path the application serves as the prefix "
            f"({split.path or '/'!r}), and static_host={host!r} to put static_url() links "
            f"on that host"
        )
    if any(ch in prefix for ch in "?#\\") or any(
        ord(ch) < 0x20 or ord(ch) == 0x7F for ch in prefix
    ):
        raise ConfigurationError(f"prefix {prefix!r} may not contain '?', '#', '\\' or controls")
    parts = [part for part in prefix.split("/") if part]
    if any(part in (".", "..") for part in parts):
        raise ConfigurationError(f"prefix {prefix!r} may not contain '.' or '..' segments")
    return "/" + "".join(part + "/" for part in parts)


def _immutable_test(name: str, option: Any) -> cachecontrol.ImmutableTest:
    if option is None:
        return cachecontrol.default_immutable_test
    if isinstance(option, str):
        try:
            return cachecontrol.regex_test(re.compile(option))
        except re.error as exc:
            raise ConfigurationError(f"{name} {option!r} is not a valid regex: {exc}") from None
    if isinstance(option, re.Pattern):
        return cachecontrol.regex_test(option)
    if callable(option):
        test: cachecontrol.ImmutableTest = option
        return test
    raise ConfigurationError(f"{name} must be a callable(path, url), a regex or None")


# Each option's check: (name, value as given) -> the value to keep, or ConfigurationError.


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigurationError(f"{name} must be True or False, got {value!r}")
    return value


def _check_max_age(name: str, value: Any) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ConfigurationError(
            f"{name} must be a whole number of seconds >= 0 or None, got {value!r}"
        )
    return value


def _check_size(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigurationError(f"{name} must be a whole number >= 0, got {value!r}")
    return value


def _check_count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"{name} must be a whole number >= 1, got {value!r}")
    return value


def _check_seconds(name: str, value: Any) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not 0 <= value < float("inf")
    ):
        raise ConfigurationError(f"{name} must be a number of seconds >= 0, got {value!r}")
    return float(value)


def _check_index_file(name: str, value: Any) -> str | None:
    if value is True:
        return "index.html"
    if value is False or value is None:
        return None
    if isinstance(value, str):
        from .paths import segment_is_safe

        if "/" not in value and segment_is_safe(value, serve_hidden=True):
            return value
        raise ConfigurationError(
            f"{name} must be a plain file name like 'index.html', got {value!r}"
        )
    raise ConfigurationError(f"{name} must be None, True or a file name, got {value!r}")


def _check_charset(name: str, value: Any) -> str:
    if not isinstance(value, str) or not mediatypes.is_valid_charset(value):
        raise ConfigurationError(f"{name} must be a token such as 'utf-8', got {value!r}")
    return value


def _check_mimetypes(name: str, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"{name} must be a mapping of extension or file name to type")
    found: dict[str, str] = {}
    for key, media_type in value.items():
        if not isinstance(key, str) or not key or "/" in key:
            raise ConfigurationError(
                f"{name} key {key!r} must be an extension like '.js' or a file name"
            )
        if not isinstance(media_type, str) or not mediatypes.is_valid_media_type(media_type):
            raise ConfigurationError(f"{name}[{key!r}] = {media_type!r} is not a media type")
        found[key] = media_type
    return found


def _check_headers_function(name: str, value: Any) -> Callable[..., Any] | None:
    if value is not None and not callable(value):
        raise ConfigurationError(f"{name} must be callable(headers, path, url)")
    function: Callable[..., Any] | None = value
    return function


def _check_hints_key(name: str, value: Any) -> Callable[[str, str], str | None] | None:
    if value is not None and not callable(value):
        raise ConfigurationError(f"{name} must be callable(path, query) -> str or None")
    function: Callable[[str, str], str | None] | None = value
    return function


def check_manifest(name: str, value: Any) -> Any:
    """``manifest``: a path (relative to its root), a loaded manifest (or a file read again
    when it changes), None (look for one) or False (none)."""
    from ..manifest.formats import Manifest, ManifestFile

    kinds = (str, os.PathLike, Manifest, ManifestFile)
    if value is None or value is False or isinstance(value, kinds):
        return value
    raise ConfigurationError(f"{name} must be a path, None or False, got {value!r}")


def check_static_host(host: str | None) -> str:
    """Validate a CDN origin such as ``https://cdn.example.com``; return it without a trailing /.

    Raises :class:`ConfigurationError` (a ``ValueError``) naming the problem.
    """
    if host is None or host == "":
        return ""
    if not isinstance(host, str):
        raise ConfigurationError(f"static_host must be a string, got {host!r}")
    parts = urlsplit(host)
    if parts.scheme not in ("http", "https", "") or not parts.netloc:
        raise ConfigurationError(
            "static_host must look like 'https://cdn.example.com' or '//cdn.example.com', "
            f"got {host!r}"
        )
    if parts.query or parts.fragment or any(ch.isspace() for ch in host):
        raise ConfigurationError(f"static_host may not carry a query, fragment or spaces: {host!r}")
    return host.rstrip("/")


def _check_static_host(name: str, value: Any) -> str:
    return check_static_host(value)


# How a value written as text (a PasteDeploy .ini file) reads, per option.
TEXT = "text"
WHOLE = "whole number"
NUMBER = "number"
FLAG = "true or false"
FLAG_OR_TEXT = "true, false or text"
NOT_TEXT = "not text"


def _option(default: Any, check: Callable[[str, Any], Any], text: str) -> Any:
    return dataclasses.field(default=default, metadata={"check": check, "text": text})


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Options:
    """Every keyword option, declared once: its default, its check and how it reads from text.

    The per-file options follow WhiteNoise. ``manifest`` is described at
    :meth:`staticmw.serve.core.StaticFiles.add_files`; ``static_host`` puts
    :meth:`~staticmw.serve.core.StaticFiles.static_url` URLs on a CDN host; ``manifest_strict``
    makes a name no manifest lists an error there; ``allow_hard_links=False`` refuses a
    file with more than one link; ``cache_bytes`` bounds the bytes kept in memory,
    ``cache_entries`` the files remembered, and
    ``recheck_interval`` is how long a checked file is trusted without autorefresh.
    ``early_hints`` adds ``Link`` headers for a page's stylesheets, fonts and modules and
    sends them as a 103 on the next navigation to its route (the path, or what
    ``early_hints_key(path, query)`` returns; ``None`` there means no hints).
    """

    max_age: int | None = _option(60, _check_max_age, WHOLE)
    index_file: str | None = _option(None, _check_index_file, FLAG_OR_TEXT)
    autorefresh: bool = _option(False, _check_bool, FLAG)
    mimetypes: dict[str, str] = _option(None, _check_mimetypes, NOT_TEXT)
    charset: str = _option("utf-8", _check_charset, TEXT)
    allow_all_origins: bool = _option(True, _check_bool, FLAG)
    add_headers_function: Callable[..., Any] | None = _option(
        None, _check_headers_function, NOT_TEXT
    )
    immutable_file_test: cachecontrol.ImmutableTest = _option(None, _immutable_test, TEXT)
    follow_symlinks: bool = _option(False, _check_bool, FLAG)
    serve_hidden: bool = _option(False, _check_bool, FLAG)
    allow_hard_links: bool = _option(True, _check_bool, FLAG)
    manifest: str | os.PathLike[str] | Manifest | ManifestFile | bool | None = _option(
        None, check_manifest, FLAG_OR_TEXT
    )
    static_host: str = _option(None, _check_static_host, TEXT)
    manifest_strict: bool = _option(False, _check_bool, FLAG)
    cache_bytes: int = _option(32 * 1024 * 1024, _check_size, WHOLE)
    cache_entries: int = _option(50_000, _check_count, WHOLE)
    recheck_interval: float = _option(1.0, _check_seconds, NUMBER)
    early_hints: bool = _option(False, _check_bool, FLAG)
    early_hints_key: Callable[[str, str], str | None] | None = _option(
        None, _check_hints_key, NOT_TEXT
    )
    media_types: mediatypes.MediaTypes = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for spec in dataclasses.fields(self):
            if spec.init:
                value = spec.metadata["check"](spec.name, getattr(self, spec.name))
                object.__setattr__(self, spec.name, value)
        object.__setattr__(self, "media_types", mediatypes.MediaTypes(self.mimetypes, self.charset))

    @classmethod
    def from_keywords(cls, options: Mapping[str, Any]) -> Options:
        """Options from keyword arguments; a keyword that is no option is an error."""
        check_option_names(options)
        return cls(**options)


# Every keyword option, for glue that reads them from settings (STATICMW_<NAME> in Django
# and Flask), for PasteDeploy's text and for the check of unknown ones.
OPTION_FIELDS = {spec.name: spec for spec in dataclasses.fields(Options) if spec.init}
KEYWORD_OPTIONS = tuple(OPTION_FIELDS)


def text_kind(name: str) -> str:
    """How option *name* reads from text: one of TEXT, WHOLE, NUMBER, FLAG, FLAG_OR_TEXT,
    NOT_TEXT."""
    kind: str = OPTION_FIELDS[name].metadata["text"]
    return kind


def check_option(name: str, value: Any) -> Any:
    """One option's value checked on its own, as the glue checks a setting by name."""
    check_option_names((name,))
    return OPTION_FIELDS[name].metadata["check"](name, value)


# What a settings lookup gives for a setting that is not there.
UNSET: Any = object()


def from_text(option: str, value: str) -> Any:
    """A setting's text (an ``.ini`` file's) as the value *option* takes, read as
    :class:`Options` declares its kind; ``none`` is ``None``."""
    check_option_names((option,))
    kind = text_kind(option)
    if kind == NOT_TEXT:
        raise ConfigurationError(f"{option} cannot be given as text")
    text = value.strip()
    lowered = text.lower()
    if lowered == "none":
        return None
    flag = lowered in ("true", "false")
    if kind == FLAG or (kind == FLAG_OR_TEXT and flag):
        if not flag:
            raise ConfigurationError(f"{option} must be true or false, got {value!r}")
        return lowered == "true"
    if kind in (WHOLE, NUMBER):
        try:
            return int(text) if kind == WHOLE else float(text)
        except ValueError:
            what = "a whole number" if kind == WHOLE else "a number"
            raise ConfigurationError(f"{option} must be {what}, got {value!r}") from None
    return text


def _setting_key(option: str) -> str:
    return "STATICMW_" + option.upper()


def from_settings(
    lookup: Callable[[str], Any],
    options: Iterable[str] = KEYWORD_OPTIONS,
    development: bool = False,
    named: Callable[[str], str] = str,
    given: Mapping[str, Any] | None = None,
    key_of: Callable[[str], str] = _setting_key,
    as_text: bool = False,
) -> dict[str, Any]:
    """The options that settings give, over those *given* in code: *lookup* reads a setting
    by its key (``key_of(option)``, ``STATICMW_<OPTION>`` unless told; :data:`UNSET` when it
    is not set), text is read by :func:`from_text` when *as_text*, each value is checked, and
    an error names the setting as ``named(key)`` gives it. The one reader for Django, Flask,
    Django's storage and PasteDeploy, and the one place for development, where every
    response is revalidated (``max_age`` 0) and the disk looked at on every request unless
    ``autorefresh`` is set.
    """
    found: dict[str, Any] = dict(given or {})
    for option in options:
        key = key_of(option)
        value = lookup(key)
        if value is UNSET:
            continue
        try:
            if as_text and isinstance(value, str):
                value = from_text(option, value)
            found[option] = check_option(option, value)
        except ConfigurationError as exc:
            raise ConfigurationError(f"{named(key)}: {exc}") from None
    if development:
        found.setdefault("autorefresh", True)
        found["max_age"] = 0
    return found
