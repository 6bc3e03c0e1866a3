"""Response bodies under their documented path (``serve()`` returns a :class:`FileBody`); they
live in :mod:`staticmw.serve.bodies`."""

from .serve.bodies import BLOCK_SIZE, SMALL_BODY, BodyPart, FileBody, FileChangedError

__all__ = ["BLOCK_SIZE", "SMALL_BODY", "BodyPart", "FileBody", "FileChangedError"]
