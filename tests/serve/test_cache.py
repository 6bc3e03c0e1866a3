"""What the core remembers between requests stays bounded, whatever requests ask for."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from staticmw.http import encodings
from staticmw.serve import cache
from staticmw.serve.cache import ResourceCache

from ..helpers import call


def _cache_at(clock: list[float], monkeypatch) -> ResourceCache:
    monkeypatch.setattr(cache, "monotonic", lambda: clock[0])
    return ResourceCache(budget=0, miss_seconds=10)


def test_misses_are_bounded_in_characters_not_only_in_number(monkeypatch):
    table = _cache_at([100.0], monkeypatch)
    for i in range(2_000):
        table.remember_miss(f"/static/{i:05}-" + "x" * 4_000)
    assert table.misses_chars <= cache.MISS_CHARS
    assert table.misses_chars == sum(len(path) for path in table.misses)
    # The newest are kept: a flood pushes out the oldest first.
    assert table.known_miss("/static/01999-" + "x" * 4_000)
    assert not table.known_miss("/static/00000-" + "x" * 4_000)


def test_a_path_longer_than_any_servable_one_is_never_remembered(monkeypatch):
    table = _cache_at([100.0], monkeypatch)
    table.remember_miss("/static/" + "y" * 60_000)
    assert not table.misses and table.misses_chars == 0


def test_expired_misses_leave_when_new_ones_come(monkeypatch):
    clock = [100.0]
    table = _cache_at(clock, monkeypatch)
    for i in range(50):
        table.remember_miss(f"/static/old-{i}")
    clock[0] += 11  # all expired
    table.remember_miss("/static/new")
    assert list(table.misses) == ["/static/new"]
    assert table.misses_chars == len("/static/new")


@given(st.lists(st.tuples(st.text(max_size=300), st.floats(0, 30)), max_size=60))
def test_the_character_count_always_matches_what_is_held(steps):
    clock = [0.0]
    original = cache.monotonic
    cache.monotonic = lambda: clock[0]
    try:
        table = ResourceCache(budget=0, miss_seconds=5)
        for path, advance in steps:
            clock[0] += advance
            if not table.known_miss(path):
                table.remember_miss(path)
            assert table.misses_chars == sum(len(p) for p in table.misses)
            assert table.misses_chars <= cache.MISS_CHARS
    finally:
        cache.monotonic = original


def test_a_path_refused_by_the_rules_is_not_remembered_as_a_miss(make):
    app = make(recheck_interval=60)
    for path in ("/static/../secret.txt", "/static/a//b.txt", "/static/.env", "/static/con.txt"):
        assert call(app, path).passed_through
    assert not app._cache.misses
    # A real miss (the file system was asked) is remembered.
    assert call(app, "/static/not-there.txt").passed_through
    assert list(app._cache.misses) == ["/static/not-there.txt"]


def test_only_browser_sized_accept_encoding_values_are_cached():
    encodings._cache.clear()
    long_value = "gzip, " + "x" * 10_000
    assert encodings.cached_preferences(long_value)["gzip"] == 1.0
    assert encodings.cached_preferences("gzip, br")["br"] == 1.0
    assert list(encodings._cache) == ["gzip, br"]
