"""Django under its documented paths: ``"staticmw.django"`` in ``INSTALLED_APPS``,
``"staticmw.django.StaticFilesMiddleware"`` in ``MIDDLEWARE``, and
:func:`get_asgi_application`. The code lives in :mod:`staticmw.integrations.django`."""

from ..integrations.django import StaticFilesMiddleware, get_asgi_application

__all__ = ["StaticFilesMiddleware", "get_asgi_application"]
