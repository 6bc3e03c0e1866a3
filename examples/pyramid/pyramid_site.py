"""A Pyramid application; production.ini puts staticmw in front of it as a PasteDeploy filter.

gunicorn --paste production.ini         (or: pserve production.ini)
"""

from pyramid.config import Configurator
from pyramid.response import Response

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>staticmw with Pyramid</title>
<link rel="stylesheet" href="/static/css/site.css"></head>
<body><h1>Hello from Pyramid</h1></body>
</html>
"""


def home(request):
    return Response(PAGE, content_type="text/html")


def main(global_config, **settings):
    """The PasteDeploy app factory named in production.ini."""
    with Configurator(settings=settings) as config:
        config.add_route("home", "/")
        config.add_view(home, route_name="home")
        return config.make_wsgi_app()
