"""Pyramid (PasteDeploy filter), Falcon and Bottle: the recipes from the README, tested."""

from __future__ import annotations

import textwrap

import pytest

from staticmw import ConfigurationError, StaticMiddleware
from staticmw.paste import filter_factory

from .conftest import OLD
from .helpers import call, write


@pytest.fixture
def static_dir(tmp_path):
    root = tmp_path / "static"
    write(root / "app.css", b"body{}\n" * 100, OLD)
    write(root / "docs" / "index.html", b"<h1>docs</h1>", OLD)
    return root


def make_pyramid_app(global_config, **settings):
    from pyramid.config import Configurator
    from pyramid.response import Response

    def hello(request):
        return Response("hello from pyramid")

    with Configurator(settings=settings) as config:
        config.add_route("hello", "/hello")
        config.add_view(hello, route_name="hello")
        return config.make_wsgi_app()


def test_pyramid_through_a_paste_pipeline(tmp_path, static_dir):
    from paste.deploy import loadapp

    ini = tmp_path / "app.ini"
    ini.write_text(
        textwrap.dedent(
            f"""
            [pipeline:main]
            pipeline = static app

            [filter:static]
            use = egg:staticmw
            root = {static_dir}
            prefix = /static/
            max_age = 3600
            index_file = true
            recheck_interval = 0.5

            [app:app]
            use = call:tests.test_recipes:make_pyramid_app
            """
        )
    )
    application = loadapp(f"config:{ini}")
    assert isinstance(application, StaticMiddleware)
    served = call(application, "/static/app.css")
    assert served.status == 200 and served.headers["cache-control"] == "public, max-age=3600"
    assert call(application, "/static/docs/").body == b"<h1>docs</h1>"
    assert call(application, "/hello").body == b"hello from pyramid"
    assert call(application, "/static/missing.css").status == 404


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({}, "needs root"),
        ({"root": "x", "max_age": "soon"}, "whole number"),
        ({"root": "x", "autorefresh": "maybe"}, "true or false"),
        ({"root": "x", "recheck_interval": "fast"}, "a number"),
        ({"root": "x", "no_such": "1"}, "unknown staticmw setting"),
    ],
)
def test_paste_settings_are_checked(settings, message):
    with pytest.raises(ConfigurationError, match=message):
        filter_factory({}, **settings)


def test_paste_conversions(static_dir):
    make = filter_factory(
        {}, root=str(static_dir), max_age="none", allow_all_origins="false", index_file="index.html"
    )
    application = make(lambda environ, start_response: [])
    response = call(application, "/app.css")
    assert "cache-control" not in response.headers
    assert "access-control-allow-origin" not in response.headers


def test_falcon(static_dir):
    import falcon

    class Hello:
        def on_get(self, request, response):
            response.text = "hello from falcon"

    app = falcon.App()
    app.add_route("/hello", Hello())
    application = StaticMiddleware(app, root=static_dir, prefix="/static/")
    assert call(application, "/static/app.css").status == 200
    assert call(application, "/hello").body == b"hello from falcon"
    assert call(application, "/static/missing.css").status == 404


def test_bottle(static_dir):
    import bottle

    app = bottle.Bottle()

    @app.route("/hello")
    def hello():
        return "hello from bottle"

    application = StaticMiddleware(app, root=static_dir, prefix="/static/")
    assert call(application, "/static/app.css").status == 200
    assert call(application, "/hello").body == b"hello from bottle"
    assert call(application, "/static/missing.css").status == 404
