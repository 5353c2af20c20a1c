"""Real peers for tests: servers this project did not write (oidc-provider,
an mcp-SDK server) and configurable misbehaving servers, all on loopback.

Third-party peers of issue 11 (each module's docstring says what it does on
the wire): ts_example (the TypeScript SDK's example OAuth server),
fastmcp_peer (FastMCP's in-memory OAuth provider), rejecting_rs
(oidc-provider with an MCP server that refuses its tokens); oauth_flow drives
a plain OAuth login against any of them."""
