"""A Litestar app whose static files are served by staticmw's ASGI middleware.

uvicorn app:application

Litestar runs its own middleware only for requests that match a route, so the
application is wrapped instead: static requests are answered before Litestar routes.
"""

from pathlib import Path

from litestar import Litestar, MediaType, get

from staticmw.asgi import StaticMiddleware

HERE = Path(__file__).resolve().parent


@get("/", media_type=MediaType.HTML)
async def home() -> str:
    return '<!doctype html><link rel="stylesheet" href="/static/site.css"><h1>Litestar</h1>'


app = Litestar(route_handlers=[home])
application = StaticMiddleware(app, root=str(HERE / "static"), prefix="/static/")
