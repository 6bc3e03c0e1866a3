"""django-staticmw: the documented setup (staticmw's ASGI middleware in front of Django);
django-whitenoise: WhiteNoise's middleware inside Django's ASGI handler."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djangosite.settings")

if os.environ.get("BENCH_PEER", "").startswith("django-staticmw"):
    from staticmw.integrations.django import get_asgi_application
else:
    from django.core.asgi import get_asgi_application

application = get_asgi_application()
