"""Before the browser: does the AS still accept this client for this
authorization request? A GET of the authorization URL, not followed
(RFC 6749 §4.1.2.1: an unknown ``client_id`` is answered with an error, not a
redirect). Demo and in-memory authorization servers forget their clients on
restart; without this check the user would stare at an error page while the
login waits out its timeout.

The request goes through its own untraced HTTP client: an AS that approves
without a page answers with a redirect whose ``Location`` carries the
authorization code, and the trace masks secrets in URLs and bodies, not in
that header; the exchange is written to the trace here with it masked."""

from __future__ import annotations

from authkit_mcp_cli.client.context import Context
from authkit_mcp_cli.discovery import network_error
from authkit_mcp_cli.http import Exchange, exchange, make_client
from authkit_mcp_cli.oauth.authorize import AuthorizeAnswer, classify_authorization_answer
from authkit_mcp_cli.redact import redact_url
from authkit_mcp_cli.trace import TracedExchange

ACCEPT = "text/html,application/xhtml+xml,application/json;q=0.9,*/*;q=0.8"  # what a browser asks for


async def check_authorization_request(ctx: Context, url: str, redirect_uri: str) -> AuthorizeAnswer:
    """How the AS answers ``url`` (see :class:`~authkit_mcp_cli.oauth.authorize.AuthorizeAnswer`); a network failure raises."""
    async with make_client(ctx.policy) as client:
        ex = await exchange(client, "GET", url, policy=ctx.policy, headers={"Accept": ACCEPT}, follow_redirects=False)
    _trace(ctx, ex)
    if not ex.ok:
        raise network_error(ex, f"GET {url} (the authorization endpoint) failed")
    return classify_authorization_answer(ex.status or 0, ex.header("location"), ex.body, url=url, redirect_uri=redirect_uri)


def _trace(ctx: Context, ex: Exchange) -> None:
    if ctx.trace is None:
        return
    headers = [(k, v) for k, v in ex.headers.multi_items()]
    if not ctx.trace.reveal:
        headers = [(k, redact_url(v) if k.lower() == "location" else v) for k, v in headers]
    ctx.trace.record(TracedExchange(ex.method, ex.url, list(ex.request_headers.items()), None, ex.status, headers, ex.body, ex.error, ex.elapsed_ms))
