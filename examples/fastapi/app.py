"""A FastAPI app whose static files are served by staticmw's ASGI middleware.

uvicorn app:app
"""

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from staticmw.asgi import StaticMiddleware

HERE = Path(__file__).resolve().parent

app = FastAPI()
app.add_middleware(StaticMiddleware, root=str(HERE / "static"), prefix="/static/")


@app.get("/", response_class=HTMLResponse)
async def home() -> str:
    return '<!doctype html><link rel="stylesheet" href="/static/site.css"><h1>FastAPI</h1>'
