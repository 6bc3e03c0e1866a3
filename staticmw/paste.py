"""PasteDeploy's filter, documented here; it lives in :mod:`staticmw.integrations.paste`."""

from .integrations.paste import filter_factory

__all__ = ["filter_factory"]
