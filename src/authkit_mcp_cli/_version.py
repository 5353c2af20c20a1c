"""The distribution's version, in a leaf module: the package root re-exports it, and modules that
need it (the User-Agent, ``--version``, reports, serve's server info) import it from here, never from
the root, whose type-checking imports reach the whole package (issue #21)."""

__version__ = "0.1.0"
