"""The Django project the benchmark serves and collects with, one peer at a time.

BENCH_PEER: django-staticmw or django-whitenoise; BENCH_ROOT: STATIC_ROOT;
BENCH_SOURCES: extra STATICFILES_DIRS entries, separated by os.pathsep (for collectstatic);
BENCH_HISTORY and BENCH_DICTIONARIES: staticmw's STATICMW_HISTORY and STATICMW_DICTIONARIES
(with KEEP = 1).
"""

import os

PEER = os.environ.get("BENCH_PEER", "django-staticmw")
OURS = PEER.startswith("django-staticmw")

SECRET_KEY = "benchmark-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.staticfiles",
]
STATIC_MIDDLEWARE = (
    "staticmw.django.StaticFilesMiddleware"
    if OURS
    else "whitenoise.middleware.WhiteNoiseMiddleware"
)
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    STATIC_MIDDLEWARE,
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "djangosite.urls"
DATABASES = {}
STATIC_URL = "/static/"
STATIC_ROOT = os.environ.get("BENCH_ROOT", "/nonexistent")
STATICFILES_DIRS = [d for d in os.environ.get("BENCH_SOURCES", "").split(os.pathsep) if d]
STORAGES = {
    "staticfiles": {
        "BACKEND": "djangosite.storages.Ours"
        if OURS
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    }
}
LOGGING_CONFIG = None
STATICMW_HISTORY = os.environ.get("BENCH_HISTORY") or None
STATICMW_DICTIONARIES = int(os.environ.get("BENCH_DICTIONARIES", "0"))
STATICMW_KEEP = 1 if STATICMW_HISTORY or STATICMW_DICTIONARIES else None
