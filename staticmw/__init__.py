"""staticmw: safe, RFC 9110-correct static file serving for any WSGI or ASGI application."""

from .http.request import Request
from .integrations.wsgi import StaticMiddleware
from .manifest.formats import Manifest, ManifestError
from .manifest.urls import NotInManifest, StaticURLs
from .serve.bodies import FileChangedError
from .serve.core import StaticFiles
from .serve.options import ConfigurationError

__version__ = "0.2.0.dev0"

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
