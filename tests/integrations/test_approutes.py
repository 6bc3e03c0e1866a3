"""The static routes of a Flask-style app, as the Flask glue and ``staticmw check`` read them."""

from __future__ import annotations

from flask import Blueprint, Flask

from staticmw.integrations.approutes import StaticRoute, is_static_endpoint, static_routes


def test_app_and_blueprint_static_routes(tmp_path):
    (tmp_path / "static").mkdir()
    (tmp_path / "admin_static").mkdir()
    app = Flask("demo", root_path=str(tmp_path))
    admin = Blueprint(
        "admin", "demo", static_folder=str(tmp_path / "admin_static"), url_prefix="/admin"
    )
    plain = Blueprint("plain", "demo", url_prefix="/plain")  # no static folder, no route
    app.register_blueprint(admin)
    app.register_blueprint(plain)

    @app.route("/files/<path:filename>")
    def files(filename):  # a route that looks alike but is no static endpoint
        return filename

    routes = sorted(static_routes(app))
    assert routes == [
        StaticRoute("admin.static", "/admin/admin_static/", str(tmp_path / "admin_static")),
        StaticRoute("static", "/static/", str(tmp_path / "static")),
    ]


def test_an_object_without_routes_has_none():
    assert static_routes(object()) == []
    assert is_static_endpoint("static") and is_static_endpoint("shop.static")
    assert not is_static_endpoint("statics") and not is_static_endpoint("index")
