"""Cache-Control policy: year-long and immutable for content-hashed names, short otherwise."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

# RFC 8246 immutable plus one year, the longest value every cache represents.
IMMUTABLE_MAX_AGE = 31536000
IMMUTABLE_CACHE_CONTROL = f"public, max-age={IMMUTABLE_MAX_AGE}, immutable"

# ``name.<8-32 lower-case hex>.ext`` or ``name-<hex>.ext``; one or two extension
# parts so ``app.3f2a9c1b.js.map`` counts too.
DEFAULT_IMMUTABLE_PATTERN = re.compile(r"[^/][.-][0-9a-f]{8,32}(?:\.[A-Za-z0-9]+){1,2}\Z")

ImmutableTest = Callable[[str, str], bool]


def regex_test(pattern: re.Pattern[str]) -> ImmutableTest:
    """An immutable test that searches the URL path with *pattern*."""

    def test(path: str, url: str) -> bool:
        return pattern.search(url) is not None

    return test


default_immutable_test = regex_test(DEFAULT_IMMUTABLE_PATTERN)


@functools.lru_cache(maxsize=64)
def cache_control(immutable: bool, max_age: int | None) -> str | None:
    """The Cache-Control value for a file, or ``None`` for none at all."""
    if immutable:
        return IMMUTABLE_CACHE_CONTROL
    if max_age is None:
        return None
    return f"public, max-age={max_age}"
