"""``atoms-auth mcp``: doctor, the check catalogue, the stored logins and call as MCP tools over stdio."""

from __future__ import annotations


def mcp() -> None:
    """Run atoms-auth as an MCP server on stdio, for coding agents.

    Tools: doctor (read-only; never logs in), list_checks, explain_check,
    token_status (never a secret) and call (with a stored login's token;
    never opens a browser). stdout carries only JSON-RPC; logs go to stderr.
    Add it to an agent, e.g. `claude mcp add atoms-auth -- atoms-auth mcp`.
    It serves until the client closes stdin.
    """
    from authkit_mcp_cli.agent.server import serve_stdio  # the mcp SDK loads only here (--help stays fast)

    serve_stdio()
