"""Serving: the core and its roots, the path resolver below them, representations and the
memory of them, bodies, the options, ``explain``, and the watch on files that change."""
