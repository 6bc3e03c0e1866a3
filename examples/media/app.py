"""A page that uses every kind of asset a browser handles differently: a stylesheet with a
web font and a background image, JavaScript modules, an image and a video.

The page is rendered by the application with cache-busted URLs from the build's manifest,
and its JavaScript modules through the build's import map; the assets come from the build
directory through StaticMiddleware.

    staticmw build examples/media/assets --out examples/media/build \
        --importmap-entry badge=vendor/badge.js
    gunicorn --chdir examples/media --bind 127.0.0.1:8000 app:application
"""

from __future__ import annotations

import os
from html import escape
from pathlib import Path

from staticmw import StaticMiddleware

BUILD = Path(os.environ.get("STATICMW_MEDIA_BUILD", Path(__file__).resolve().parent / "build"))

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>staticmw media example</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="{css}">
  {modules}
</head>
<body>
  <header><img src="{image}" alt="" width="64" height="48"><h1>staticmw media example</h1></header>
  <p><span class="probe">Probed</span></p>
  <video src="{video}" preload="metadata" controls playsinline></video>
  <ul id="report"></ul>
</body>
</html>
"""


def page(static):
    """The page's HTML, with every asset at the URL *static* (the middleware) gives it."""
    url = static.static_url
    return PAGE.format(
        css=escape(url("css/site.css")),
        modules=static.importmap_tag("js/main.js").replace("\n", "\n  "),
        image=escape(url("img/tiles.png")),
        video=escape(url("video/clip.webm")),
    ).encode()


def site(environ, start_response):
    """The dynamic part: the page at ``/``, and 404 for anything else."""
    if environ.get("PATH_INFO") not in ("", "/"):
        body = b"not found\n"
        headers = [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
        start_response("404 Not Found", headers)
        return [body]
    body = page(application)
    start_response(
        "200 OK",
        [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-cache"),
        ],
    )
    return [body]


# Unhashed names are cached for STATICMW_MAX_AGE seconds (default 60); hashed ones for a year.
MAX_AGE = int(os.environ.get("STATICMW_MAX_AGE", "60"))

application = StaticMiddleware(site, root=BUILD, prefix="/static/", max_age=MAX_AGE)
