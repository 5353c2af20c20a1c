"""DPoP at the development AS's token endpoint (RFC 9449 §4.3, §5): check the
proof a token request carries and give the key's thumbprint, which the
access token then names in ``cnf.jkt`` (§6.1) and a public client's refresh
token keeps (§5).

The proof is checked by the server's one proof checker
(server/dpop_proof.ProofChecker) under its token-endpoint profile: the same
form, key, signature, ``htu`` rule, ``iat`` window and replay store rules as
at the resource; only, no access token exists yet (no ``ath``, no ``cnf.jkt``
to match). The development AS lives in one process, so its replay store is
the in-memory one."""

from __future__ import annotations

from authkit_mcp_cli.server.dpop_proof import ProofChecker, ProofRejected
from authkit_mcp_cli.server.local_as.model import OAuthError


def token_endpoint_checker(token_endpoint: str) -> ProofChecker:
    return ProofChecker.for_token_endpoint(token_endpoint)


def verify_proof(proof: str, checker: ProofChecker, *, method: str = "POST", now: float | None = None) -> str:
    """The proof's key thumbprint (``jkt``) when the proof is valid at the token endpoint; ``invalid_dpop_proof`` otherwise."""
    try:
        return checker.check_now([proof], method=method.upper(), now=now)
    except ProofRejected as exc:
        raise OAuthError("invalid_dpop_proof", f"DPoP proof refused: {exc.description}") from None
