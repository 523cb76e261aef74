"""Foundations every layer uses: class names and paths, the exception hierarchy, atomic files, quiet libraries."""
