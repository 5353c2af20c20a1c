"""What the MCP server does with bad credentials (``server.rejects-*``,
``server.malformed-authorization``): garbage, malformed and forged tokens must
all get 401 (RFC 6750 §3.1; RFC 8725; MCP Token Audience Binding and Validation)."""

from __future__ import annotations

from authkit_mcp_cli.challenge import ChallengeParseError, find_bearer, parse_www_authenticate
from authkit_mcp_cli.checks import needs
from authkit_mcp_cli.checks.evidence import Evidence
from authkit_mcp_cli.checks.model import Level, Outcome, Status, ok, problem
from authkit_mcp_cli.checks.probes import Probe
from authkit_mcp_cli.checks.registry import check
from authkit_mcp_cli.http import Exchange


def _probe_result(ex: Exchange) -> str:
    return str(ex.error or ex.status)


@check("server.rejects-invalid-token", "A garbage bearer token gets 401 invalid_token", Level.MUST, "RFC 6750 §3.1; MCP 2026-07-28 Authorization: Token Handling", probes=(Probe.CHALLENGE, Probe.TOKEN_PROBES), needs=needs.answered)
def rejects_invalid_token(ev: Evidence, ex: Exchange) -> Outcome:
    probe = ev.token_probes.get("garbage")
    assert probe is not None
    if probe.status is not None and 200 <= probe.status < 300:
        return problem("CRITICAL: 'Authorization: Bearer garbage' was accepted with " + str(probe.status) + ": the server does not validate tokens.", "Validate every token: signature against the AS's JWKS, issuer, audience (this resource), expiry.", status=Status.FAIL)
    if probe.status != 401:
        return problem(f"'Bearer garbage' got {_probe_result(probe)}, not 401.", "Answer an invalid token with 401 and WWW-Authenticate: Bearer error=\"invalid_token\".")
    try:
        bearer = find_bearer(parse_www_authenticate(probe.header_list("www-authenticate")))
    except ChallengeParseError:
        bearer = None
    if bearer is None or bearer.get("error") != "invalid_token":
        got = bearer.get("error") if bearer else None
        return problem(f"401 without error=\"invalid_token\" (got {got!r}); clients cannot tell a bad token from a missing one.", "Send WWW-Authenticate: Bearer error=\"invalid_token\", error_description=\"...\", resource_metadata=\"...\" for a bad token.")
    return ok("401 with error=\"invalid_token\".")


FORGED_DESCRIPTIONS = {
    "alg-none": "an unsigned token (alg none)",
    "foreign-key": "a token signed by a stranger's key under the AS's kid",
    "hs256-public-key": "an HS256 token keyed with the AS's public key (algorithm confusion)",
    "expired": "an expired token",
}


@check("server.rejects-forged-tokens", "Forged and expired JWTs are rejected", Level.MUST, "RFC 8725 §2-3; MCP 2026-07-28 Security Considerations: Token Audience Binding and Validation", probes=(Probe.CHALLENGE, Probe.FORGED_TOKENS), needs=needs.answered)
def rejects_forged_tokens(ev: Evidence, ex: Exchange) -> Outcome:
    accepted, other = [], []
    results = {}
    for name, desc in FORGED_DESCRIPTIONS.items():
        probe = ev.token_probes.get(name)
        if probe is None:
            continue
        results[name] = _probe_result(probe)
        if probe.status is not None and (200 <= probe.status < 300 or probe.status == 403):
            accepted.append(f"{desc} -> {probe.status}")
        elif probe.status != 401:
            other.append(f"{desc} -> {_probe_result(probe)}")
    if accepted:
        return problem(
            "CRITICAL: the server authenticated forged tokens: " + "; ".join(accepted) + ". Anyone can call it as anyone.",
            "Verify tokens with a JWT library: pin the algorithms to the JWKS keys' (RS256/ES256; never none or HS*), check the signature against the AS's JWKS, then iss, aud and exp.",
            status=Status.FAIL,
            results=results,
        )
    if other:
        return problem("Forged tokens were refused, but not with 401: " + "; ".join(other) + ".", "Answer every invalid token with 401 and error=\"invalid_token\".", results=results)
    return ok(f"All {len(results)} forged tokens got 401.", results=results)


@check("server.malformed-authorization", "Malformed Authorization headers get 400 or 401", Level.SHOULD, "RFC 6750 §2.1, §3.1", probes=(Probe.CHALLENGE, Probe.TOKEN_PROBES), needs=needs.answered)
def malformed_authorization(ev: Evidence, ex: Exchange) -> Outcome:
    bad = []
    for name, label in (("basic", "Authorization: Basic …"), ("empty-bearer", "an empty Bearer token")):
        probe = ev.token_probes.get(name)
        assert probe is not None
        if probe.status not in (400, 401):
            bad.append(f"{label} -> {_probe_result(probe)}")
    if bad:
        critical = any("-> 2" in b for b in bad)
        return problem(
            ("CRITICAL: " if critical else "") + "Malformed credentials were not refused cleanly: " + "; ".join(bad) + ".",
            "Answer any Authorization header that is not a valid Bearer token with 401 (or 400 for a malformed request), never 5xx or 2xx.",
            status=Status.FAIL if critical else None,
        )
    return ok("Basic credentials and an empty Bearer token are refused.")
