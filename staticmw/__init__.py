"""staticmw: safe, RFC 9110-correct static file serving for any WSGI or ASGI application."""

from .bodies import FileChangedError
from .core import StaticFiles
from .manifest import Manifest, ManifestError
from .options import ConfigurationError
from .request import Request
from .urls import NotInManifest, StaticURLs
from .wsgi import StaticMiddleware

__version__ = "0.1.0"

__all__ = [
    "ConfigurationError",
    "FileChangedError",
    "Manifest",
    "ManifestError",
    "NotInManifest",
    "Request",
    "StaticFiles",
    "StaticMiddleware",
    "StaticURLs",
    "__version__",
]
