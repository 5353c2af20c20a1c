"""The ``token_status`` and ``call`` tools: the stored logins without a secret, and an authenticated MCP
request with a stored token that refreshes as ``atoms-auth call`` does but never opens a browser: a login
or a step-up it would need is an error result naming the ``atoms-auth login`` to run."""

from __future__ import annotations

import logging
from typing import Any

from mcp_types import CallToolResult

from authkit_mcp_cli.agent.results import answer
from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import AuthorizationDenied

log = logging.getLogger("atoms-auth.mcp")
HTTP_TIMEOUT = 15.0  # call's --http-timeout default


def token_status(server: str | None) -> CallToolResult:
    from authkit_mcp_cli.client.describe import describe_tokens
    from authkit_mcp_cli.client.session import Session
    from authkit_mcp_cli.store import Store
    from authkit_mcp_cli.urls import parse_target_url

    wanted = parse_target_url(server, what="MCP server URL", flag="--server") if server else None
    sessions = [Session.from_record(record) for _, record in Store().all_tokens()]
    logins = [_login(describe_tokens(s)) for s in sessions if wanted is None or s.server_url == wanted]
    if wanted and not logins:
        raise AuthorizationDenied(f"Not logged in to {wanted}.", code=ErrorCode.LOGIN_NOT_LOGGED_IN, hint=f"Run atoms-auth login --server {wanted}.")
    lines = [_login_line(x) for x in logins] or ["No stored logins: run atoms-auth login --server <URL>."]
    return answer({"schema": 1, "logins": logins}, "\n".join(lines))


def _login(info: dict[str, Any]) -> dict[str, Any]:
    """``token list --json``'s facts that are no secret (client.describe.login_summary)."""
    from authkit_mcp_cli.client.describe import login_summary

    return login_summary(info)


def _login_line(x: dict[str, Any]) -> str:
    if x["expires_in"] is None:
        expiry = "no expiry recorded"
    elif x["expired"]:
        expiry = "expired" + (" (refreshable)" if x["has_refresh_token"] else " (log in again)")
    else:
        expiry = f"expires in {x['expires_in']} s"
    problems = "".join(f"\n  problem: {p}" for p in x["problems"])
    return f"{x['server']}: issuer {x['issuer']}, audience {x['audience']!r}, scope {x['scope']!r}, {expiry}{problems}"


async def call(server: str, tool: str | None, arguments: dict[str, Any] | None) -> CallToolResult:
    from authkit_mcp_cli.client.call import call_mcp
    from authkit_mcp_cli.client.context import Context
    from authkit_mcp_cli.config import load_environment
    from authkit_mcp_cli.http import HttpPolicy, HttpSession
    from authkit_mcp_cli.mcp_wire import call_tool, list_tools
    from authkit_mcp_cli.store import Store
    from authkit_mcp_cli.urls import parse_target_url

    server_url = parse_target_url(server, what="MCP server URL", flag="--server")
    opts = _login_options(load_environment())
    steps: list[str] = []

    def report(step: str, detail: str) -> None:
        steps.append(step)
        log.info("%s: %s", step, detail)

    async def operation(client: Any) -> Any:
        return await call_tool(client, tool, arguments or {}) if tool else await list_tools(client)

    session = HttpSession(HttpPolicy(timeout=HTTP_TIMEOUT, allow_insecure=False))
    async with session.client() as http:
        ctx = Context(client=http, store=Store(), http=session, report=report)
        result, _ = await call_mcp(ctx, server_url, operation, wire="auto", opts=opts, allow_login=False, allow_step_up=False, on_log=lambda line: log.info("server log: %s", line))
    refreshed = "refresh" in steps
    if tool:
        doc = {"server": server_url, "tool": tool, "result": result, "refreshed": refreshed}
        said = "reported an error" if result.get("isError") else "answered"
        text = f"{tool} on {server_url} {said}" + (" (the stored token was refreshed first)" if refreshed else "") + ": see result."
        return answer(doc, text)
    tools = [{"name": t["name"], "description": t.get("description")} for t in result]
    names = ", ".join(t["name"] for t in tools) or "none"
    return answer({"server": server_url, "tools": tools, "refreshed": refreshed}, f"{server_url} accepted the stored token and offers {len(tools)} {'tool' if len(tools) == 1 else 'tools'}: {names}.")


def _login_options(env: Any) -> Any:
    """What refresh and rediscovery read of the login settings: the pre-registered client and the configured
    AS it is bound to (client.issuer_binding); no browser, as nothing here logs in."""
    from authkit_mcp_cli.client.context import BrowserOptions, LoginOptions
    from authkit_mcp_cli.client.issuer_binding import configured_domain
    from authkit_mcp_cli.config import ENV_CLIENT_ID

    domain, source = configured_domain(None, env)
    return LoginOptions(client_id=env.get(ENV_CLIENT_ID) or None, browser=BrowserOptions(open_browser=False), authkit_domain=domain, authkit_domain_source=source)
