"""Options shared by several commands, declared once. Choices are
``Literal`` types, so typer validates and completes them.

The groups at the end (:class:`HttpOptions`, :class:`LoginFlags`) are sets
of options a command takes as one object: a dataclass whose fields are the
options (see ``commands.option_groups``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import typer

Server = Annotated[
    str | None,
    typer.Option(
        "--server",
        metavar="URL",
        help="MCP endpoint, e.g. https://host/api/mcp. Default: $FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_BASE_URL + $ATOMS_FASTMCP_HTTP_PATH (/api/mcp).",
        show_default=False,
    ),
]
AuthkitDomain = Annotated[
    str | None,
    typer.Option(
        "--authkit-domain",
        metavar="URL",
        help="Authorization server issuer, e.g. https://your-env.authkit.app. Default: $FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_AUTHKIT_DOMAIN, else discovered from the server. A pre-registered --client-id is used only with this AS.",
        show_default=False,
    ),
]
# call: the AS only matters for the pre-registered client a new login would use (issue #20 item 1).
ClientAuthkitDomain = Annotated[
    str | None,
    typer.Option(
        "--authkit-domain",
        metavar="URL",
        help="The authorization server a pre-registered --client-id belongs to (default: $FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_AUTHKIT_DOMAIN, else the issuer stored with it); its credentials are sent nowhere else.",
        show_default=False,
    ),
]
# AuthKit domain where nothing is discovered (init writes it; serve validates against it) (issue #15 item 8).
ConfiguredAuthkitDomain = Annotated[
    str | None,
    typer.Option(
        "--authkit-domain",
        metavar="URL",
        help="AuthKit domain (the authorization server's issuer), e.g. https://your-env.authkit.app: an origin, no path. Default: $FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_AUTHKIT_DOMAIN.",
        show_default=False,
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout and nothing else there.")]
Trace = Annotated[str | None, typer.Option("--trace", metavar="FILE", help="Write every HTTP exchange to FILE (JSON lines), secrets redacted; - (or /dev/stderr) writes each to stderr as it happens.", show_default=False)]
# --timeout is the HTTP deadline in every command; the wait for the user is --wait.
Timeout = Annotated[float, typer.Option("--timeout", metavar="SECONDS", min=0.1, help="Deadline for each HTTP request.")]
# The name login, call, register, logout and token refresh used for --timeout until 0.x: hidden, warned, for one release.
DeprecatedHttpTimeout = Annotated[float | None, typer.Option("--http-timeout", metavar="SECONDS", min=0.1, hidden=True, help="Deprecated: --timeout.", show_default=False)]
Wait = Annotated[float, typer.Option("--wait", metavar="SECONDS", min=1, help="Seconds to wait for the sign-in: the browser's authorization response, or the approval on another device with --grant device-code.")]
AllowHttp = Annotated[bool, typer.Option("--allow-http", help="Allow plain http to non-loopback hosts (trusted test setups only).")]
Reveal = Annotated[bool, typer.Option("--reveal", help="Show secrets (tokens, client secrets) in output and traces.")]

WireMode = Literal["auto", "legacy", "2026-07-28"]
Wire = Annotated[WireMode, typer.Option("--wire", help="MCP wire generation: auto (2026-07-28, falling back to initialize), legacy (2025-11-25), or 2026-07-28.")]
ApplicationType = Literal["native", "web"]
AuthMethod = Literal["none", "client_secret_post", "client_secret_basic"]  # register --auth-method; default: what the AS lists

ClientId = Annotated[str | None, typer.Option("--client-id", metavar="ID", help="A pre-registered client ID, used only with the authorization server it belongs to (--authkit-domain, or the issuer stored with it). Default: $WORKOS_CLIENT_ID.", show_default=False)]
ClientSecret = Annotated[
    str | None,
    typer.Option(
        "--client-secret",
        metavar="SECRET|-",
        help="The pre-registered client's secret, if it is confidential: - reads it from stdin (a hidden prompt on a terminal); a literal value may stay in your shell history (warned). Default: $ATOMS_AUTH_CLIENT_SECRET.",
        show_default=False,
    ),
]
ClientMetadataUrl = Annotated[str | None, typer.Option("--client-metadata-url", metavar="URL", help="This client's hosted Client ID Metadata Document, used when the AS supports CIMD. Default: $ATOMS_AUTH_CLIENT_METADATA_URL.", show_default=False)]
Port = Annotated[int | None, typer.Option("--port", metavar="PORT", min=0, max=65535, help="Loopback port for the OAuth callback. Default: the stored registration's, else a free one.", show_default=False)]
NoBrowser = Annotated[bool, typer.Option("--no-browser", help="Print the URL instead of opening a browser, and read the final redirect URL pasted on stdin (SSH). On a terminal a paste is read beside the callback anyway.")]
Scopes = Annotated[list[str] | None, typer.Option("--scope", metavar="SCOPE", help="Extra scopes to request (repeatable), added to what the server asks for.")]
ClientAuthMethod = Annotated[
    AuthMethod | None,
    typer.Option(
        "--auth-method",
        help="Client authentication at the token endpoint, the values register takes: none (a public client), client_secret_post or client_secret_basic: how a pre-registered client authenticates (it must match its registration), or what dynamic registration asks for. Default: for a pre-registered client, client_secret_basic unless the AS lists only client_secret_post; at registration, what the AS lists.",
        show_default=False,
    ),
]
NewClient = Annotated[bool, typer.Option("--new-client", help="Register a new client dynamically even when a stored registration for this authorization server fits.")]

# The grants (issue #13): how login obtains tokens. Names as users type them; client.grants.GRANTS keys use "_".
GrantName = Literal["authorization-code", "client-credentials", "jwt-bearer", "enterprise", "device-code"]
Grant = Annotated[
    GrantName,
    typer.Option(
        "--grant",
        help="How to obtain tokens: authorization-code (browser + PKCE, the default); client-credentials (RFC 6749 §4.4: a confidential client, no user); "
        "jwt-bearer (RFC 7523 §2.1: trade --assertion, e.g. a CI job's OIDC token); enterprise (RFC 8693 token exchange of --id-token at --idp-issuer for an ID-JAG, then jwt-bearer); "
        "device-code (RFC 8628: approve on another device).",
    ),
]
PrivateKey = Annotated[str | None, typer.Option("--private-key", metavar="FILE", help="PEM private key: authenticate the client with private_key_jwt (RFC 7523 §2.2) instead of a secret.", show_default=False)]
SigningAlg = Annotated[str | None, typer.Option("--signing-alg", metavar="ALG", help="JWS algorithm of --private-key assertions. Default: the key's (RS256, ES256, EdDSA).", show_default=False)]
KeyId = Annotated[str | None, typer.Option("--key-id", metavar="KID", help="kid header of --private-key assertions.", show_default=False)]
Assertion = Annotated[str | None, typer.Option("--assertion", metavar="FILE|-", help="--grant jwt-bearer: the JWT to trade for an access token (a file, or - for stdin).", show_default=False)]
IdpIssuer = Annotated[str | None, typer.Option("--idp-issuer", metavar="URL", help="--grant enterprise: the enterprise IdP's issuer (its token endpoint does the RFC 8693 exchange).", show_default=False)]
IdpClientId = Annotated[str | None, typer.Option("--idp-client-id", metavar="ID", help="--grant enterprise: this client's ID at the IdP.", show_default=False)]
IdpClientSecret = Annotated[
    str | None,
    typer.Option(
        "--idp-client-secret",
        metavar="SECRET|-",
        help="--grant enterprise: this client's secret at the IdP; - reads it from stdin (a hidden prompt on a terminal). Default: $ATOMS_AUTH_IDP_CLIENT_SECRET.",
        show_default=False,
    ),
]
IdToken = Annotated[str | None, typer.Option("--id-token", metavar="FILE|-", help="--grant enterprise: the user's ID token from the IdP (a file, or - for stdin).", show_default=False)]
Dpop = Annotated[bool, typer.Option("--dpop", help="Bind the tokens to a key generated for this login (DPoP, RFC 9449): a fresh proof on every token and MCP request.")]


# --- option groups: each a dataclass whose fields are options (commands.option_groups) ---


Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Also show each HTTP exchange on stderr as one line (method, URL, status, time), secrets redacted; --trace - shows them whole.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines on stderr: only warnings, errors and the result.")]


@dataclass
class HttpOptions:
    """How a client command talks HTTP: the deadline, the trace, plain http to other hosts, and how much it says."""

    timeout: Timeout = 15.0
    trace: Trace = None
    allow_http: AllowHttp = False
    verbose: Verbose = False
    quiet: Quiet = False
    http_timeout: DeprecatedHttpTimeout = None

    def __post_init__(self) -> None:
        if self.verbose and self.quiet:
            from authkit_mcp_cli.option_rules import mutually_exclusive

            mutually_exclusive({"--verbose": True, "--quiet": True}, "one asks for more on stderr, the other for less")
        if self.http_timeout is not None:  # the old name still works, said once on stderr
            import sys

            sys.stderr.write("warning: --http-timeout is deprecated and will be removed; use --timeout (the HTTP deadline in every command).\n")
            self.timeout = self.http_timeout


@dataclass
class LoginFlags:
    """The options login and call share to obtain tokens: the client, the grant and each grant's own
    options, and the user's part (browser, wait). ``commands._client.login_options`` turns them into
    ``client.context.LoginOptions`` (the environment's defaults, secrets read from stdin)."""

    client_id: ClientId = None
    client_secret: ClientSecret = None
    auth_method: ClientAuthMethod = None
    client_metadata_url: ClientMetadataUrl = None
    new_client: NewClient = False
    grant: Grant = "authorization-code"
    private_key: PrivateKey = None
    signing_alg: SigningAlg = None
    key_id: KeyId = None
    assertion: Assertion = None
    idp_issuer: IdpIssuer = None
    idp_client_id: IdpClientId = None
    idp_client_secret: IdpClientSecret = None
    id_token: IdToken = None
    dpop: Dpop = False
    port: Port = None
    no_browser: NoBrowser = False
    wait: Wait = 300.0
