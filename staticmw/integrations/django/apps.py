"""``"staticmw.django"`` in ``INSTALLED_APPS``: system checks, and ``runserver`` without static."""

from __future__ import annotations

from django.apps import AppConfig


class StaticmwConfig(AppConfig):  # type: ignore[misc]
    name = "staticmw.integrations.django"
    label = "staticmw"
    verbose_name = "staticmw"

    def ready(self) -> None:
        from django.core import checks

        from . import checks as ours

        # Not tagged "staticfiles": collectstatic, which creates STATIC_ROOT, runs only
        # those, and should not be told that STATIC_ROOT is missing.
        checks.register(ours.check_settings)
        checks.register(ours.check_exposure, checks.Tags.security)
