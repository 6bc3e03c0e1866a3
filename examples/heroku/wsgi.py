"""Heroku (or any platform without a web server in front): Gunicorn runs this directly.

Gunicorn binds 0.0.0.0:$PORT and starts $WEB_CONCURRENCY workers by itself; the CDN in
front caches what these headers allow.
"""

import os
from pathlib import Path

from staticmw import StaticMiddleware

HERE = Path(__file__).resolve().parent


def app(environ, start_response):
    body = b"hello from the app\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


application = StaticMiddleware(
    app,
    root=HERE / "static",
    prefix="/static/",
    static_host=os.environ.get("CDN_HOST") or None,
)
