"""staticmw: safe, RFC 9110-correct static file serving for any WSGI application."""

from .middleware import FileChangedError, StaticMiddleware
from .options import ConfigurationError

__version__ = "0.1.0"

__all__ = ["ConfigurationError", "FileChangedError", "StaticMiddleware", "__version__"]
