"""Starlette and FastAPI under their documented path; it lives in
:mod:`staticmw.integrations.starlette`."""

from .integrations.starlette import StaticRoute, install, template_globals

__all__ = ["StaticRoute", "install", "template_globals"]
