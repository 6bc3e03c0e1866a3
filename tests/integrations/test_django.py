"""Django glue, through Django's own test client."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.test import Client, override_settings
from django.urls import path

from staticmw.manifest.formats import dump_django

from .. import django_project  # noqa: F401  (sets Django up)
from ..conftest import OLD
from ..helpers import body_of, gz, write

CSS = b"body { color: #123; }\n" * 300
BIG = bytes(range(256)) * 1200  # over the in-memory limit: streamed, or sent by the server
STATIC_ROOT = Path(tempfile.mkdtemp(prefix="staticmw-django-"))


def hello(request):
    return HttpResponse(b"hello from a view")


urlpatterns = [path("hello/", hello), path("static/not-a-file/", hello)]


@pytest.fixture(autouse=True)
def glue_settings():
    """Only this middleware, in front of this module's views, serving a root made here."""
    with override_settings(
        ROOT_URLCONF=__name__,
        MIDDLEWARE=["staticmw.django.StaticFilesMiddleware"],
        STATIC_URL="/static/",
        STATIC_ROOT=str(STATIC_ROOT),
    ):
        yield


@pytest.fixture(scope="module", autouse=True)
def collected():
    write(STATIC_ROOT / "css" / "app.css", CSS, OLD)
    write(STATIC_ROOT / "css" / "app.css.gz", gz(CSS), OLD)
    write(STATIC_ROOT / "css" / "app.0123456789ab.css", CSS, OLD)
    write(STATIC_ROOT / "big.bin", BIG, OLD)
    write(
        STATIC_ROOT / "staticfiles.json", dump_django({"css/app.css": "css/app.0123456789ab.css"})
    )
    return STATIC_ROOT


def test_serves_static_root_and_passes_the_rest_on():
    client = Client()
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert body_of(response) == CSS
    assert response["Content-Type"] == "text/css; charset=utf-8"
    assert response["Cache-Control"] == "public, max-age=60"
    assert client.get("/hello/").content == b"hello from a view"
    assert client.get("/static/not-a-file/").content == b"hello from a view"


def test_http_semantics_survive_django():
    client = Client()
    gzipped = client.get("/static/css/app.css", HTTP_ACCEPT_ENCODING="gzip")
    assert gzipped["Content-Encoding"] == "gzip" and gzipped["Vary"] == "Accept-Encoding"
    etag = client.get("/static/css/app.css")["ETag"]
    assert client.get("/static/css/app.css", HTTP_IF_NONE_MATCH=etag).status_code == 304
    ranged = client.get("/static/css/app.css", HTTP_RANGE="bytes=0-9")
    assert ranged.status_code == 206 and body_of(ranged) == CSS[:10]
    head = client.head("/static/css/app.css")
    assert head.status_code == 200 and head["ETag"] == etag
    assert client.post("/static/css/app.css").status_code == 405


def test_manifest_names_are_immutable():
    response = Client().get("/static/css/app.0123456789ab.css")
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert Client().get("/static/staticfiles.json").status_code == 404


@override_settings(FORCE_SCRIPT_NAME="/app", STATIC_URL="/app/static/")
def test_force_script_name():
    # The script name is outside PATH_INFO: STATIC_URL's /app/static/ is served at /static/.
    response = Client().get("/static/css/app.css")
    assert response.status_code == 200 and body_of(response) == CSS
    assert response["Content-Type"] == "text/css; charset=utf-8"
    assert Client().get("/app/static/css/app.css").status_code == 404  # left to Django


@override_settings(STATIC_URL="https://cdn.example.com/assets/")
def test_static_url_on_a_cdn():
    # The CDN pulls from this server at STATIC_URL's path; the host is not ours to match.
    response = Client().get("/assets/css/app.css")
    assert response.status_code == 200 and body_of(response) == CSS
    assert response["Cache-Control"] == "public, max-age=60"
    assert Client().get("/static/css/app.css").status_code == 404  # left to Django


@override_settings(STATICMW_MAX_AGE=600, STATICMW_ALLOW_ALL_ORIGINS=False)
def test_options_from_settings():
    response = Client().get("/static/css/app.css")
    assert response["Cache-Control"] == "public, max-age=600"
    assert not response.has_header("Access-Control-Allow-Origin")


@pytest.mark.parametrize("root", [None, ""])
def test_missing_static_root_is_a_clear_error(root):
    from staticmw.integrations.django import StaticFilesMiddleware

    with (
        override_settings(STATIC_ROOT=root),
        pytest.raises(ImproperlyConfigured, match="STATIC_ROOT"),
    ):
        StaticFilesMiddleware(lambda request: None)


def test_bad_options_are_a_clear_error():
    from staticmw.integrations.django import StaticFilesMiddleware

    with (
        override_settings(STATICMW_MAX_AGE=-5),
        pytest.raises(ImproperlyConfigured, match="max_age"),
    ):
        StaticFilesMiddleware(lambda request: None)
    with (
        override_settings(STATIC_ROOT=str(STATIC_ROOT / "nope")),
        pytest.raises(ImproperlyConfigured, match="does not exist"),
    ):
        StaticFilesMiddleware(lambda request: None)


