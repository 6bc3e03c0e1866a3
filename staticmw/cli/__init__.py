"""The command line: ``staticmw build``, ``compress``, ``check``, ``serve`` and the rest."""

from .commands import main

__all__ = ["main"]
