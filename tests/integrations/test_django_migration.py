"""Moving a Django project over from WhiteNoise or ServeStatic: their settings are read (or
said to be unneeded), files at the site root are served, and conflicts are warned of."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from pathlib import Path

import django
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.test import AsyncClient, Client, override_settings
from django.urls import path

from staticmw.integrations.django import migration
from staticmw.integrations.django.checks import check_settings

from .. import django_project  # noqa: F401  (sets Django up)
from ..helpers import body_of, write
from .test_asgi import asgi_call

CSS = b"body { color: #123; }\n" * 300
BASE = Path(tempfile.mkdtemp(prefix="staticmw-migration-"))
STATIC_ROOT = BASE / "collected"
SITE_ROOT = BASE / "root"


def view(request):
    return HttpResponse(b"from a view", status=404 if request.path.endswith("missing") else 200)


urlpatterns = [path("hello/", view), path("robots-missing", view), path("dir", view)]


@pytest.fixture(scope="module", autouse=True)
def tree():
    write(STATIC_ROOT / "css" / "app.css", CSS)
    write(STATIC_ROOT / "staticfiles.json", b'{"paths": {}, "version": "1.1"}')
    write(SITE_ROOT / "robots.txt", b"User-agent: *\nDisallow:\n")
    write(SITE_ROOT / "favicon.ico", b"\x00\x00\x01\x00" + bytes(60))
    write(SITE_ROOT / "index.html", b"<p>not at /</p>")
    write(SITE_ROOT / "dir" / "index.html", b"<p>not at /dir/</p>")
    write(SITE_ROOT / ".env", b"SECRET=1")
    write(SITE_ROOT / ".well-known" / "security.txt", b"Contact: mailto:a@example.com\n")
    write(SITE_ROOT / ".well-known" / ".hidden", b"no")
    write(BASE / "outside.txt", b"outside")


@pytest.fixture(autouse=True)
def glue_settings():
    migration._warned.clear()
    with override_settings(
        ROOT_URLCONF=__name__,
        MIDDLEWARE=["staticmw.django.StaticFilesMiddleware"],
        STATIC_URL="/static/",
        STATIC_ROOT=str(STATIC_ROOT),
        DEBUG=False,
    ):
        yield


@pytest.mark.parametrize("name", ["WHITENOISE_ROOT", "SERVESTATIC_ROOT", "STATICMW_ROOT_FILES"])
def test_files_at_the_site_root(name):
    with override_settings(**{name: str(SITE_ROOT)}, STATICMW_INDEX_FILE=True):
        client = Client()
        robots = client.get("/robots.txt")
        assert robots.status_code == 200 and body_of(robots) == b"User-agent: *\nDisallow:\n"
        assert robots["Content-Type"] == "text/plain; charset=utf-8"
        assert robots["ETag"] and robots["Cache-Control"] == "public, max-age=60"
        assert body_of(client.get("/favicon.ico")).startswith(b"\x00\x00\x01\x00")
        known = client.get("/.well-known/security.txt")
        assert known.status_code == 200 and body_of(known).startswith(b"Contact:")
        # exact file names only: no index file at / or /dir/, no slash redirect for /dir
        assert client.get("/").status_code == 404
        assert client.get("/dir/").status_code == 404
        assert client.get("/dir").content == b"from a view"
        # every safety rule still holds
        for refused in ("/.env", "/.well-known/.hidden", "/../outside.txt", "/%2e%2e/outside.txt"):
            response = client.get(refused)
            assert response.status_code == 404, refused
            assert b"SECRET" not in response.content and b"outside" not in response.content
        # what is not a file goes to Django; the static root is served as before
        assert client.get("/hello/").content == b"from a view"
        assert client.get("/robots-missing").status_code == 404
        assert body_of(client.get("/static/css/app.css")) == CSS


def test_files_at_the_site_root_under_asgi():
    async def fetch():
        client = AsyncClient()
        return await client.get("/robots.txt"), await client.get("/hello/")

    with override_settings(STATICMW_ROOT_FILES=str(SITE_ROOT)):
        robots, hello = asyncio.run(fetch())
        assert robots.status_code == 200 and b"User-agent" in body_of(robots)
        assert hello.content == b"from a view"
        from staticmw.integrations.django import get_asgi_application

        application = get_asgi_application()
        status, _, body, _ = asgi_call(application, "/.well-known/security.txt")
        assert status == 200 and body.startswith(b"Contact:")
        status, _, body, _ = asgi_call(application, "/static/css/app.css")
        assert status == 200 and body == CSS
        status, _, body, _ = asgi_call(application, "/hello/")
        assert status == 200 and body == b"from a view"


def test_a_missing_root_files_directory_is_a_clear_error():
    with (
        override_settings(STATICMW_ROOT_FILES=str(BASE / "nowhere")),
        pytest.raises(ImproperlyConfigured, match=r"STATICMW_ROOT_FILES .*nowhere"),
    ):
        Client().get("/robots.txt")


@pytest.mark.parametrize("name", ["WHITENOISE_STATIC_PREFIX", "SERVESTATIC_STATIC_PREFIX"])
def test_a_static_prefix_of_its_own(name):
    with override_settings(**{name: "/assets/"}):
        client = Client()
        assert body_of(client.get("/assets/css/app.css")) == CSS
        assert client.get("/static/css/app.css").status_code == 404
    with (
        override_settings(STATICMW_STATIC_PREFIX=""),
        pytest.raises(ImproperlyConfigured, match="STATICMW_STATIC_PREFIX must be a URL"),
    ):
        Client().get("/static/css/app.css")


def test_servestatic_settings_are_read_and_ours_win(caplog):
    with override_settings(SERVESTATIC_MAX_AGE=30):
        assert Client().get("/static/css/app.css")["Cache-Control"] == "public, max-age=30"
    assert "SERVESTATIC_MAX_AGE is read as STATICMW_MAX_AGE; rename it" in caplog.text
    caplog.clear()
    with (
        caplog.at_level(logging.WARNING, "staticmw.django"),
        override_settings(STATICMW_MAX_AGE=300, WHITENOISE_MAX_AGE=30, SERVESTATIC_MAX_AGE=40),
    ):
        assert Client().get("/static/css/app.css")["Cache-Control"] == "public, max-age=300"
        Client().get("/static/css/app.css")
    assert caplog.text.count("WHITENOISE_MAX_AGE is ignored because STATICMW_MAX_AGE is set") == 1
    assert "SERVESTATIC_MAX_AGE is ignored because STATICMW_MAX_AGE is set" in caplog.text
    caplog.clear()
    with override_settings(WHITENOISE_MAX_AGE=30, SERVESTATIC_MAX_AGE=40):
        assert Client().get("/static/css/app.css")["Cache-Control"] == "public, max-age=30"
    assert "SERVESTATIC_MAX_AGE is ignored because WHITENOISE_MAX_AGE is read as" in caplog.text


def test_the_checks_name_every_peer_setting(tmp_path):
    with override_settings(
        WHITENOISE_MAX_AGE=30,
        STATICMW_INDEX_FILE=True,
        SERVESTATIC_INDEX_FILE=True,
        SERVESTATIC_USE_MANIFEST=True,
        WHITENOISE_ROOT=str(SITE_ROOT),
    ):
        found = {m.msg: m.hint for m in check_settings() if m.id == "staticmw.W005"}
    assert found["WHITENOISE_MAX_AGE is read as STATICMW_MAX_AGE."] == (
        "Rename it to STATICMW_MAX_AGE."
    )
    assert found["WHITENOISE_ROOT is read as STATICMW_ROOT_FILES."]
    assert found["SERVESTATIC_INDEX_FILE is ignored because STATICMW_INDEX_FILE is set."]
    (unneeded,) = [m for m in found if m.startswith("SERVESTATIC_USE_MANIFEST")]
    assert "has no effect: staticfiles.json is read whenever" in unneeded


def test_every_peer_setting_has_an_answer():
    assert not set(migration.READ_AS) & set(migration.NOT_NEEDED)
    whitenoise = {
        "AUTOREFRESH", "USE_FINDERS", "MAX_AGE", "INDEX_FILE", "MIMETYPES", "CHARSET",
        "ALLOW_ALL_ORIGINS", "ADD_HEADERS_FUNCTION", "IMMUTABLE_FILE_TEST", "MANIFEST_STRICT",
        "KEEP_ONLY_HASHED_FILES", "SKIP_COMPRESS_EXTENSIONS", "STATIC_PREFIX", "ROOT",
    }  # fmt: skip
    servestatic = whitenoise | {
        "ALLOW_UNSAFE_SYMLINKS", "USE_MANIFEST", "USE_STATIC_ROOT", "USE_GZIP", "USE_BROTLI",
        "USE_ZSTD", "ZSTD_DICTIONARY", "ZSTD_DICTIONARY_IS_RAW", "ZSTD_LEVEL", "MINIFY",
    }  # fmt: skip
    assert servestatic <= set(migration.READ_AS) | set(migration.NOT_NEEDED)
    readme = (Path(__file__).resolve().parents[2] / "docs" / "migrating.md").read_text()
    for name in sorted(servestatic):
        assert f"`*_{name}`" in readme, name


def test_a_legacy_storage_setting_is_warned_of():
    legacy = "staticmw.django.storage.ManifestStaticFilesStorage"
    with override_settings(STATICFILES_STORAGE=legacy):
        (message,) = [m for m in check_settings() if m.id == "staticmw.W007"]
    if django.VERSION >= (5, 1):
        assert "ignores it" in message.msg and "neither hashes nor precompresses" in message.msg
    else:
        assert "deprecated, and Django 5.1 and later ignore it" in message.msg
    assert legacy in message.hint and "STORAGES" in message.hint
    assert not [m for m in check_settings() if m.id == "staticmw.W007"]


def test_development_always_revalidates():
    # STATICMW_MAX_AGE is for production; under DEBUG an edit shows on the next load.
    with override_settings(DEBUG=True, STATICMW_MAX_AGE=600, STATICMW_USE_FINDERS=False):
        response = Client().get("/static/css/app.css")
    assert response["Cache-Control"] == "public, max-age=0"
    with override_settings(STATICMW_MAX_AGE=600):
        assert Client().get("/static/css/app.css")["Cache-Control"] == "public, max-age=600"


def test_each_unneeded_setting_says_why_in_its_own_words():
    """Each reason stands alone: none points at another setting's reason ("as USE_GZIP")."""
    for why in migration.NOT_NEEDED.values():
        assert not why.startswith("as "), why
    with override_settings(WHITENOISE_USE_BROTLI=True):
        found = [message for message, _ in migration.advice()]
    assert found == [
        "WHITENOISE_USE_BROTLI has no effect: collectstatic writes a variant for every "
        "installed codec (gzip always, brotli and zstd with their extras); a subclass of the "
        "storage narrows them with `codecs = [...]`."
    ]
