"""A FastAPI app written the FastAPI way, its static files served by staticmw.

    uvicorn app:app

``url_for('static', path='site.css')`` in the templates gives the file's hashed URL once
``staticmw build static --out build`` has run and ``STATIC`` points at ``build``; early hints
send the page's stylesheet ahead of it; ``staticmw check app:app`` finds the middleware.
"""

import os
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

import staticmw.starlette

HERE = Path(__file__).resolve().parent
STATIC = Path(os.environ.get("STATIC", HERE / "static"))

app = FastAPI()
templates = Jinja2Templates(directory=HERE / "templates")
staticmw.starlette.install(app, STATIC, "/static/", early_hints=True, templates=templates)


@app.get("/", response_class=HTMLResponse)
async def home(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "home.html", {"framework": "FastAPI"})
