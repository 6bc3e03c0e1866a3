"""Checked configuration: every option is validated once, at construction."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypedDict

from . import caching, mediatypes

if TYPE_CHECKING:
    from .manifest import Manifest


class OptionValues(TypedDict, total=False):
    """Every keyword option of the middleware, WSGI or ASGI, with its type.

    Defaults and meaning: :class:`Options` for the per-file ones, and
    :class:`staticmw.core.StaticFiles` for ``manifest``, ``static_host`` and
    ``manifest_strict``.
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
    manifest: str | os.PathLike[str] | Manifest | bool | None
    static_host: str | None
    manifest_strict: bool
    cache_bytes: int
    recheck_interval: float


# Every keyword option, for glue that reads them from settings (STATICMW_<NAME>
# in Django and Flask) and for the check of unknown ones.
KEYWORD_OPTIONS = tuple(OptionValues.__annotations__)


def check_option_names(names: Iterable[str]) -> None:
    """A clear error for a keyword that is no option, with the likely intended one."""
    for name in names:
        if name not in KEYWORD_OPTIONS:
            close = difflib.get_close_matches(name, KEYWORD_OPTIONS, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UnknownOption(f"unexpected keyword argument {name!r}: no such option{hint}")


def unknown_settings(keys: Iterable[str], known: Iterable[str]) -> list[str]:
    """Warnings for ``STATICMW_*`` settings that no option reads, with a likely intended name."""
    known = sorted(known)
    found = []
    for key in sorted(keys):
        if not key.startswith("STATICMW_") or key in known:
            continue
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else ""
        found.append(f"staticmw: unknown setting {key} is ignored{hint}")
    return found


def setting_names(options: Iterable[str]) -> list[str]:
    """``max_age`` -> ``STATICMW_MAX_AGE`` for each option."""
    return ["STATICMW_" + option.upper() for option in options]


class ConfigurationError(ValueError):
    """A root, prefix or option that cannot work; raised at construction, never per request."""


class UnknownOption(ConfigurationError, TypeError):
    """A keyword that names no option: a configuration error and a calling error."""


def normalize_prefix(prefix: str | None) -> str:
    """``static``, ``/static`` and ``/static/`` all become ``/static/``; ``None`` becomes ``/``."""
    if prefix is None:
        return "/"
    if not isinstance(prefix, str):
        raise ConfigurationError(f"prefix must be a string, got {type(prefix).__name__}")
    if any(ch in prefix for ch in "?#\\") or any(
        ord(ch) < 0x20 or ord(ch) == 0x7F for ch in prefix
    ):
        raise ConfigurationError(f"prefix {prefix!r} may not contain '?', '#', '\\' or controls")
    parts = [part for part in prefix.split("/") if part]
    if any(part in (".", "..") for part in parts):
        raise ConfigurationError(f"prefix {prefix!r} may not contain '.' or '..' segments")
    return "/" + "".join(part + "/" for part in parts)


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigurationError(f"{name} must be True or False, got {value!r}")
    return value


class Options:
    """The validated options shared by every root of one middleware."""

    __slots__ = (
        "add_headers_function",
        "allow_all_origins",
        "allow_hard_links",
        "autorefresh",
        "cache_bytes",
        "charset",
        "follow_symlinks",
        "immutable_file_test",
        "index_file",
        "max_age",
        "media_types",
        "recheck_interval",
        "serve_hidden",
    )

    def __init__(
        self,
        *,
        max_age: int | None = 60,
        index_file: bool | str | None = None,
        autorefresh: bool = False,
        mimetypes: Mapping[str, str] | None = None,
        charset: str = "utf-8",
        allow_all_origins: bool = True,
        add_headers_function: Callable[..., Any] | None = None,
        immutable_file_test: Callable[[str, str], bool] | str | re.Pattern[str] | None = None,
        follow_symlinks: bool = False,
        serve_hidden: bool = False,
        allow_hard_links: bool = True,
        cache_bytes: int = 32 * 1024 * 1024,
        recheck_interval: float = 1.0,
    ):
        if max_age is not None and (
            isinstance(max_age, bool) or not isinstance(max_age, int) or max_age < 0
        ):
            raise ConfigurationError(
                f"max_age must be a whole number of seconds >= 0 or None, got {max_age!r}"
            )
        self.max_age = max_age

        if index_file is True:
            index_file = "index.html"
        elif index_file is False or index_file is None:
            index_file = None
        elif isinstance(index_file, str):
            from .paths import segment_is_safe

            if "/" in index_file or not segment_is_safe(index_file, serve_hidden=True):
                raise ConfigurationError(
                    f"index_file must be a plain file name like 'index.html', got {index_file!r}"
                )
        else:
            raise ConfigurationError(
                f"index_file must be None, True or a file name, got {index_file!r}"
            )
        self.index_file: str | None = index_file

        self.autorefresh = _check_bool("autorefresh", autorefresh)
        self.allow_all_origins = _check_bool("allow_all_origins", allow_all_origins)
        self.follow_symlinks = _check_bool("follow_symlinks", follow_symlinks)
        self.serve_hidden = _check_bool("serve_hidden", serve_hidden)
        # False: a regular file with more than one link is not served (see add_files).
        self.allow_hard_links = _check_bool("allow_hard_links", allow_hard_links)

        if charset is not None and (
            not isinstance(charset, str) or not mediatypes.is_valid_charset(charset)
        ):
            raise ConfigurationError(f"charset must be a token such as 'utf-8', got {charset!r}")
        self.charset = charset

        overrides: dict[str, str] = {}
        if mimetypes is not None:
            if not isinstance(mimetypes, Mapping):
                raise ConfigurationError(
                    "mimetypes must be a mapping of extension or file name to type"
                )
            for key, value in mimetypes.items():
                if not isinstance(key, str) or not key or "/" in key:
                    raise ConfigurationError(
                        f"mimetypes key {key!r} must be an extension like '.js' or a file name"
                    )
                if not isinstance(value, str) or not mediatypes.is_valid_media_type(value):
                    raise ConfigurationError(f"mimetypes[{key!r}] = {value!r} is not a media type")
                overrides[key] = value
        self.media_types = mediatypes.MediaTypes(overrides, charset)

        if add_headers_function is not None and not callable(add_headers_function):
            raise ConfigurationError("add_headers_function must be callable(headers, path, url)")
        self.add_headers_function = add_headers_function

        self.immutable_file_test = _immutable_test(immutable_file_test)

        if isinstance(cache_bytes, bool) or not isinstance(cache_bytes, int) or cache_bytes < 0:
            raise ConfigurationError(
                f"cache_bytes must be a whole number >= 0, got {cache_bytes!r}"
            )
        self.cache_bytes = cache_bytes
        if (
            isinstance(recheck_interval, bool)
            or not isinstance(recheck_interval, (int, float))
            or not 0 <= recheck_interval < float("inf")
        ):
            raise ConfigurationError(
                f"recheck_interval must be a number of seconds >= 0, got {recheck_interval!r}"
            )
        self.recheck_interval = float(recheck_interval)


def _immutable_test(option: Any) -> caching.ImmutableTest:
    if option is None:
        return caching.default_immutable_test
    if isinstance(option, str):
        try:
            return caching.regex_test(re.compile(option))
        except re.error as exc:
            raise ConfigurationError(
                f"immutable_file_test {option!r} is not a valid regex: {exc}"
            ) from None
    if isinstance(option, re.Pattern):
        return caching.regex_test(option)
    if callable(option):
        test: caching.ImmutableTest = option
        return test
    raise ConfigurationError("immutable_file_test must be a callable(path, url), a regex or None")
