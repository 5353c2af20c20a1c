"""OAuth client steps, one module per RFC; each step is a build-request /
process-response pair, so validation is tested on canned responses (no I/O
here).

- :mod:`.pkce`           RFC 7636 (shared with the local AS)
- :mod:`.authorize`      the authorization request, RFC 6749 §4.1.1 + RFC 8707
- :mod:`.callback`       the authorization response: RFC 9207 ``iss``, ``state``
- :mod:`.token`          token requests and responses, RFC 6749 §4.1.3, §5, §6
- :mod:`.client_auth`    client authentication at the token endpoint, RFC 6749 §2.3
- :mod:`.registration`   dynamic client registration, RFC 7591
- :mod:`.revocation`     token revocation, RFC 7009
- :mod:`.message`        the request as data, and RFC 6749 §5.2 error bodies
- :mod:`.assertion`      JWT client and bearer assertions, RFC 7523 §2, §3
- :mod:`.grant_requests` client credentials (RFC 6749 §4.4) and JWT bearer (RFC 7523 §2.1) requests
- :mod:`.token_exchange` token exchange for an ID-JAG, RFC 8693
- :mod:`.device`         the device authorization grant, RFC 8628
- :mod:`.grant_types`    the extension grants' URNs (RFC 7523, RFC 8693, RFC 8628), once
- :mod:`.dpop`           DPoP proofs and nonces, RFC 9449

Names load on first use (:mod:`authkit_mcp_cli._lazy`): a stored login's
``Tokens`` and ``ClientRegistration`` do not import every RFC's module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from authkit_mcp_cli._lazy import lazy_package

_DEFINED_IN = {
    "authorization_url": "authorize",
    "validate_callback": "callback",
    "ClientRegistration": "client_auth",
    "client_auth": "client_auth",
    "HttpRequest": "message",
    "error_response": "message",
    "Pkce": "pkce",
    "s256": "pkce",
    "parse_registration_response": "registration",
    "registration_request": "registration",
    "parse_revocation_response": "revocation",
    "revocation_request": "revocation",
    "Tokens": "token",
    "code_token_request": "token",
    "parse_token_response": "token",
    "refresh_token_request": "token",
}

if TYPE_CHECKING:
    from authkit_mcp_cli.oauth.authorize import authorization_url
    from authkit_mcp_cli.oauth.callback import validate_callback
    from authkit_mcp_cli.oauth.client_auth import ClientRegistration, client_auth
    from authkit_mcp_cli.oauth.message import HttpRequest, error_response
    from authkit_mcp_cli.oauth.pkce import Pkce, s256
    from authkit_mcp_cli.oauth.registration import parse_registration_response, registration_request
    from authkit_mcp_cli.oauth.revocation import parse_revocation_response, revocation_request
    from authkit_mcp_cli.oauth.token import Tokens, code_token_request, parse_token_response, refresh_token_request

__all__ = [
    "ClientRegistration",
    "HttpRequest",
    "Pkce",
    "Tokens",
    "authorization_url",
    "client_auth",
    "code_token_request",
    "error_response",
    "parse_registration_response",
    "parse_revocation_response",
    "parse_token_response",
    "refresh_token_request",
    "registration_request",
    "revocation_request",
    "s256",
    "validate_callback",
]

__getattr__ = lazy_package(__name__, _DEFINED_IN)
