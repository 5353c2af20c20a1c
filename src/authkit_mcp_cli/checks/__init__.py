"""doctor's checks: each declares the probes it reads, evidence is gathered once
(``gather.gather``), then each check is a pure function over it. Ids are a
public contract (README)."""

# Imported in catalogue order: authorization server, MCP server, doctor --login, AuthKit.
from authkit_mcp_cli.checks import as_checks  # noqa: F401, I001
from authkit_mcp_cli.checks import as_grants  # noqa: F401
from authkit_mcp_cli.checks import challenge_checks  # noqa: F401
from authkit_mcp_cli.checks import prm_checks  # noqa: F401
from authkit_mcp_cli.checks import token_checks  # noqa: F401
from authkit_mcp_cli.checks import login_checks  # noqa: F401
from authkit_mcp_cli.checks import authkit_checks  # noqa: F401
from authkit_mcp_cli.checks.model import Check, Level, Outcome, Result, Status, run_check
from authkit_mcp_cli.checks.probes import Probe
from authkit_mcp_cli.checks.registry import CATALOGUE

__all__ = ["CATALOGUE", "Check", "Level", "Outcome", "Probe", "Result", "Status", "run_check"]
