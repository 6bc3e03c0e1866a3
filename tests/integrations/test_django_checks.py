"""Django system checks: a setup that would serve nothing, or the wrong thing, says the fix."""

from __future__ import annotations

import json
import re

from django.test import override_settings

from staticmw.integrations.django.checks import check_settings

from .. import django_project  # noqa: F401  (sets Django up)

SECURITY = "django.middleware.security.SecurityMiddleware"
OURS = "staticmw.django.StaticFilesMiddleware"
COMMON = "django.middleware.common.CommonMiddleware"
# An empty staticfiles.json as collectstatic writes it.
MANIFEST = '{"version": "1.1", "paths": {}, "hash": ""}'


def ids(**settings) -> list[str]:
    with override_settings(**settings):
        return [message.id for message in check_settings()]


def test_a_good_setup_is_quiet(tmp_path):
    (tmp_path / "staticfiles.json").write_text(MANIFEST)
    assert ids(MIDDLEWARE=[SECURITY, OURS, COMMON], STATIC_ROOT=str(tmp_path), DEBUG=False) == []


def test_the_middleware_missing_or_too_late(tmp_path):
    (tmp_path / "staticfiles.json").write_text(MANIFEST)
    assert ids(MIDDLEWARE=[SECURITY, COMMON], STATIC_ROOT=str(tmp_path)) == ["staticmw.W001"]
    assert ids(MIDDLEWARE=[COMMON, OURS], STATIC_ROOT=str(tmp_path)) == ["staticmw.W002"]
    with override_settings(MIDDLEWARE=[COMMON, OURS], STATIC_ROOT=str(tmp_path)):
        (message,) = check_settings()
    assert COMMON in message.msg and "right after" in message.hint


def test_static_root_unset_or_not_collected(tmp_path):
    base = {"MIDDLEWARE": [SECURITY, OURS], "DEBUG": False}
    assert ids(STATIC_ROOT=None, **base) == ["staticmw.W003"]
    assert ids(STATIC_ROOT=str(tmp_path / "nothing"), **base) == ["staticmw.W003"]
    # Under DEBUG the finders serve the sources: no collectstatic needed yet.
    assert ids(STATIC_ROOT=None, MIDDLEWARE=[SECURITY, OURS], DEBUG=True) == []


def test_a_manifest_storage_without_its_manifest(tmp_path):
    found = ids(MIDDLEWARE=[SECURITY, OURS], STATIC_ROOT=str(tmp_path), DEBUG=False)
    assert found == ["staticmw.W004"]


def test_whitenoise_settings_are_named_with_their_new_names(tmp_path):
    (tmp_path / "staticfiles.json").write_text(MANIFEST)
    with override_settings(
        MIDDLEWARE=[SECURITY, OURS], STATIC_ROOT=str(tmp_path), WHITENOISE_MAX_AGE=30
    ):
        (message,) = check_settings()
    assert message.id == "staticmw.W005" and "STATICMW_MAX_AGE" in message.hint


def test_the_checks_run_with_manage_py_check():
    from django.core import checks

    registered = checks.registry.registry.get_checks()
    assert check_settings in registered


# -- a served root that exposes the project ---------------------------------------------


def exposure(**settings) -> list:
    from staticmw.integrations.django.checks import check_exposure

    with override_settings(**settings):
        return check_exposure()


def test_a_static_root_that_holds_the_project_is_an_error():
    from ..django_project import EXAMPLE

    for root in (EXAMPLE, EXAMPLE / "mysite"):
        (message,) = exposure(STATIC_ROOT=str(root), DEBUG=False, STATIC_URL="/")
        assert message.id == "staticmw.E001" and message.level >= 40
        assert "settings.py" in message.msg and "BASE_DIR" in message.hint
    (message,) = exposure(STATICMW_ROOT=str(EXAMPLE), STATIC_ROOT="/nowhere", DEBUG=False)
    assert message.id == "staticmw.E001"


def test_finders_that_search_the_project_are_an_error_under_debug():
    from ..django_project import EXAMPLE

    found = exposure(DEBUG=True, STATICFILES_DIRS=[str(EXAMPLE)])
    assert [m.id for m in found] == ["staticmw.E001"]


def test_python_files_in_a_static_root_are_a_warning(tmp_path):
    (tmp_path / "css").mkdir()
    (tmp_path / "css" / "app.css").write_text("a{}")
    assert exposure(STATIC_ROOT=str(tmp_path), DEBUG=False) == []
    (tmp_path / "tools" / "deep").mkdir(parents=True)
    (tmp_path / "tools" / "deep" / "helper.py").write_text("x = 1\n")
    (message,) = exposure(STATIC_ROOT=str(tmp_path), DEBUG=False)
    assert message.id == "staticmw.W006" and "helper.py" in message.msg


def test_the_exposure_check_runs_with_manage_py_check():
    from django.core import checks

    from staticmw.integrations.django.checks import check_exposure

    assert check_exposure in checks.registry.registry.get_checks()


