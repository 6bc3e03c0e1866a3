"""The WSGI middleware under its first module name; it lives in
:mod:`staticmw.integrations.wsgi`."""

from .integrations.wsgi import (
    FileChangedError,
    MountInfo,
    Redirect,
    StaticMiddleware,
    honours_content_length,
    no_application,
    wsgi_body,
    wsgi_request,
)

__all__ = [
    "FileChangedError",
    "MountInfo",
    "Redirect",
    "StaticMiddleware",
    "honours_content_length",
    "no_application",
    "wsgi_body",
    "wsgi_request",
]
