"""Flask under its documented path; it lives in :mod:`staticmw.integrations.flask`."""

from .integrations.flask import StaticMW, build_root, static_mounts, staticmw_cli

__all__ = ["StaticMW", "build_root", "static_mounts", "staticmw_cli"]
