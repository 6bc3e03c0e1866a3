"""The build: collect, hash, rewrite references, precompress, record the module graph and the
import map, write manifests; and ``compress``, retention and history around it. Serving never
imports this package."""

from .pipeline import BuildConfig, BuildError, OutputError, Report, build, hashed_name

__all__ = ["BuildConfig", "BuildError", "OutputError", "Report", "build", "hashed_name"]
