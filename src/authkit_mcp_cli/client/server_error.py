"""A server error on a request that carried a token: is it the token?

A server must answer a token it does not accept with 401 and a Bearer
challenge (RFC 6750 §3.1), but some fail instead: the TypeScript SDK's
example server answers a token it has forgotten (after a restart) with 500
and no WWW-Authenticate. One anonymous ``initialize`` tells the cases apart
without guessing: a 401 challenge without the token means the server fails
on this token, and the token can be treated as refused; an error without the
token too means the server fails on every request."""

from __future__ import annotations

import json

from authkit_mcp_cli._version import __version__
from authkit_mcp_cli.challenge import Challenges
from authkit_mcp_cli.client.context import Context
from authkit_mcp_cli.error_codes import ErrorCode
from authkit_mcp_cli.errors import AuthChallenge, RemoteRefused
from authkit_mcp_cli.http import exchange

PROBE_PROTOCOL = "2025-11-25"  # initialize is answered by servers of both generations (the 2026-07-28 ones still serve it during the transition)


def failed_on_token(error: RemoteRefused, token: str | None) -> bool:
    """A 5xx from the MCP endpoint, no challenge, on a request that carried a token."""
    return error.code == ErrorCode.MCP_HTTP_ERROR and token is not None and (error.status or 0) >= 500


async def probe_without_token(ctx: Context, server_url: str) -> tuple[int | None, AuthChallenge | None]:
    """The status of an anonymous ``initialize``, and its challenge when it is a 401/403."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": PROBE_PROTOCOL, "capabilities": {}, "clientInfo": {"name": "atoms-auth", "version": __version__}}}
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
    ex = await exchange(ctx.client, "POST", server_url, policy=ctx.policy, headers=headers, content=json.dumps(body).encode(), follow_redirects=False)
    if not ex.ok or ex.status is None:
        return None, None
    if ex.status == 401 and ex.header_list("www-authenticate"):
        return ex.status, Challenges.read(ex.status, ex.header_list("www-authenticate")).refusal(server_url)
    return ex.status, None


def explained(error: RemoteRefused, probe_status: int | None, challenge: AuthChallenge | None, server_url: str, *, fresh: bool) -> RemoteRefused:
    """``error`` with what the anonymous request proved, and the fix that follows from it."""
    if challenge is not None:
        which = "a token issued during this run" if fresh else "the stored token"
        cause = (
            f" Without a token the same request is answered 401 with a Bearer challenge, so the server fails on {which}: it does not accept it"
            " and fails instead of refusing it (e.g. it or its authorization server restarted and forgot its tokens)."
        )
        hint = (
            f"The server should answer such a token with 401 invalid_token. Log in again: atoms-auth login --server {server_url} (or atoms-auth call --login)."
            if not fresh
            else "The server fails on the tokens its authorization server issues: check its logs and its token validation."
        )
    elif probe_status is not None:
        cause = f" Without a token the same request is answered HTTP {probe_status} and no challenge, so the failure is not about the token."
        hint = "The server fails on this request: check its logs."
    else:
        return error
    return RemoteRefused(error.message + cause, code=error.code, hint=hint, spec=error.spec, url=error.url, remote=error.remote)
