"""A tiny WSGI application: the dynamic part of the example site."""

from __future__ import annotations

import json
import time


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/api/time":
        body = json.dumps({"time": time.time()}).encode()
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        )
        return [body]
    body = f"Not found: {path}\n".encode()
    start_response(
        "404 Not Found",
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
    )
    return [body]