@pytest.mark.parametrize("root_files", [True, False])
def test_a_bad_setting_is_named_whatever_else_is_set(tmp_path, root_files):
    """The error names the setting that is wrong, not another one that happens to be set
    (STATICMW_ROOT_FILES was blamed for any bad value), and names one when that is unset."""
    from staticmw.integrations.django import StaticFilesMiddleware

    extra = {"STATICMW_ROOT_FILES": str(tmp_path)} if root_files else {}
    for key, value in (("STATICMW_MAX_AGE", "600"), ("STATICMW_AUTOREFRESH", "yes")):
        with override_settings(**{key: value}, **extra), pytest.raises(ImproperlyConfigured) as bad:
            StaticFilesMiddleware(lambda request: None)
        message = str(bad.value)
        assert message.startswith(f"staticmw: {key}: "), message
        assert "STATICMW_ROOT_FILES" not in message


def test_the_storage_checks_its_settings_by_name(tmp_path):
    from staticmw.integrations.django.storage import ManifestStaticFilesStorage

    for key, value in (("STATICMW_RECHECK_INTERVAL", "soon"), ("STATICMW_MANIFEST_STRICT", "no")):
        with override_settings(**{key: value}), pytest.raises(ImproperlyConfigured, match=key):
            ManifestStaticFilesStorage(location=str(tmp_path))
    with override_settings(STATICMW_MANIFEST_STRICT=False, STATICMW_RECHECK_INTERVAL=5):
        storage = ManifestStaticFilesStorage(location=str(tmp_path))
    assert storage.manifest_strict is False and storage._recheck == 5


def _wsgi(path: str, **headers: str):
    """Django's own WSGI handler, with Gunicorn's file wrapper in the environ."""
    from wsgiref.util import setup_testing_defaults

    from django.core.handlers.wsgi import WSGIHandler
    from gunicorn.http.wsgi import FileWrapper

    environ = {"PATH_INFO": path, "REQUEST_METHOD": "GET", "wsgi.file_wrapper": FileWrapper}
    environ.update({"HTTP_" + k.upper(): v for k, v in headers.items()})
    setup_testing_defaults(environ)
    started = []
    body = WSGIHandler()(environ, lambda status, headers, exc=None: started.append(status))
    return started[0], body


@pytest.mark.parametrize(
    ("headers", "status", "offset", "length"),
    [
        ({}, "200 OK", 0, len(BIG)),
        ({"range": "bytes=1000-2999"}, "206 Partial Content", 1000, 2000),
    ],
)
def test_gunicorn_gets_the_file_for_sendfile(headers, status, offset, length):
    """Django's handler passes the file to wsgi.file_wrapper: Gunicorn sends it with sendfile
    from the current offset, Content-Length bytes."""
    from gunicorn.http.wsgi import FileWrapper

    got, body = _wsgi("/static/big.bin", **headers)
    try:
        assert got == status
        assert isinstance(body, FileWrapper)
        assert body.filelike.tell() == offset
        assert body.filelike.read(length) == BIG[offset : offset + length]
    finally:
        body.close()
    # Small files are answered from memory: no file object at all.
    got, small = _wsgi("/static/css/app.css")
    assert got == "200 OK" and not isinstance(small, FileWrapper)


def test_under_asgi_the_middleware_is_async_and_django_does_not_warn(recwarn):
    import asyncio

    from django.test import AsyncClient

    async def fetch():
        client = AsyncClient()
        small = await client.get("/static/css/app.css")
        big = await client.get("/static/big.bin")
        ranged = await client.get("/static/big.bin", headers={"Range": "bytes=70000-70099"})
        view = await client.get("/hello/")
        bodies = []
        for response in (small, big, ranged):
            if response.streaming:
                bodies.append(b"".join([chunk async for chunk in response.streaming_content]))
            else:
                bodies.append(response.content)
        return (small, big, ranged, view), bodies

    (small, big, ranged, view), bodies = asyncio.run(fetch())
    assert small.status_code == 200 and bodies[0] == CSS
    assert big.status_code == 200 and big.is_async and bodies[1] == BIG
    assert ranged.status_code == 206 and bodies[2] == BIG[70000:70100]
    assert view.content == b"hello from a view"
    django_warnings = [str(w.message) for w in recwarn if "iterator" in str(w.message)]
    assert django_warnings == []


def test_the_middleware_declares_both_modes():
    from asgiref.sync import iscoroutinefunction

    from staticmw.integrations.django import StaticFilesMiddleware

    assert StaticFilesMiddleware.sync_capable and StaticFilesMiddleware.async_capable

    async def get_response(request):
        return HttpResponse()

    assert iscoroutinefunction(StaticFilesMiddleware(get_response))
    assert not iscoroutinefunction(StaticFilesMiddleware(lambda request: HttpResponse()))


def test_a_304_has_no_content_type_from_django():
    client = Client()
    etag = client.get("/static/css/app.css")["ETag"]
    response = client.get("/static/css/app.css", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304 and not response.has_header("Content-Type")
