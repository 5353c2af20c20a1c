"""The embedded development authorization server: behaves like AuthKit to a
client (paths, metadata, DCR, CIMD, PKCE S256, RFC 8707 audiences, RFC 9207
iss, rotating refresh tokens), speaks every grant atoms-auth does (client
credentials, device code, DPoP-bound tokens), keeps everything in memory in
capped stores, and says "development" everywhere it can.

    provider.py   the protocol logic, no HTTP: authorization, the token endpoint, revocation
    registration.py  dynamic client registration (RFC 7591): what a client may register
    client_auth.py   client authentication: none, client_secret_basic/post, private_key_jwt (RFC 7523)
    client_credentials.py  the client credentials grant (RFC 6749 §4.4) for confidential clients
    device.py     the device grant (RFC 8628): user codes, the wrong-code lockout, decisions, polling answers
    device_page.py  its HTTP side: the device authorization endpoint and the verification page
    dpop_binding.py  DPoP proofs at the token endpoint (RFC 9449 §4.3): the key a token is bound to
    stores.py     capped LRU stores, the jti replay cache, the per-address rate limit
    cimd.py       Client ID Metadata Documents: fetch and validate
    pages.py      the sign-in/consent page and error pages (every value escaped)
    same_origin.py  whether a decision came from serve's own page (Origin, Sec-Fetch-Site)
    bodies.py     request bodies: capped reads, JSON that cannot cause a 5xx, disconnects
    routes.py     the HTTP endpoints at AuthKit's /oauth2/* paths
"""
