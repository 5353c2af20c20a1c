"""Remotes that put terminal control sequences in every string a client shows
(issue 14 item 10): what a hostile AS or MCP server can send.

- ``build_escape_mcp_app``: the mcp SDK's own MCPServer, no auth, at /mcp.
  Its server name, its tool's name-adjacent description, the tool's result
  and its error text carry ESC (clear screen, cursor home, a fake prompt),
  CSI as the single C1 byte U+009B, BEL, backspace and a carriage return.
- ``build_escape_as_app``: a minimal MCP resource + AS on one origin, wired
  as the spec says (401 with ``resource_metadata``, PRM at the path-inserted
  URL naming the origin as AS, RFC 8414 metadata with PKCE S256 and a
  registration endpoint; the 401's challenge carries the C1 CSI byte 0x9b, the one control
  character HTTP lets through in a header). Registration (RFC 7591 §3.2.2) and the token
  endpoint (RFC 6749 §5.2) refuse with ``error``, ``error_description`` and
  ``error_uri`` full of control sequences; the PRM's ``resource_name`` and
  the AS metadata's ``service_documentation`` carry them too (doctor shows
  metadata values).
- ``build_escape_device_as_app`` (issue 20 §5): the same resource + AS wiring
  with a device authorization endpoint (RFC 8628 §3.2) whose
  ``verification_uri`` holds U+202E RIGHT-TO-LEFT OVERRIDE (a terminal shows
  ``device<U+202E>fdp.exe`` as ``deviceexe.pdf``), a ``verification_uri_complete``,
  ``user_code`` and a token refusal (``access_denied``) full of the other
  format characters: isolates, marks, zero-width space, a tag character.

Every ``HOSTILE`` string ends in bidirectional controls too (``REORDERING``).

oidc-provider cannot be made to send such text, hence this small peer.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

# What a hostile remote sends: clear the screen, home the cursor, print a fake prompt;
# CSI as one C1 character; BEL, backspace and CR to rewrite the line.
# And Unicode format characters a terminal obeys without showing them (issue 20 §5): an override
# that reverses what follows, isolates, marks, a zero-width space, the BOM, a soft hyphen and a tag
# character (invisible ASCII).
REORDERING = "\u202e\u2066\u2067\u2068\u2069\u202a\u202b\u202c\u202d\u200e\u200f\u061c"
INVISIBLE = "\u200b\u2060\ufeff\u00ad\U000e0041"
HOSTILE = "\x1b[2J\x1b[H fake prompt$ \x9b31m red \x07\x08\r\x1b]0;title\x07" + REORDERING


def build_escape_mcp_app(base_url: str, path: str = "/mcp"):
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("evil-server" + HOSTILE, log_level="CRITICAL")

    @server.tool(description="Looks innocent." + HOSTILE)
    def evil(text: str = "") -> str:
        return "result" + HOSTILE + text

    @server.tool(description="Always fails." + HOSTILE)
    def fails() -> str:
        raise ValueError("tool failed" + HOSTILE)

    return server.streamable_http_app(streamable_http_path=path)


def build_escape_as_app(base_url: str, path: str = "/mcp"):
    resource = base_url + path
    prm_url = f"{base_url}/.well-known/oauth-protected-resource{path}"
    refusal = {"error": "invalid_client_metadata" + HOSTILE, "error_description": "refused" + HOSTILE, "error_uri": "https://example.com/" + HOSTILE}

    async def mcp(request: Request) -> Response:
        return JSONResponse(
            {"error": "invalid_token", "error_description": "no" + HOSTILE},
            status_code=401,
            # HTTP forbids ESC in a header, but obs-text (RFC 9110 §5.5) lets byte 0x9b through: CSI once decoded as latin-1
            headers={"WWW-Authenticate": f'Bearer resource_metadata="{prm_url}", scope="mcp:tools", error_description="no\x9b2J\x9bH fake"'},
        )

    async def prm(request: Request) -> Response:
        return JSONResponse({"resource": resource, "authorization_servers": [base_url], "scopes_supported": ["mcp:tools"], "resource_name": "Evil" + HOSTILE})

    async def as_metadata(request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": base_url,
                "authorization_endpoint": base_url + "/authorize",
                "token_endpoint": base_url + "/token",
                "registration_endpoint": base_url + "/register",
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["none", "client_secret_post", "client_secret_basic"],
                "service_documentation": "https://example.com/docs" + HOSTILE,
            }
        )

    async def refuse(request: Request) -> Response:
        return JSONResponse(refusal, status_code=400)

    return Starlette(
        routes=[
            Route(path, mcp, methods=["POST", "GET"]),
            Route(f"/.well-known/oauth-protected-resource{path}", prm),
            Route("/.well-known/oauth-authorization-server", as_metadata),
            Route("/register", refuse, methods=["POST"]),
            Route("/token", refuse, methods=["POST"]),
        ]
    )


def build_escape_device_as_app(base_url: str, path: str = "/mcp"):
    """A resource and an AS offering only the device flow, whose every string a user reads is reordered."""
    resource = base_url + path
    prm_url = f"{base_url}/.well-known/oauth-protected-resource{path}"

    async def mcp(request: Request) -> Response:
        return JSONResponse({"error": "invalid_token"}, status_code=401, headers={"WWW-Authenticate": f'Bearer resource_metadata="{prm_url}", scope="mcp:tools"'})

    async def prm(request: Request) -> Response:
        return JSONResponse({"resource": resource, "authorization_servers": [base_url], "scopes_supported": ["mcp:tools"]})

    async def as_metadata(request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": base_url,
                "authorization_endpoint": base_url + "/authorize",
                "token_endpoint": base_url + "/token",
                "registration_endpoint": base_url + "/register",
                "device_authorization_endpoint": base_url + "/device_authorization",
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code", "urn:ietf:params:oauth:grant-type:device_code"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["none"],
            }
        )

    async def register(request: Request) -> Response:
        metadata = await request.json()
        return JSONResponse({**metadata, "client_id": "device-client", "token_endpoint_auth_method": "none"}, status_code=201)

    async def device_authorization(request: Request) -> Response:
        return JSONResponse(
            {
                "device_code": "dc-1",
                "user_code": "WDJB\u2067-MJHT",
                "verification_uri": f"{base_url}/device\u202efdp.exe",
                "verification_uri_complete": f"{base_url}/device\u202efdp.exe?user_code={INVISIBLE}WDJB-MJHT",
                "expires_in": 60,
                "interval": 1,
            }
        )

    async def token(request: Request) -> Response:
        # RFC 8628 §3.5: the user denied; the description is the AS's text, shown to the user
        return JSONResponse({"error": "access_denied", "error_description": "denied at " + base_url + "/device\u202efdp.exe" + INVISIBLE + REORDERING}, status_code=400)

    return Starlette(
        routes=[
            Route(path, mcp, methods=["POST", "GET"]),
            Route(f"/.well-known/oauth-protected-resource{path}", prm),
            Route("/.well-known/oauth-authorization-server", as_metadata),
            Route("/register", register, methods=["POST"]),
            Route("/device_authorization", device_authorization, methods=["POST"]),
            Route("/token", token, methods=["POST"]),
        ]
    )


def build_origin_prm_app(issuer: str, base_url: str, path: str = "/api/mcp"):
    """The mcp SDK's resource server configured with its origin as the resource (issue 14 item 12):
    PRM only at the root well-known URL, ``resource`` = the origin, tokens checked for that audience.
    A client accepts it (MCP Canonical Server URI) and must say the token's audience is the origin."""
    from mcp.server.auth.settings import AuthSettings
    from mcp.server.mcpserver import MCPServer

    from peers.sdk_server import JwksVerifier

    server = MCPServer(
        "origin-prm-server",
        token_verifier=JwksVerifier(issuer, base_url),
        auth=AuthSettings(issuer_url=issuer, resource_server_url=base_url, required_scopes=["mcp:tools"], validate_token_resource=False),
        log_level="CRITICAL",
    )

    @server.tool()
    def echo(text: str) -> str:
        return text

    return server.streamable_http_app(streamable_http_path=path, host="127.0.0.1")
