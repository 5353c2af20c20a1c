"""Before the browser: does the AS still accept this client for this
authorization request? A GET of the authorization URL, not followed
(RFC 6749 §4.1.2.1: an unknown ``client_id`` is answered with an error, not a
redirect). Demo and in-memory authorization servers forget their clients on
restart; without this check the user would stare at an error page while the
login waits out its timeout.

It is never followed (a redirect is only read), and a code an AS that
approves without a page puts in the redirect's ``Location`` is never
exchanged: this request is not the user's consent. It goes through the
context's client like every request, so it is traced, with that code masked."""

from __future__ import annotations

from authkit_mcp_cli.client.context import Context
from authkit_mcp_cli.discovery import network_error
from authkit_mcp_cli.http import exchange
from authkit_mcp_cli.oauth.authorize import AuthorizeAnswer, classify_authorization_answer

ACCEPT = "text/html,application/xhtml+xml,application/json;q=0.9,*/*;q=0.8"  # what a browser asks for


async def check_authorization_request(ctx: Context, url: str, redirect_uri: str) -> AuthorizeAnswer:
    """How the AS answers ``url`` (see :class:`~authkit_mcp_cli.oauth.authorize.AuthorizeAnswer`); a network failure raises."""
    ex = await exchange(ctx.client, "GET", url, policy=ctx.policy, headers={"Accept": ACCEPT}, follow_redirects=False)
    if not ex.ok:
        raise network_error(ex, f"GET {url} (the authorization endpoint) failed")
    return classify_authorization_answer(ex.status or 0, ex.header("location"), ex.body, url=url, redirect_uri=redirect_uri)
