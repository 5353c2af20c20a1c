"""The MCP server behind ``atoms-auth mcp``: five tools over stdio, each with a description an agent can
act on, an input schema, an output schema (``schemas``) and annotations. stdout carries JSON-RPC only:
the SDK's stdio transport points fd 1 at stderr while it serves, and every log line goes to stderr."""

from __future__ import annotations

import logging
import os
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import CallToolResult, ToolAnnotations
from pydantic import Field

from authkit_mcp_cli._version import __version__
from authkit_mcp_cli.agent import catalogue, logins, schemas
from authkit_mcp_cli.agent.doctor_tool import run_doctor
from authkit_mcp_cli.agent.results import guarded

INSTRUCTIONS = (
    "atoms-auth diagnoses OAuth on remote MCP servers against the MCP authorization spec. To fix a server: run doctor on its URL, "
    "fix the root cause and the FAIL findings first (each has a fix and a spec reference; explain_check tells more about a check), "
    "then run doctor again until nothing fails. doctor only reads and never logs in. To try a real token, the user runs "
    "`atoms-auth login --server URL` once in a terminal; then token_status shows the login and call uses it."
)
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
LOCAL = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
# call sends whatever request the agent names to the user's server with the user's token, and refreshing
# rotates the stored refresh token: not read-only.
CALLS = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True)

ServerUrls = Annotated[
    str | list[str] | None,
    Field(description="The MCP endpoint URL, e.g. https://host/api/mcp, or a list of them (diagnosed at once, one report each). Left out: the server configured in the environment or .env."),
]
CheckIds = Annotated[list[str] | None, Field(description="Run only these check ids (list_checks lists them); left out: every check.")]
AsUrl = Annotated[str | None, Field(description="The authorization server's issuer URL (e.g. https://your-env.authkit.app), when it is known; without it doctor finds it from the server's metadata.")]
CheckId = Annotated[str, Field(description="A check id, e.g. prm.resource (as in a doctor finding's id).")]
OneServer = Annotated[str, Field(description="The MCP endpoint URL a login is stored for (atoms-auth login --server URL).")]
ToolName = Annotated[str | None, Field(description="The server's tool to call; left out: list the server's tools (tools/list).")]
Arguments = Annotated[dict[str, Any] | None, Field(description="The tool's arguments, a JSON object.")]


def build() -> MCPServer:
    debug = bool(os.environ.get("ATOMS_AUTH_DEBUG"))
    server: MCPServer = MCPServer("atoms-auth", version=__version__, instructions=INSTRUCTIONS, log_level="DEBUG" if debug else "WARNING")

    @server.tool(annotations=READ_ONLY, title="Diagnose OAuth on an MCP server")
    async def doctor(ctx: Context, server: ServerUrls = None, checks: CheckIds = None, authorization_server: AsUrl = None) -> Annotated[CallToolResult, schemas.DoctorOutput]:
        """Check an MCP server's OAuth (its 401 challenge, protected-resource metadata, authorization server,
        token validation) against the MCP authorization spec, as `atoms-auth doctor --json` does. Read-only:
        it never logs in. Returns one schema-1 report per server: every finding with its status
        (pass/warn/fail/error/skip/info), message, evidence, fix and spec reference; `root_cause` names the
        finding to fix first, and `caused_by` marks findings that only follow from another. Sends a progress
        notification for each request. An unreachable server is an error result whose report says why."""
        urls = [server] if isinstance(server, str) else list(server or [])

        async def progress(done: float, message: str) -> None:
            await ctx.report_progress(done, None, message)

        return await guarded(lambda: run_doctor(urls, checks or [], authorization_server, progress))

    @server.tool(annotations=LOCAL, title="List doctor's checks")
    async def list_checks(ids: Annotated[list[str] | None, Field(description="Only these check ids; left out: the whole catalogue.")] = None) -> Annotated[CallToolResult, schemas.CheckList]:
        """doctor's check catalogue (`atoms-auth doctor --list-checks --json`): each check's id, level
        (MUST: a problem fails; SHOULD: it warns; INFO), title and spec reference."""
        return await guarded(_async(catalogue.list_checks, ids or []))

    @server.tool(annotations=LOCAL, title="Explain one check")
    async def explain_check(id: CheckId) -> Annotated[CallToolResult, schemas.CheckExplained]:
        """What one doctor check verifies, what its level means for a finding, its spec reference and the
        typical fix (docs/checks.md): read it before changing the server for a finding."""
        return await guarded(_async(catalogue.explain_check, id))

    @server.tool(annotations=LOCAL, title="Show the stored logins")
    async def token_status(server: Annotated[str | None, Field(description="Only the login for this MCP endpoint URL; left out: every stored login.")] = None) -> Annotated[CallToolResult, schemas.LoginList]:
        """The logins `atoms-auth login` stored (`atoms-auth token show`): server, resource, authorization
        server, the token's audience, scopes, expiry, whether it can be refreshed, and the problems a correct
        server would refuse it for. Never a token or another secret."""
        return await guarded(_async(logins.token_status, server))

    @server.tool(annotations=CALLS, title="Call the MCP server with the stored token")
    async def call(server: OneServer, tool: ToolName = None, arguments: Arguments = None) -> Annotated[CallToolResult, schemas.CallOutput]:
        """Send an authenticated MCP request to the server with the stored login's token, as `atoms-auth
        call` does: tools/list, or tools/call of one tool. It refreshes an expired or refused token (keeping
        the rotated refresh token) but never opens a browser: when a login or more scope is needed, the
        error result names the `atoms-auth login` command for the user to run. Use it to confirm a fix
        with a real token. A tool that fails on the server is not an error of this call: see result.isError."""
        return await guarded(lambda: logins.call(server, tool, arguments))

    return server


def _async(fn: Any, *args: Any) -> Any:
    async def run() -> CallToolResult:
        return fn(*args)

    return run


def serve_stdio() -> None:
    """Serve until the client closes stdin; logs on stderr."""
    import anyio

    logging.getLogger("atoms-auth.mcp").setLevel(logging.DEBUG if os.environ.get("ATOMS_AUTH_DEBUG") else logging.WARNING)
    anyio.run(build().run_stdio_async)
