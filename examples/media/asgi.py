"""The same page as app.py, served through the ASGI middleware.

staticmw build examples/media/assets --out examples/media/build
uvicorn --app-dir examples/media asgi:application
"""

from __future__ import annotations

from html import escape

from app import BUILD, MAX_AGE, PAGE

from staticmw.asgi import StaticMiddleware


async def site(scope, receive, send):
    """The dynamic part: the page at ``/``, and 404 for anything else."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["path"] not in ("", "/"):
        body = b"not found\n"
        headers = [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 404, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return
    url = application.static_url
    body = PAGE.format(
        css=escape(url("css/site.css")),
        js=escape(url("js/main.js")),
        image=escape(url("img/tiles.png")),
        video=escape(url("video/clip.webm")),
    ).encode()
    headers = [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"content-length", b"%d" % len(body)),
        (b"cache-control", b"no-cache"),
    ]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


application = StaticMiddleware(site, root=str(BUILD), prefix="/static/", max_age=MAX_AGE)
