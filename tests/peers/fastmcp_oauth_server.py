"""A FastMCP server guarded by FastMCP's own in-memory OAuth provider
(fastmcp.server.auth.providers.in_memory.InMemoryOAuthProvider): the AS and the
MCP resource server in one process, at one origin.

Runs under the FastMCP virtualenv's python (benchmarks/.venv-fastmcp, made by
`make test`), never the project's: FastMCP pins its own `mcp`.

    python fastmcp_oauth_server.py [--port 0] [--path /mcp] [--required-scopes "mcp:tools"]

Open registration (RFC 7591; a client that sends no token_endpoint_auth_method
becomes a confidential client_secret_post client), revocation enabled (it
authenticates the client, so a confidential client must send its secret), and
one tool, `whoami`, answering with the verified token's client_id and scopes.
Prints one JSON line when it answers: {"ready":true,"base_url":...,"mcp_url":...,"issuer":...,"port":...,"fastmcp":version}
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys

import fastmcp
import uvicorn
from fastmcp import FastMCP
from fastmcp.server.auth.providers.in_memory import InMemoryOAuthProvider
from fastmcp.server.dependencies import get_access_token
from mcp.server.auth.settings import ClientRegistrationOptions, RevocationOptions


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--path", default="/mcp")
    parser.add_argument("--required-scopes", default="mcp:tools", help="space separated; empty for none")
    args = parser.parse_args()

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    port = sock.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}"
    scopes = args.required_scopes.split()

    provider = InMemoryOAuthProvider(
        base_url=base_url,
        client_registration_options=ClientRegistrationOptions(enabled=True, valid_scopes=scopes or None, default_scopes=scopes or None),
        revocation_options=RevocationOptions(enabled=True),
        required_scopes=scopes or None,
    )
    mcp = FastMCP("fastmcp-in-memory-oauth", auth=provider)

    @mcp.tool
    def whoami() -> dict:
        """Who the verified bearer token says you are."""
        token = get_access_token()
        return {"client_id": token.client_id if token else None, "scopes": token.scopes if token else []}

    @mcp.tool
    def echo(text: str) -> str:
        """Returns its argument."""
        return text

    app = mcp.http_app(path=args.path)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))

    async def run() -> None:
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            if serving.done():
                await serving
                return
            await asyncio.sleep(0.02)
        ready = {"ready": True, "base_url": base_url, "mcp_url": base_url + args.path, "issuer": str(provider.issuer_url), "port": port, "fastmcp": fastmcp.__version__}
        sys.stdout.write(json.dumps(ready) + "\n")
        sys.stdout.flush()
        await serving

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
