"""Content-Type for a file name, from a built-in table so the answer never depends on the host."""

from __future__ import annotations

import re
from collections.abc import Mapping

DEFAULT_TYPE = "application/octet-stream"

# Keyed by lower-case extension including the dot. Kept independent of the
# operating system's mime.types so two machines always agree.
EXTENSIONS: dict[str, str] = {
    # text and documents
    ".html": "text/html",
    ".htm": "text/html",
    ".css": "text/css",
    ".csv": "text/csv",
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".ics": "text/calendar",
    ".vtt": "text/vtt",
    ".xml": "application/xml",
    ".xhtml": "application/xhtml+xml",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".pdf": "application/pdf",
    # scripts and data
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".cjs": "text/javascript",
    ".json": "application/json",
    ".map": "application/json",
    ".jsonld": "application/ld+json",
    ".webmanifest": "application/manifest+json",
    ".wasm": "application/wasm",
    # images
    ".png": "image/png",
    ".apng": "image/apng",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".jxl": "image/jxl",
    ".svg": "image/svg+xml",
    ".ico": "image/vnd.microsoft.icon",
    ".bmp": "image/bmp",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    # fonts
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".eot": "application/vnd.ms-fontobject",
    # audio and video
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".wav": "audio/wav",
    ".flac": "audio/flac",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".webm": "video/webm",
    ".ogv": "video/ogg",
    ".mov": "video/quicktime",
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    # archives and compressed sidecars served under their own names
    ".gz": "application/gzip",
    ".tgz": "application/gzip",
    ".br": "application/x-brotli",
    ".zst": "application/zstd",
    ".zstd": "application/zstd",
    ".zip": "application/zip",
    ".tar": "application/x-tar",
    ".bz2": "application/x-bzip2",
    ".xz": "application/x-xz",
    ".7z": "application/x-7z-compressed",
}

# Non-text types whose bodies are text, so they get a charset parameter too.
_TEXTUAL = frozenset(
    {
        "text/javascript",
        "application/json",
        "application/ld+json",
        "application/manifest+json",
        "application/xml",
        "application/xhtml+xml",
        "application/rss+xml",
        "application/atom+xml",
        "image/svg+xml",
        "application/vnd.apple.mpegurl",
    }
)

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_MEDIA_TYPE = re.compile(rf"{_TOKEN}/{_TOKEN}(\s*;\s*{_TOKEN}=({_TOKEN}|\"[^\"\\\r\n]*\"))*")
_CHARSET = re.compile(_TOKEN)


def is_valid_media_type(value: str) -> bool:
    """True when *value* is a syntactically valid media type (with optional parameters)."""
    return bool(_MEDIA_TYPE.fullmatch(value))


def is_valid_charset(value: str) -> bool:
    """True when *value* can stand as a charset token."""
    return bool(_CHARSET.fullmatch(value))


def is_textual(media_type: str) -> bool:
    """Whether a bare media type (no parameters) carries text and deserves a charset."""
    return media_type.startswith("text/") or media_type in _TEXTUAL


class MediaTypes:
    """Looks up a Content-Type by whole file name first, then by extension."""

    __slots__ = ("_charset", "_extensions", "_full", "_names")

    def __init__(self, overrides: Mapping[str, str] | None = None, charset: str | None = "utf-8"):
        self._extensions = dict(EXTENSIONS)
        self._names: dict[str, str] = {}
        self._charset = charset
        # One string per distinct Content-Type, shared by every file that has it.
        self._full: dict[str, str] = {}
        for key, value in (overrides or {}).items():
            lowered = key.lower()
            if lowered.startswith("."):
                self._extensions[lowered] = value
            elif "." in lowered:
                self._names[lowered] = value  # a whole name such as "README.md"
            else:
                # "ts" or "LICENSE": meant as an extension or as a whole name; both
                # readings are taken, since neither can surprise the other.
                self._extensions["." + lowered] = value
                self._names[lowered] = value

    def bare_type(self, name: str) -> str:
        """The media type for a file name, without parameters."""
        lowered = name.lower()
        found = self._names.get(lowered)
        if found is not None:
            return found
        dot = lowered.rfind(".")
        if dot > 0:
            found = self._extensions.get(lowered[dot:])
            if found is not None:
                return found
        return DEFAULT_TYPE

    def content_type(self, name: str) -> str:
        """The Content-Type field value for a file name, with charset on textual types."""
        media_type = self.bare_type(name)
        found = self._full.get(media_type)
        if found is None:
            found = media_type
            if self._charset and ";" not in media_type and is_textual(media_type):
                found = f"{media_type}; charset={self._charset}"
            self._full[media_type] = found
        return found
