"""What the core remembers between requests stays bounded, whatever requests ask for."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from staticmw.http import encodings
from staticmw.serve import cache, core
from staticmw.serve.cache import ResourceCache

from ..conftest import OLD
from ..helpers import call, write


def _cache_at(clock: list[float], monkeypatch) -> ResourceCache:
    monkeypatch.setattr(cache, "monotonic", lambda: clock[0])
    return ResourceCache(budget=0, miss_seconds=10, entries=10)


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
        table = ResourceCache(budget=0, miss_seconds=5, entries=10)
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


# -- the bound on remembered files ---------------------------------------------------


def _files(site, count: int, stem: str) -> list[str]:
    for i in range(count):
        write(site / f"{stem}-{i}.txt", f"{stem} {i}\n".encode(), OLD)
    return [f"/static/{stem}-{i}.txt" for i in range(count)]


def _counting_lookups(app, monkeypatch) -> list[str]:
    looked: list[str] = []
    search = app._mounts.search

    def counted(path, *args, **kwargs):
        looked.append(path)
        return search(path, *args, **kwargs)

    monkeypatch.setattr(app._mounts, "search", counted)
    return looked


def test_a_working_set_below_the_bound_never_goes_cold(site, make, monkeypatch):
    """Eight files asked for again and again stay remembered while four hundred others,
    each asked for once, pass through a cache of sixteen: none of the eight is looked up
    on disk a second time, and the cache never holds more than its bound."""
    app = make(cache_entries=16, recheck_interval=3600)
    hot = _files(site, 8, "hot")
    cold = _files(site, 400, "cold")
    looked = _counting_lookups(app, monkeypatch)
    for path in hot * 2:
        assert call(app, path).status == 200
    assert sorted(looked) == sorted(hot)
    for i, path in enumerate(cold):
        assert call(app, path).status == 200
        assert len(app._resources) <= 16
        if i % 4 == 3:
            for again in hot:
                result = call(app, again)
                assert result.status == 200 and result.body.startswith(b"hot ")
    assert sorted(p for p in looked if p in hot) == sorted(hot)  # once each, at the start
    assert [p for p in looked if p not in hot] == cold  # each cold one once


def test_files_asked_for_once_leave_oldest_first(site, make, monkeypatch):
    app = make(cache_entries=5, recheck_interval=3600)
    paths = _files(site, 12, "once")
    for path in paths:
        call(app, path)
    assert list(app._resources) == paths[-5:]
    # An evicted file is looked up again, as on its first request, and served whole.
    looked = _counting_lookups(app, monkeypatch)
    result = call(app, paths[0])
    assert result.status == 200 and result.body == b"once 0\n" and looked == [paths[0]]
    assert list(app._resources) == [*paths[-4:], paths[0]]


def test_the_bytes_budget_counts_exactly_what_is_held(site, make, monkeypatch):
    """Whatever is evicted gives its bytes back, and bytes read for a file evicted while
    they were read are not kept: the budget always equals what remembered files hold."""
    app = make(cache_entries=4, recheck_interval=3600)
    paths = _files(site, 20, "held")
    table = app._cache

    def held_by_remembered() -> int:
        return sum(
            len(rep.content)
            for resource in app._resources.values()
            for rep in resource.representations
            if rep.content is not None
        )

    for path in paths * 3:
        call(app, path)
        assert table.held == held_by_remembered()
    # A file evicted between its lookup and the read of its bytes (another thread's
    # insertion) is served, and its bytes are not held where no eviction can find them.
    read = core._read_checked

    def read_then_evicted(fd, rep):
        data = read(fd, rep)
        table.clear()
        return data

    monkeypatch.setattr(core, "_read_checked", read_then_evicted)
    result = call(app, "/static/hello.txt")
    assert result.status == 200 and result.body == b"hello world\n"
    assert table.held == held_by_remembered() == 0
