"""Manifests, read: which hashed name stands for a logical name, import maps, and the URLs
built from them. Serving and templates read these; the build writes them."""

from .formats import MANIFEST_NAME, Manifest, ManifestError, ManifestFile

__all__ = ["MANIFEST_NAME", "Manifest", "ManifestError", "ManifestFile"]
