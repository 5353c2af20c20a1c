"""What the MCP server does with bad credentials (``server.rejects-*``,
``server.malformed-authorization``): garbage, malformed and forged tokens must
all get 401 (RFC 6750 §3.1; RFC 8725; MCP Token Audience Binding and Validation)."""

from __future__ import annotations

from authkit_mcp_cli.challenge import Challenges
from authkit_mcp_cli.checks import needs
from authkit_mcp_cli.checks.evidence import Evidence
from authkit_mcp_cli.checks.model import Level, Outcome, Status, ok, problem, skip
from authkit_mcp_cli.checks.probes import Probe
from authkit_mcp_cli.checks.registry import CheckList
from authkit_mcp_cli.http import Exchange

CHECKS = CheckList()
check = CHECKS.check


def _probe_result(ex: Exchange) -> str:
    return str(ex.error or ex.status)


CREDENTIAL_LABELS = {"garbage": "'Authorization: Bearer garbage'", "basic": "Authorization: Basic …", "empty-bearer": "an empty Bearer token"}


@check("server.rejects-invalid-token", "A garbage bearer token gets 401; no bad credential is accepted", Level.MUST, "RFC 6750 §3.1; MCP 2026-07-28 Authorization: Token Handling", probes=(Probe.CHALLENGE, Probe.TOKEN_PROBES), needs=needs.answered)
def rejects_invalid_token(ev: Evidence, ex: Exchange) -> Outcome:
    accepted = [f"{CREDENTIAL_LABELS[name]} -> {p.status}" for name, p in ev.token_probes.items() if name in CREDENTIAL_LABELS and p.status is not None and 200 <= p.status < 300]
    if accepted:
        return problem("CRITICAL: bad credentials were accepted: " + "; ".join(accepted) + ": the server does not validate tokens.", "Validate every token: signature against the AS's JWKS, issuer, audience (this resource), expiry.", status=Status.FAIL)
    probe = ev.token_probes.get("garbage")
    assert probe is not None
    if probe.status != 401:
        return problem(f"'Bearer garbage' got {_probe_result(probe)}, not 401.", "Answer an invalid token with 401 and WWW-Authenticate: Bearer error=\"invalid_token\".")
    return ok("'Bearer garbage' got 401.")


@check("server.invalid-token-error-code", "A refused token's challenge says error=\"invalid_token\"", Level.SHOULD, "RFC 6750 §3.1 (the error code is included when the request had a token)", probes=(Probe.CHALLENGE, Probe.TOKEN_PROBES), needs=needs.answered)
def invalid_token_error_code(ev: Evidence, ex: Exchange) -> Outcome:
    probe = ev.token_probes.get("garbage")
    assert probe is not None
    if probe.status != 401:
        return skip(f"'Bearer garbage' got {_probe_result(probe)}, not 401 (see server.rejects-invalid-token).")
    got = Challenges.read(probe.status, probe.header_list("www-authenticate")).error
    if got != "invalid_token":
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
    bad, accepted = [], []
    for name in ("basic", "empty-bearer"):
        probe = ev.token_probes.get(name)
        assert probe is not None
        if probe.status is not None and 200 <= probe.status < 300:
            accepted.append(CREDENTIAL_LABELS[name])  # server.rejects-invalid-token's finding (one cause, one finding)
        elif probe.status not in (400, 401):
            bad.append(f"{CREDENTIAL_LABELS[name]} -> {_probe_result(probe)}")
    if bad:
        return problem("Malformed credentials were not refused cleanly: " + "; ".join(bad) + ".", "Answer any Authorization header that is not a valid Bearer token with 401 (or 400 for a malformed request), never 5xx.")
    if accepted:
        return skip(f"{' and '.join(accepted)} were accepted: see server.rejects-invalid-token.")
    return ok("Basic credentials and an empty Bearer token are refused.")
