"""``runserver`` that leaves static files to staticmw's middleware, as in production.

Active when ``"staticmw.django"`` comes before ``"django.contrib.staticfiles"`` in
``INSTALLED_APPS``; ``--nostatic`` is then always on.
"""

from __future__ import annotations

from typing import Any

from django.contrib.staticfiles.management.commands.runserver import Command as StaticCommand


class Command(StaticCommand):  # type: ignore[misc]
    help = "Starts a development server; static files are served by staticmw's middleware."

    def get_handler(self, *args: Any, **options: Any) -> Any:
        options["use_static_handler"] = False
        return super().get_handler(*args, **options)
