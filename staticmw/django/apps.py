"""The app that ``"staticmw.django"`` in ``INSTALLED_APPS`` installs."""

from ..integrations.django.apps import StaticmwConfig

__all__ = ["StaticmwConfig"]
