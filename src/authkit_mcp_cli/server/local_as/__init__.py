"""The embedded development authorization server: behaves like AuthKit to a
client (paths, metadata, DCR, CIMD, PKCE S256, RFC 8707 audiences, RFC 9207
iss, rotating refresh tokens), keeps everything in memory, and says
"development" everywhere it can.

    provider.py   the protocol logic, no HTTP: registration, authorization, tokens
    client_credentials.py  the client credentials grant (RFC 6749 §4.4) for confidential clients
    cimd.py       Client ID Metadata Documents: fetch and validate
    pages.py      the sign-in/consent page and error pages (every value escaped)
    routes.py     the HTTP endpoints at AuthKit's /oauth2/* paths
"""

from authkit_mcp_cli.server.local_as.provider import LocalAuthorizationServer, OAuthError

__all__ = ["LocalAuthorizationServer", "OAuthError"]
