"""The same page as app.py, served through the ASGI middleware.

    staticmw build examples/media/assets --out examples/media/build \
        --importmap-entry badge=vendor/badge.js
    uvicorn --app-dir examples/media asgi:application
"""

from __future__ import annotations

from app import BUILD, MAX_AGE, page

from staticmw.asgi import StaticMiddleware, acknowledge_lifespan


async def site(scope, receive, send):
    """The dynamic part: the page at ``/``, and 404 for anything else."""
    if scope["type"] == "lifespan":
        return await acknowledge_lifespan(receive, send)
    if scope["path"] not in ("", "/"):
        body = b"not found\n"
        headers = [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 404, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return
    body = page(application)
    headers = [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"content-length", b"%d" % len(body)),
        (b"cache-control", b"no-cache"),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


application = StaticMiddleware(site, root=str(BUILD), prefix="/static/", max_age=MAX_AGE)
