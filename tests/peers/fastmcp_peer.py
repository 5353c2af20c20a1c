"""FastMCP (PyPI `fastmcp`, pinned in the Makefile) with its in-memory OAuth
provider, `fastmcp.server.auth.providers.in_memory.InMemoryOAuthProvider`:
tests/peers/fastmcp_oauth_server.py run by the FastMCP virtualenv's python
(benchmarks/.venv-fastmcp, made by `make test`; FastMCP brings its own `mcp`,
so it never shares the project's virtualenv). AS and MCP server share one
origin, http://127.0.0.1:<ephemeral port>, in one process.

What it does on the wire (seen with fastmcp 4.2.3, its mcp 2.3.0):

- MCP endpoint: <origin>/mcp, stateful streamable HTTP (Mcp-Session-Id, SSE
  answers). Tools: `whoami` (the verified token's client_id and scopes) and
  `echo`. Every request needs a token carrying `mcp:tools` (required_scopes).
- Challenge (no token): 401 with an empty body and
  `WWW-Authenticate: Bearer scope="mcp:tools", resource_metadata="<origin>/.well-known/oauth-protected-resource/mcp"`
  (no error= without a token). An unknown, revoked or forgotten token: 401
  `Bearer error="invalid_token", error_description="Authentication failed. The provided bearer token is invalid, expired, or no longer recognized by the server. ...", scope="mcp:tools", resource_metadata=...`.
  A token without the scope: 403 `Bearer error="insufficient_scope", error_description="Required scope: mcp:tools", scope="mcp:tools", resource_metadata=...`.
- PRM only at the path-inserted URL: {"resource":"<origin>/mcp",
  "authorization_servers":["<origin>/"],"scopes_supported":["mcp:tools"],
  "bearer_methods_supported":["header"]}.
- AS metadata at <origin>/.well-known/oauth-authorization-server (no
  openid-configuration): issuer "<origin>/" WITH a trailing slash (pydantic);
  /authorize, /token, /register, /revoke; S256 only;
  token_endpoint_auth_methods_supported ["client_secret_post","client_secret_basic"]
  (no "none", though DCR still accepts a public client);
  revocation_endpoint "<origin>/revoke" with
  revocation_endpoint_auth_methods_supported ["client_secret_post","client_secret_basic"];
  grant_types ["authorization_code","refresh_token"]; scopes_supported
  ["mcp:tools"]; no `authorization_response_iss_parameter_supported`, no
  jwks_uri, no introspection.
- Registration (open DCR, 201): no token_endpoint_auth_method means
  client_secret_post with a secret that never expires (client_secret_expires_at
  0); "none" gives a public client; the response says application_type
  "native". A scope outside ["mcp:tools"] is refused (400
  invalid_client_metadata); no scope means the client's scope is "mcp:tools".
- Token endpoint authenticates the client by its registered method only
  (client_secret_basic: the Authorization header, client_secret_post: the
  body); failures are 401 invalid_client.
- Revocation (RFC 7009) authenticates the client the same way:
  confidential client without its secret -> 401 {"error":"unauthorized_client",
  "error_description":"Client secret is required"}; wrong secret -> 401
  unauthorized_client "Invalid client_secret"; a client_secret_basic client
  sending the secret in the body -> 401; a public client must still send a
  `client_secret` form field (empty is fine), or 400 invalid_request
  "client_secret: Field required". With valid credentials: 200 with an empty
  body, also for an unknown token or another client's token (which stays
  valid). Revoking either token of a pair removes both.
- /authorize with an unknown client_id: **400** JSON {"error":"invalid_request",
  "error_description":"Client ID '<id>' not found","state":...}, no redirect.
  A redirect_uri not registered exactly (another port too) is 400
  invalid_request, no redirect. A scope the client did not register:
  redirect with error=invalid_scope.
- Approval: none. The in-memory provider auto-approves: /authorize answers
  302 at once to redirect_uri?code=test_auth_code_...&state=... (no page, no
  cookie, no `iss`). No `scope` on /authorize gives a token with scope "",
  which the MCP endpoint refuses with 403 insufficient_scope.
- Tokens: opaque strings, "test_access_token_<hex>" (token_type "Bearer",
  expires_in 3600) and "test_refresh_token_<hex>" (no expiry, rotated on use:
  the old pair is revoked). `resource` is accepted and ignored (no audience:
  a token for any resource works here). The MCP side checks tokens in the
  provider's memory (same process).
- Restart (restart(), same port): every client, code and token is forgotten.
- Start to ready line: about 1 s (importing FastMCP).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from peers.oidc_as import PeerMissing
from peers.processes import PeerProcess

ROOT = Path(__file__).resolve().parents[2]
FASTMCP_VENV = ROOT / "benchmarks" / ".venv-fastmcp"
FASTMCP_PYTHON = FASTMCP_VENV / "bin" / "python"
SERVER_SCRIPT = Path(__file__).resolve().parent / "fastmcp_oauth_server.py"
START_TIMEOUT = 30.0


def fastmcp_python() -> Path:
    if not FASTMCP_PYTHON.exists():
        raise PeerMissing(f"{FASTMCP_VENV} is not installed: run `make test` (its fastmcp-venv step installs FastMCP there).")
    return FASTMCP_PYTHON


@dataclass
class FastMCPPeer:
    """A running FastMCP server: AS and MCP endpoint at one origin, one process."""

    path: str = "/mcp"
    required_scopes: str = "mcp:tools"
    port: int = 0  # 0 until the first start; restarts keep the port
    fastmcp_version: str = ""
    starts: list[float] = field(default_factory=list)  # seconds each (re)start took to print its ready line
    _proc: PeerProcess | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def mcp_url(self) -> str:
        """The MCP endpoint, exactly as the PRM's `resource` names it."""
        return self.base_url + self.path

    @property
    def issuer(self) -> str:
        """The AS issuer exactly as its metadata and PRM say it (pydantic adds the trailing slash)."""
        return self.base_url + "/"

    @property
    def prm_url(self) -> str:
        return f"{self.base_url}/.well-known/oauth-protected-resource{self.path}"

    @property
    def as_metadata_url(self) -> str:
        return f"{self.base_url}/.well-known/oauth-authorization-server"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def output(self) -> str:
        return self._proc.output() if self._proc else ""

    def start(self) -> None:
        argv = [str(fastmcp_python()), str(SERVER_SCRIPT), "--port", str(self.port), "--path", self.path, "--required-scopes", self.required_scopes]
        began = time.monotonic()
        self._proc = PeerProcess(argv, cwd=SERVER_SCRIPT.parent, env={"PYTHONDONTWRITEBYTECODE": "1"})
        try:
            ready = self._proc.wait_json_line("ready", START_TIMEOUT)
        except RuntimeError:
            self.stop()
            raise
        self.port = int(ready["port"])
        self.fastmcp_version = str(ready.get("fastmcp", ""))
        self.starts.append(time.monotonic() - began)

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.stop()
            self._proc.remove_log()
            self._proc = None

    def restart(self) -> None:
        """Stop and start again on the same port: the in-memory provider forgets every client and token."""
        self.stop()
        self.start()


@contextlib.contextmanager
def run_fastmcp_peer(*, required_scopes: str = "mcp:tools", path: str = "/mcp") -> Iterator[FastMCPPeer]:
    """Start the FastMCP server on an ephemeral loopback port; yield it; stop it on exit.

    ``required_scopes`` (space separated, "" for none) is what every MCP request's
    token must carry, what the PRM advertises, and the only scopes DCR accepts.
    """
    peer = FastMCPPeer(path=path, required_scopes=required_scopes)
    peer.start()
    try:
        yield peer
    finally:
        peer.stop()
