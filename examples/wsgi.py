"""The example deployment: `gunicorn --chdir examples wsgi:application`."""

from pathlib import Path

from app import app

from staticmw import StaticMiddleware

SITE = Path(__file__).resolve().parent / "site"

application = StaticMiddleware(app, root=SITE, prefix="/", index_file=True, max_age=60)
