"""``atoms-auth serve``: an MCP resource server done right, with an embedded
development authorization server for offline use.

    config.py     ServeConfig: flags > environment > .env
    jwks.py       the AS's signing keys: cached, refetched on an unknown kid, kept through outages
    verifier.py   bearer JWT validation (RFC 8725, RFC 8707 audience, RFC 9068 profile)
    resource.py   PRM documents, the 401/403 challenge, the bearer guard in front of MCP
    compat.py     the guide's compatibility endpoints: the AS's documents forwarded raw
    tools.py      the demo tools, resources and prompts (whoami, a step-up admin_echo) and their scopes
    local_as/     the embedded AuthKit-like development authorization server
    app.py        assembly of the Starlette app; the MCP endpoint routed ahead of it
    fast_path.py  --stateless: one POST, one JSON-RPC exchange through the SDK's serve_one
    runner.py     the uvicorn runner: bind first, banner, workers
    limits.py     request-head size and time limits (431 / 408) on every connection
    logs.py       one log handler and format (text or JSON lines), the access log
"""
