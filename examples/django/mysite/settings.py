"""A minimal Django project whose static files are served by staticmw.

python manage.py collectstatic --noinput
gunicorn --bind 127.0.0.1:8000 mysite.wsgi     # or: uvicorn mysite.asgi:application
DJANGO_DEBUG=1 python manage.py runserver      # development: no collectstatic needed
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret")
# DJANGO_DEBUG=1 for development: runserver then works before any collectstatic.
DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

# "staticmw.django" before staticfiles: system checks, and runserver leaves static files
# to the middleware, so development serves them the way production does.
INSTALLED_APPS = ["staticmw.django", "django.contrib.staticfiles", "mysite"]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Right after SecurityMiddleware: static files skip everything below it.
    "staticmw.django.StaticFilesMiddleware",
    "django.middleware.common.CommonMiddleware",
]

ROOT_URLCONF = "mysite.urls"
WSGI_APPLICATION = "mysite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
    }
]

# collectstatic gathers mysite/static/ here, then runs `staticmw build` over it: hashed copies
# (CSS references and JavaScript module imports rewritten), gzip, brotli and zstd variants,
# staticmw.json and Django's staticfiles.json. StaticFilesMiddleware serves them, the hashed
# ones as immutable for a year. Under DEBUG it serves mysite/static/ directly, no collectstatic
# needed. STATICMW_KEEP = 3 would remove what the last three deploys no longer use.
STATIC_URL = os.environ.get("STATIC_URL", "static/")  # https://cdn.example.com/static/: a CDN
STATIC_ROOT = os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles")
STORAGES = {
    "staticfiles": {
        "BACKEND": "staticmw.django.storage.ManifestStaticFilesStorage",
    },
}

# staticmw's options go in STATICMW_<OPTION> settings, e.g. STATICMW_MAX_AGE = 300 for
# unhashed names (default 60 seconds).
# STATICMW_EARLY_HINTS=1: each page's stylesheet, font and modules as Link headers, and as a
# 103 Early Hints on the next visit (Gunicorn 27 sends it, over HTTP/2 with TLS).
STATICMW_EARLY_HINTS = os.environ.get("STATICMW_EARLY_HINTS") == "1"
