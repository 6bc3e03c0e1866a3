"""The ``collectstatic`` storage under its documented path
(``"staticmw.django.storage.ManifestStaticFilesStorage"``); it lives in
:mod:`staticmw.integrations.django.storage`."""

from ..integrations.django.storage import ManifestStaticFilesStorage

__all__ = ["ManifestStaticFilesStorage"]
