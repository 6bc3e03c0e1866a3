"""Django under an ASGI server, with static files answered before Django is involved.

python manage.py collectstatic --noinput
uvicorn mysite.asgi:application
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
django_application = get_asgi_application()

from django.conf import settings  # noqa: E402  (after Django is set up)

from staticmw.asgi import StaticMiddleware  # noqa: E402
from staticmw.django import static_prefix  # noqa: E402

application = StaticMiddleware(
    django_application, root=str(settings.STATIC_ROOT), prefix=static_prefix()
)
