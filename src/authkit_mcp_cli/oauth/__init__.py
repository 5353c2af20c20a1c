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

Import names from the module that defines them; this package holds nothing else
(a stored login's ``Tokens`` and ``ClientRegistration`` do not import every RFC's module).
"""
