"""What every client step runs with: the HTTP client and policy, the store,
progress reporting, and the login settings. Plain data; no I/O here but
:func:`send`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from authkit_mcp_cli.http import HttpPolicy, exchange
from authkit_mcp_cli.oauth import HttpRequest
from authkit_mcp_cli.store import Store
from authkit_mcp_cli.trace import TraceWriter

if TYPE_CHECKING:
    import httpx

Reporter = Callable[[str, str], None]  # (step, detail); library code reports, it never prints


def _silent(step: str, detail: str) -> None:
    return None


@dataclass
class Context:
    client: httpx.AsyncClient  # records every exchange to the trace itself
    policy: HttpPolicy
    store: Store
    trace: TraceWriter | None = None  # only for the MCP SDK's own client (mcp_wire.with_session)
    report: Reporter = _silent


@dataclass
class LoginOptions:
    """How to log in: the client's identity, the scopes, and the grant's own settings."""

    client_id: str | None = None
    client_secret: str | None = None
    client_metadata_url: str | None = None
    client_name: str = "atoms-auth"
    auth_method: str | None = None  # None: what the AS advertises (client.registration.choose_auth_method)
    new_client: bool = False  # register again even when a stored registration fits (--new-client)
    scopes: list[str] = field(default_factory=list)
    grant: str = "authorization_code"  # a key of client.grants.GRANTS
    port: int | None = None
    redirect_uri: str | None = None
    open_browser: bool = True
    paste: Callable[[], str | None] | None = None  # reads a pasted redirect URL (--no-browser)
    browser: Callable[[str], Awaitable[None]] | None = None  # replaces webbrowser (the demo's automated leg)
    timeout: float = 300.0  # seconds to wait for the browser
    authkit_domain: str | None = None  # the configured AS: a pre-registered client is used only there
    authkit_domain_source: str | None = None  # "--authkit-domain" or the environment variable's name (messages)
    # the other grants' settings (issue #13); each grant reads only its own
    private_key: str | None = None  # PEM file: private_key_jwt client authentication (RFC 7523 §2.2)
    signing_alg: str | None = None
    key_id: str | None = None
    assertion: str | None = None  # jwt-bearer: a file or "-" (stdin)
    idp_issuer: str | None = None  # enterprise: the IdP doing the RFC 8693 exchange
    idp_client_id: str | None = None
    idp_client_secret: str | None = None
    id_token: str | None = None  # enterprise: a file or "-" (stdin)
    dpop: bool = False  # bind tokens to a per-login key (RFC 9449)


    @property
    def browser_flow(self) -> bool:
        """The authorization code grant needs the authorization endpoint and PKCE; the others only the token endpoint."""
        return self.grant == "authorization_code"


async def send(ctx: Context, request: HttpRequest) -> tuple[int, bytes]:
    """Send a built OAuth request; a network failure raises, any HTTP answer is returned."""
    ex = await exchange(ctx.client, request.method, request.url, policy=ctx.policy, headers=request.headers, content=request.body, follow_redirects=False)
    if not ex.ok:
        from authkit_mcp_cli.discovery import network_error  # discovery loads when a request is sent (issue #16 item 2)

        raise network_error(ex, f"{request.method} {request.url} failed")
    return ex.status or 0, ex.body