def test_collectstatic_build_settings_are_checked(tmp_path):
    """A wrong STATICMW_KEEP, STATICMW_DICTIONARIES or STATICMW_HISTORY is an error before
    anything runs, and collectstatic stops on it, naming it; STATICMW_JS_MODULES, which
    changes nothing now, is a warning."""
    import pytest
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import call_command

    (tmp_path / "staticfiles.json").write_text('{"version": "1.1", "paths": {}, "hash": ""}')
    base = {"MIDDLEWARE": [SECURITY, OURS], "STATIC_ROOT": str(tmp_path), "DEBUG": False}
    assert ids(STATICMW_KEEP=3, STATICMW_DICTIONARIES=2, **base) == []
    assert ids(STATICMW_HISTORY=str(tmp_path.parent / "cache"), **base) == []
    wrong = [
        ({"STATICMW_KEEP": -1}, "STATICMW_KEEP must be a whole number"),
        ({"STATICMW_KEEP": True}, "STATICMW_KEEP must be a whole number"),
        ({"STATICMW_DICTIONARIES": "2"}, "STATICMW_DICTIONARIES must be a whole number"),
        ({"STATICMW_HISTORY": str(tmp_path / "cache")}, "STATICMW_HISTORY .* overlaps STATIC_ROOT"),
        ({"STATICMW_HISTORY": 3}, "STATICMW_HISTORY must be a directory path"),
        ({"STATICMW_SKIP_COMPRESS_EXTENSIONS": "map"}, "must be a list of extensions"),
    ]
    storages = {"staticfiles": {"BACKEND": "staticmw.django.storage.ManifestStaticFilesStorage"}}
    for setting, message in wrong:
        with override_settings(**base, **setting):
            (found,) = check_settings()
        assert found.id == "staticmw.E002" and re.search(message, found.msg), found
        collecting = override_settings(**base, **setting, STORAGES=storages)
        with collecting, pytest.raises(ImproperlyConfigured, match=message):
            call_command("collectstatic", interactive=False, verbosity=0)
    with override_settings(STATICMW_JS_MODULES=True, **base):
        (found,) = check_settings()
    assert found.id == "staticmw.W008" and "STATICMW_JS_MODULES is no longer needed" in found.msg


def test_what_would_stop_the_start_is_found_by_check(tmp_path):
    """Three things that stop the middleware at start-up, or leave every asset a 404, are
    system checks with the fix named, not silence until the first request."""
    manifest = tmp_path / "staticfiles.json"
    manifest.write_text(json.dumps({"paths": {}, "version": "1.1"}))
    base = {"MIDDLEWARE": [SECURITY, OURS], "STATIC_ROOT": str(tmp_path), "DEBUG": False}
    with override_settings(STATICMW_MAX_AGE="600", **base):
        (bad,) = check_settings()
    assert bad.id == "staticmw.E003" and bad.msg.startswith("STATICMW_MAX_AGE: max_age must")
    assert "stops at start-up" in bad.hint
    with override_settings(STATICMW_MAXAGE=600, **base):
        (typo,) = check_settings()
    assert typo.id == "staticmw.W009"
    assert typo.msg == "STATICMW_MAXAGE is not a staticmw setting, so it changes nothing."
    assert typo.hint == "Rename it to STATICMW_MAX_AGE."
    manifest.write_text('{"paths": ')
    with override_settings(**base):
        (unreadable,) = check_settings()
    assert unreadable.id == "staticmw.E004" and "staticfiles.json" in unreadable.msg
    assert "collectstatic" in unreadable.hint
    manifest.write_text(json.dumps({"paths": {}, "version": "1.1"}))
    with override_settings(STATICMW_STATIC_PREFIX="/assets/", STATIC_URL="/static/", **base):
        (prefix,) = check_settings()
    assert prefix.id == "staticmw.W010"
    assert prefix.msg == (
        "STATICMW_STATIC_PREFIX is '/assets/' but STATIC_URL is '/static/': {% static %} "
        "links start with '/static/', which the middleware does not serve, so every asset "
        "is a 404."
    )
    # The same prefix, or STATIC_URL on a CDN (whose origin path is the prefix): no word.
    assert ids(STATICMW_STATIC_PREFIX="static", STATIC_URL="/static/", **base) == []
    cdn = "https://cdn.example.com/static/"
    assert ids(STATICMW_STATIC_PREFIX="/assets/", STATIC_URL=cdn, **base) == []


def test_an_unknown_setting_is_logged_once(caplog):
    from django.http import HttpResponse

    from staticmw.integrations.django import StaticFilesMiddleware, migration

    migration._warned.clear()
    with override_settings(STATICMW_MAXAGE=5, STATICMW_USE_FINDERS=True):
        check_settings()  # the check names it its own way, and logs nothing
        StaticFilesMiddleware(lambda request: HttpResponse())
        StaticFilesMiddleware(lambda request: HttpResponse())
    told = [r.getMessage() for r in caplog.records if "STATICMW_MAXAGE" in r.getMessage()]
    assert told == [
        "staticmw: unknown setting STATICMW_MAXAGE is ignored; did you mean STATICMW_MAX_AGE?"
    ]
