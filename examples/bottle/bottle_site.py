"""A Bottle application with staticmw in front of it.

gunicorn --chdir examples/bottle --bind 127.0.0.1:8000 bottle_site:application
"""

from pathlib import Path

import bottle

from staticmw import StaticMiddleware

HERE = Path(__file__).resolve().parent

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>staticmw with Bottle</title>
<link rel="stylesheet" href="/static/css/site.css"></head>
<body><h1>Hello from Bottle</h1></body>
</html>
"""

app = bottle.Bottle()


@app.route("/")
def home():
    return PAGE


# Wrap the Bottle app itself: requests below /static/ never reach Bottle's router.
application = StaticMiddleware(app, root=HERE / "static", prefix="/static/", max_age=3600)
