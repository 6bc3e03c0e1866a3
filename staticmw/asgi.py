"""The ASGI middleware under its documented path; it lives in :mod:`staticmw.integrations.asgi`."""

from .integrations.asgi import (
    ASGIApp,
    ASGIStaticMiddleware,
    Message,
    Receive,
    Scope,
    Send,
    StaticMiddleware,
    acknowledge_lifespan,
    asgi_request,
    path_info,
)

__all__ = [
    "ASGIApp",
    "ASGIStaticMiddleware",
    "Message",
    "Receive",
    "Scope",
    "Send",
    "StaticMiddleware",
    "acknowledge_lifespan",
    "asgi_request",
    "path_info",
]
