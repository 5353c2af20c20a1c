"""doctor's checks: evidence is gathered once (``evidence.gather``), then each
check is a pure function over it. Ids are a public contract (README)."""

# Imported in catalogue order: authorization server, MCP server, AuthKit.
from authkit_mcp_cli.checks import as_checks  # noqa: F401, I001
from authkit_mcp_cli.checks import server_checks  # noqa: F401
from authkit_mcp_cli.checks import authkit_checks  # noqa: F401
from authkit_mcp_cli.checks.model import Check, Level, Outcome, Result, Status, run_check
from authkit_mcp_cli.checks.registry import CATALOGUE

__all__ = ["CATALOGUE", "Check", "Level", "Outcome", "Result", "Status", "run_check"]
