"""Sphinx settings for staticmw's documentation: Markdown pages (MyST) and the API from
docstrings, built with warnings as errors by ``make docs``."""

import staticmw

project = "staticmw"
author = "the staticmw authors"
copyright = "staticmw's authors, MIT licence"
release = version = staticmw.__version__

extensions = ["myst_parser", "sphinx.ext.autodoc"]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]
autodoc_member_order = "bysource"
autodoc_typehints = "description"
html_theme = "furo"
html_title = f"staticmw {version}"
# Links to other sites are not fetched (the build must not need a network).
linkcheck_ignore = [r"https?://.*"]
