"""staticmw: safe, RFC 9110-correct static file serving for any WSGI or ASGI application."""

from .manifest import Manifest, ManifestError
from .middleware import FileChangedError, StaticMiddleware
from .options import ConfigurationError
from .urls import NotInManifest, StaticURLs

__version__ = "0.1.0"

__all__ = [
    "ConfigurationError",
    "FileChangedError",
    "Manifest",
    "ManifestError",
    "NotInManifest",
    "StaticMiddleware",
    "StaticURLs",
    "__version__",
]
