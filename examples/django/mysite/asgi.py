"""Django under an ASGI server, with static files answered before Django is involved.

python manage.py collectstatic --noinput
uvicorn mysite.asgi:application
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")

from staticmw.django import get_asgi_application

# Django's ASGI application behind staticmw's ASGI middleware, configured from the same
# settings as StaticFilesMiddleware: static requests never reach Django's handler.
application = get_asgi_application()
