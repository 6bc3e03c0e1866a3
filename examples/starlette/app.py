"""A Starlette app whose static files are served by staticmw's ASGI middleware.

uvicorn app:app

FastAPI is built on Starlette: ``app.add_middleware(StaticMiddleware, ...)`` is the same
line there. Wrapping works too: ``application = StaticMiddleware(app, root=..., prefix=...)``.
"""

from pathlib import Path

from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from staticmw.asgi import StaticMiddleware

HERE = Path(__file__).resolve().parent


async def home(request):
    return HTMLResponse(
        '<!doctype html><link rel="stylesheet" href="/static/site.css"><h1>Starlette</h1>'
    )


app = Starlette(routes=[Route("/", home)])
app.add_middleware(StaticMiddleware, root=str(HERE / "static"), prefix="/static/")
