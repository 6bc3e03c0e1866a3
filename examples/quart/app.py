"""A Quart app whose static files are served by staticmw's ASGI middleware.

uvicorn app:app

Quart takes ASGI middleware on ``app.asgi_app``; its own static route is turned off
(``static_folder=None``) so that staticmw alone answers under /static/.
"""

from pathlib import Path

from quart import Quart

from staticmw.asgi import StaticMiddleware

HERE = Path(__file__).resolve().parent

app = Quart(__name__, static_folder=None)


@app.route("/")
async def home() -> str:
    return '<!doctype html><link rel="stylesheet" href="/static/site.css"><h1>Quart</h1>'


app.asgi_app = StaticMiddleware(app.asgi_app, root=str(HERE / "static"), prefix="/static/")
