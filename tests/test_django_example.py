"""examples/django/ as its README runs it: collectstatic, then pages through Django's client."""

from __future__ import annotations

import json
import re

import pytest
from django.core.management import call_command
from django.test import Client, override_settings

from . import django_project

EXAMPLE_STATIC = django_project.EXAMPLE / "mysite" / "static"


@pytest.fixture(scope="module")
def static_root(tmp_path_factory):
    """collectstatic of the example into a scratch STATIC_ROOT, as a deploy would."""
    root = tmp_path_factory.mktemp("django-static")
    with override_settings(STATIC_ROOT=str(root)):
        call_command("collectstatic", interactive=False, verbosity=0)
        yield root


def hashed_url(html: str, name: str) -> str:
    stem, _, extension = name.rpartition(".")
    match = re.search(rf'"(/static/{re.escape(stem)}\.[0-9a-f]{{12}}\.{extension})"', html)
    assert match, html
    return match.group(1)


def test_the_page_links_hashed_names_that_are_served_immutable(static_root):
    client = Client()
    page = client.get("/")
    assert page.status_code == 200
    html = page.content.decode()
    css_url = hashed_url(html, "css/site.css")
    manifest = json.loads((static_root / "staticfiles.json").read_text())
    assert css_url == "/static/" + manifest["paths"]["css/site.css"]
    css = client.get(css_url)
    assert css.status_code == 200
    assert css["Cache-Control"] == "public, max-age=31536000, immutable"
    assert css["Content-Type"] == "text/css; charset=utf-8"
    body = b"".join(css.streaming_content)
    # ManifestStaticFilesStorage rewrote the stylesheet's reference to the hashed logo.
    logo_url = hashed_url(html, "img/logo.svg")
    assert logo_url.rpartition("/")[2].encode() in body
    logo = client.get(logo_url)
    assert logo.status_code == 200 and logo["Content-Type"].startswith("image/svg+xml")
    assert b"".join(logo.streaming_content) == (EXAMPLE_STATIC / "img" / "logo.svg").read_bytes()


def test_unhashed_names_revalidate(static_root):
    client = Client()
    css = client.get("/static/css/site.css")
    assert css.status_code == 200 and css["Cache-Control"] == "public, max-age=60"
    again = client.get("/static/css/site.css", HTTP_IF_NONE_MATCH=css["ETag"])
    assert again.status_code == 304 and again["ETag"] == css["ETag"]


def test_misses_and_hostile_paths_never_reach_a_file(static_root):
    client = Client()
    assert client.get("/static/missing.css").status_code == 404
    assert client.get("/static/../mysite/settings.py").status_code == 404
    assert client.get("/static/%2e%2e/mysite/settings.py").status_code == 404
    assert client.get("/static/staticfiles.json").status_code == 404
