"""Options: one declaration gives every option its default, its check and its text form."""

from __future__ import annotations

import dataclasses

import pytest

from staticmw.serve import options as opts


def _as_text(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@pytest.mark.parametrize("name", opts.KEYWORD_OPTIONS)
def test_each_default_passes_its_own_check_and_reads_back_from_text(name):
    field = opts.OPTION_FIELDS[name]
    checked = opts.check_option(name, field.default)
    assert getattr(opts.Options(), name) == checked
    if opts.text_kind(name) == opts.NOT_TEXT:
        with pytest.raises(opts.ConfigurationError, match=name):
            opts.from_text(name, "anything")
    else:
        assert opts.from_text(name, _as_text(field.default)) == field.default


def test_text_forms_follow_the_declared_kind():
    assert opts.from_text("max_age", " 3600 ") == 3600
    assert opts.from_text("recheck_interval", "0.5") == 0.5
    assert opts.from_text("autorefresh", "TRUE") is True
    assert opts.from_text("index_file", "true") is True
    assert opts.from_text("index_file", "home.html") == "home.html"
    assert opts.from_text("static_host", "https://cdn.example.com") == "https://cdn.example.com"
    with pytest.raises(opts.ConfigurationError, match="whole number"):
        opts.from_text("cache_bytes", "1.5")
    with pytest.raises(opts.ConfigurationError, match="true or false"):
        opts.from_text("serve_hidden", "yes")
    with pytest.raises(opts.ConfigurationError, match="no such option"):
        opts.from_text("max_ages", "1")


def test_check_option_names_the_option_and_suggests_a_spelling():
    with pytest.raises(opts.ConfigurationError, match="static_host"):
        opts.check_option("static_host", "cdn.example.com")
    with pytest.raises(opts.UnknownOption, match="did you mean 'max_age'"):
        opts.check_option("max_agee", 1)


def test_options_are_frozen_once_checked():
    checked = opts.Options(index_file=True, static_host="https://cdn.example.com/")
    assert checked.index_file == "index.html"
    assert checked.static_host == "https://cdn.example.com"
    with pytest.raises(dataclasses.FrozenInstanceError):
        checked.max_age = 5  # type: ignore[misc]
