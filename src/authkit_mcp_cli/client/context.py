"""What every client step runs with: the HTTP session (client, policy, trace), the store,
progress reporting, and the login settings. Plain data; no I/O here but
:func:`send`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from authkit_mcp_cli.client.waiting import quiet_countdown
from authkit_mcp_cli.http import HttpPolicy, HttpSession, exchange
from authkit_mcp_cli.oauth.message import HttpRequest
from authkit_mcp_cli.store import Store
from authkit_mcp_cli.trace import TraceWriter

if TYPE_CHECKING:
    import httpx

Reporter = Callable[[str, str], None]  # (step, detail); library code reports, it never prints
Countdown = Callable[[str, float, "str | None"], AbstractAsyncContextManager[None]]  # (what, seconds, hint): a wait shown to a person


def _silent(step: str, detail: str) -> None:
    return None


@dataclass
class Context:
    client: httpx.AsyncClient  # made by ``http`` (it records every exchange to the trace itself)
    store: Store
    http: HttpSession = field(default_factory=HttpSession)  # the policy and trace; makes the MCP SDK's client too
    report: Reporter = _silent
    countdown: Countdown = quiet_countdown  # a command hands in the terminal's (commands._waiting)

    @property
    def policy(self) -> HttpPolicy:
        return self.http.policy

    @property
    def trace(self) -> TraceWriter | None:
        return self.http.trace


@dataclass
class BrowserOptions:
    """The user's part of a login: the authorization code grant's browser leg (RFC 6749 §4.1) and the wait
    for the user (the device grant reads ``automate`` and ``wait``: its verification page, RFC 8628 §3.3)."""

    port: int | None = None  # the loopback callback's port (RFC 8252 §7.3)
    redirect_uri: str | None = None  # a pre-registered client's
    open_browser: bool = True
    paste: Callable[[], str | None] | None = None  # reads a pasted redirect URL (--no-browser)
    automate: Callable[[str], Awaitable[None]] | None = None  # replaces webbrowser (the demo's automated leg, tests)
    wait: float = 300.0  # seconds to wait for the user (--wait)


@dataclass
class PrivateKeyJwtOptions:
    """``private_key_jwt`` client authentication (RFC 7523 §2.2), for the grants without a browser."""

    private_key: str | None = None  # PEM file
    signing_alg: str | None = None
    key_id: str | None = None


@dataclass
class JwtBearerOptions:
    """--grant jwt-bearer (RFC 7523 §2.1)."""

    assertion: str | None = None  # a file or "-" (stdin)


@dataclass
class EnterpriseOptions:
    """--grant enterprise: the IdP leg (RFC 8693 token exchange for an ID-JAG)."""

    idp_issuer: str | None = None
    idp_client_id: str | None = None
    idp_client_secret: str | None = None
    id_token: str | None = None  # a file or "-" (stdin)


@dataclass
class LoginOptions:
    """How to log in: the client's identity, the scopes, and one object per grant's own settings (each
    grant reads only its own)."""

    client_id: str | None = None
    client_secret: str | None = None
    client_metadata_url: str | None = None
    client_name: str = "atoms-auth"
    auth_method: str | None = None  # None: what the AS advertises (client.registration.choose_auth_method)
    new_client: bool = False  # register again even when a stored registration fits (--new-client)
    scopes: list[str] = field(default_factory=list)
    grant: str = "authorization_code"  # a key of client.grants.GRANTS
    authkit_domain: str | None = None  # the configured AS: a pre-registered client is used only there
    authkit_domain_source: str | None = None  # "--authkit-domain" or the environment variable's name (messages)
    dpop: bool = False  # bind tokens to a per-login key (RFC 9449), whatever the grant
    browser: BrowserOptions = field(default_factory=BrowserOptions)
    private_key_jwt: PrivateKeyJwtOptions = field(default_factory=PrivateKeyJwtOptions)
    jwt_bearer: JwtBearerOptions = field(default_factory=JwtBearerOptions)
    enterprise: EnterpriseOptions = field(default_factory=EnterpriseOptions)

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
