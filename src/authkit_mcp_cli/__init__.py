"""atoms-auth: diagnose and set up OAuth for remote MCP servers.

The command-line tool is ``atoms-auth``; the library underneath is usable on
its own (``discovery``, ``checks``, ``report``) and raises only the errors in
:mod:`authkit_mcp_cli.errors`.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
