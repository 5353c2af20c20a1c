"""Real peers for tests: servers this project did not write (oidc-provider,
an mcp-SDK server) and configurable misbehaving servers, all on loopback."""
