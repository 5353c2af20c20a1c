"""The baseline for serve_throughput.py: the stack the integration guide
describes, FastMCP with its AuthKitProvider, pointed at the same AS, with the
same tool. Runs inside its own virtualenv (benchmarks/.venv-fastmcp).

    python baseline_fastmcp.py AUTHKIT_DOMAIN PORT
"""

import sys

import uvicorn
from fastmcp import FastMCP
from fastmcp.server.auth.providers.workos import AuthKitProvider
from fastmcp.server.dependencies import get_access_token

authkit_domain, port = sys.argv[1], int(sys.argv[2])
mcp = FastMCP("baseline", auth=AuthKitProvider(authkit_domain=authkit_domain, base_url=f"http://127.0.0.1:{port}"))


@mcp.tool
def whoami() -> dict:
    """Who the verified bearer token says you are."""
    token = get_access_token()
    return {"client_id": token.client_id if token else None, "scopes": token.scopes if token else []}


app = mcp.http_app(path="/api/mcp", stateless_http=True)
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
