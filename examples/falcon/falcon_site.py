"""A Falcon application with staticmw in front of it.

gunicorn --chdir examples/falcon --bind 127.0.0.1:8000 falcon_site:application
"""

from pathlib import Path

import falcon

from staticmw import StaticMiddleware

HERE = Path(__file__).resolve().parent

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>staticmw with Falcon</title>
<link rel="stylesheet" href="/static/css/site.css"></head>
<body><h1>Hello from Falcon</h1></body>
</html>
"""


class Home:
    def on_get(self, request, response):
        response.content_type = falcon.MEDIA_HTML
        response.text = PAGE


app = falcon.App()
app.add_route("/", Home())

# Wrap the Falcon app itself: requests below /static/ never reach Falcon's router.
application = StaticMiddleware(app, root=HERE / "static", prefix="/static/", max_age=3600)
