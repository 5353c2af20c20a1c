"""``atoms-auth call``: an authenticated MCP request with the stored token."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from authkit_mcp_cli.commands import options
from authkit_mcp_cli.commands.option_groups import with_option_groups
from authkit_mcp_cli.error_codes import ErrorCode

if TYPE_CHECKING:
    from authkit_mcp_cli.mcp_wire import LogLine


@with_option_groups
def call(
    server: options.Server = None,
    authkit_domain: options.ClientAuthkitDomain = None,
    tool: Annotated[str | None, typer.Option("--tool", metavar="NAME", help="Call this tool; without it, list the tools.")] = None,
    arguments: Annotated[str, typer.Option("--arguments", metavar="JSON", help="The tool's arguments as a JSON object.")] = "{}",
    login: Annotated[bool, typer.Option("--login", help="Log in (browser) when there is no usable token.")] = False,
    json_output: options.Json = False,
    wire: options.Wire = "auto",
    scope: Annotated[list[str] | None, typer.Option("--scope", metavar="SCOPE", help="Extra scopes to request when logging in (repeatable).")] = None,
    *,
    flags: options.LoginFlags,
    reveal: options.Reveal = False,
    http: options.HttpOptions,
) -> None:
    """List tools or call one, with the stored token.

    Refreshes an expired token (keeping the newest rotated refresh token); on
    401 it refreshes once, then (with --login) logs in again, and a token
    refused right after it was issued or refreshed ends in mcp.token-rejected
    (audience against resource, and the fix); on 403 insufficient_scope it
    authorizes again with the union of the scopes, at most 3 authorizations
    (MCP: Step-Up Authorization Flow).

    A refused token ends in mcp.token-rejected or mcp.step-up-exhausted. An
    HTTP error from the MCP endpoint names its status and a body excerpt
    (mcp.http-error); an unknown tool lists the tools the server offers
    (mcp.unknown-tool, exit 1). Log notifications the server sends are
    printed on stderr as "server log: LEVEL [LOGGER] DATA".
    """
    import asyncio
    import json

    from authkit_mcp_cli.client.call import call_mcp
    from authkit_mcp_cli.commands._client import client_context, login_options, server_or_stored
    from authkit_mcp_cli.config import load_environment
    from authkit_mcp_cli.errors import UsageError
    from authkit_mcp_cli.mcp_wire import call_tool, list_tools
    from authkit_mcp_cli.safe_text import json_text

    try:
        args = json.loads(arguments)
    except ValueError as exc:
        raise UsageError(f"--arguments is not JSON: {exc}.", code=ErrorCode.USAGE_ARGUMENTS, hint='Pass a JSON object, e.g. --arguments \'{"text": "hi"}\'.') from None
    if not isinstance(args, dict):
        raise UsageError("--arguments must be a JSON object.", code=ErrorCode.USAGE_ARGUMENTS)
    env = load_environment()
    server_url = server_or_stored(server, env)
    opts = login_options(env, flags, authkit_domain=authkit_domain, scope=scope)
    if login:
        from authkit_mcp_cli.client.grants.registry import grant_for

        grant_for(opts)  # the grant's own option errors end here, before any request (exit 2)

    async def operation(client: Any) -> Any:
        if tool:
            return await call_tool(client, tool, args)
        return await list_tools(client)

    async def run() -> Any:
        # progress (refresh, step-up, login) goes to stderr even with --json: stdout stays one document
        async with client_context(http, reveal=reveal) as ctx:
            result, _ = await call_mcp(ctx, server_url, operation, wire=wire, opts=opts, allow_login=login, on_log=_print_log_line)
            return result

    result = asyncio.run(run())
    if json_output:
        typer.echo(json_text(json.dumps({"schema": 1, **result} if tool else {"schema": 1, "tools": result}, indent=2, ensure_ascii=False)))  # a remote's C1 controls escaped too
    elif tool:
        _print_tool_result(result)
    else:
        from authkit_mcp_cli.commands._render import print_line  # plain lines, escaped: no rich (issue #16 item 2)

        for t in result:
            print_line(f"{t['name']}  {t.get('description') or ''}", bold=len(t["name"]))
    raise typer.Exit(1 if tool and result.get("isError") else 0)


def _print_log_line(line: LogLine) -> None:
    """A server's notifications/message on stderr (already escaped; markup off, so it cannot style the terminal)."""
    from authkit_mcp_cli.console import stderr_console
    from authkit_mcp_cli.safe_text import bounded

    stderr_console().print(f"server log: {bounded(str(line), 4000)}", highlight=False, markup=False, soft_wrap=True)


def _print_tool_result(result: dict) -> None:
    import json

    from authkit_mcp_cli.console import stdout_console

    out = stdout_console()
    if result.get("structuredContent") is not None:
        out.print_json(json.dumps(result["structuredContent"]))
        return
    for item in result.get("content") or []:
        if item.get("type") == "text":
            out.print(item.get("text", ""), highlight=False, markup=False, soft_wrap=True)
        else:
            out.print_json(json.dumps(item))
