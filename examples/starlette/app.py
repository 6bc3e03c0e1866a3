"""A Starlette app written the Starlette way, its static files served by staticmw.

    uvicorn app:app

``url_for('static', path='site.css')`` in the templates gives the file's hashed URL once
``staticmw build static --out build`` has run and ``STATIC`` points at ``build``.
"""

import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import Route
from starlette.templating import Jinja2Templates

import staticmw.starlette

HERE = Path(__file__).resolve().parent
STATIC = Path(os.environ.get("STATIC", HERE / "static"))

templates = Jinja2Templates(directory=HERE / "templates")


async def home(request):
    return templates.TemplateResponse(request, "home.html", {"framework": "Starlette"})


app = Starlette(routes=[Route("/", home)])
staticmw.starlette.install(app, STATIC, "/static/", early_hints=True, templates=templates)
