"""doctor --login's checks: what only a real token shows (``token.*``,
``server.accepts-token``, ``server.rejects-other-resource-token``; RFC 8707,
RFC 9068 §4, RFC 6749 §6; MCP 2026-07-28 Authorization: Token Audience
Binding and Validation). The token's claims are read as the server would;
its signature is verified with the AS's JWKS, ``alg`` pinned to the key."""

from __future__ import annotations

import time
from typing import Any

from authkit_mcp_cli.checks import needs
from authkit_mcp_cli.checks.as_kind import is_authkit
from authkit_mcp_cli.checks.evidence import Evidence, TokenEvidence
from authkit_mcp_cli.checks.model import Level, Outcome, Status, ok, problem, skip
from authkit_mcp_cli.checks.probes import Probe
from authkit_mcp_cli.checks.registry import CheckList
from authkit_mcp_cli.client.diagnosis import audiences, resource_indicator_fix
from authkit_mcp_cli.discovery import usable_document
from authkit_mcp_cli.http import Exchange
from authkit_mcp_cli.words import plural

CHECKS = CheckList()
check = CHECKS.check

SPEC_AUDIENCE = "RFC 8707 §2; RFC 9068 §4; MCP 2026-07-28 Authorization: Token Audience Binding and Validation"
TOKEN = (Probe.TOKEN,)
MAX_LIFETIME = 24 * 3600
MAX_SKEW = 60


def _resource(ev: Evidence, te: TokenEvidence) -> str:
    """What the token must be for: PRM's resource (the canonical server URI), else the login's."""
    assert te.session is not None
    prm = ev.prm_doc or {}
    return prm["resource"] if isinstance(prm.get("resource"), str) else te.session.resource


def _fix_audience(ev: Evidence, te: TokenEvidence, resource: str) -> str:
    assert te.session is not None
    if is_authkit(ev, te.session.issuer):
        return resource_indicator_fix(resource)
    return f"Make the authorization server honour the resource parameter (RFC 8707): a token requested with resource={resource} must carry exactly that string in aud. Check how the AS maps resource indicators to audiences."


@check("token.obtained", "The spec's flow yields an access token", Level.MUST, "MCP 2026-07-28 Authorization: Authorization Flow Steps; RFC 6749 §4.1; RFC 7636", probes=TOKEN, needs=needs.server)
def obtained(ev: Evidence, server: str) -> Outcome:
    te = ev.token
    if te is None:
        return skip(needs.LOGIN_HINT)
    if te.error is not None or te.session is None:
        error = te.error or {}
        return problem(
            f"No token: {error.get('code')}: {error.get('message')}",
            error.get("hint") or "Run atoms-auth login --server " + server + " --trace FILE to see each step.",
            code=error.get("code"),
            remote=error.get("remote"),
        )
    s = te.session
    kind = f"a JWT ({(te.header or {}).get('alg')}, kid {(te.header or {}).get('kid')!r})" if te.jwt else "an opaque token" + (" (introspected)" if te.readable_claims is not None else "")
    return ok(
        f"{kind[0].upper()}{kind[1:]} from {s.issuer} for resource {s.resource} ({te.source}); refresh token: {'yes' if s.tokens.refresh_token else 'no'}.",
        source=te.source,
        issuer=s.issuer,
        resource=s.resource,
        client_id=s.registration.client_id,
        header=te.header,
        claims=te.readable_claims,
        introspection={k: v for k, v in (te.introspection or {}).items() if k != "claims"} or None,
    )


def _via(te: TokenEvidence) -> str:
    return "" if te.jwt else " (from introspection)"


@check("token.audience", "The token's aud is the PRM resource, exactly", Level.MUST, SPEC_AUDIENCE, probes=(Probe.TOKEN, Probe.PRM), needs=needs.token_claims)
def audience(ev: Evidence, te: TokenEvidence) -> Outcome:
    claims = te.readable_claims
    assert claims is not None
    resource = _resource(ev, te)
    auds = audiences(claims)
    if resource in auds:
        return ok(f"aud{_via(te)} {claims.get('aud')!r} names {resource}.", aud=claims.get("aud"), resource=resource)
    near = [a for a in auds if a.rstrip("/") == resource.rstrip("/")]
    why = f"it differs from resource {resource!r} only by a trailing slash" if near else f"resource (protected-resource metadata) is {resource!r}"
    return problem(
        f"aud{_via(te)} {claims.get('aud')!r}: {why}. A correct server refuses this token (RFC 8707), and a server that accepts it accepts tokens meant for other services.",
        _fix_audience(ev, te, resource),
        aud=claims.get("aud"),
        resource=resource,
    )


@check("token.issuer", "The token's iss is the AS issuer", Level.MUST, "RFC 9068 §4; RFC 8414 §2; RFC 7519 §4.1.1; RFC 7662 §2.2", probes=TOKEN, needs=needs.token_claims)
def issuer(ev: Evidence, te: TokenEvidence) -> Outcome:
    claims = te.readable_claims
    assert claims is not None and te.session is not None
    iss, expected = claims.get("iss"), te.session.issuer
    if iss == expected:
        return ok(f"iss{_via(te)} is exactly {expected!r}.")
    if iss is None and not te.jwt:
        return skip("Introspection did not say the token's issuer (iss is optional in RFC 7662).")
    detail = " (they differ only by a trailing slash)" if isinstance(iss, str) and iss.rstrip("/") == expected.rstrip("/") else ""
    return problem(
        f"iss{_via(te)} {iss!r} is not the authorization server's issuer {expected!r}{detail}: servers that validate iss refuse the token.",
        f"Make the AS put its issuer identifier, {expected!r}, in iss, or name the issuer the tokens carry in the server's authorization_servers and its token validation.",
        iss=iss,
        issuer=expected,
    )


# JWK key type -> the JWS algorithms it can verify (RFC 7518 §3.1)
KTY_ALGS = {"RSA": ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"), "EC": ("ES256", "ES384", "ES512"), "OKP": ("EdDSA",)}


def _pick_key(keys: list[Any], kid: Any) -> dict[str, Any] | str:
    candidates = [k for k in keys if isinstance(k, dict) and k.get("use", "sig") == "sig"]
    if kid is not None:
        candidates = [k for k in candidates if k.get("kid") == kid]
        return candidates[0] if candidates else f"no key in the JWKS has kid {kid!r}"
    return candidates[0] if len(candidates) == 1 else "the token has no kid and the JWKS does not have exactly one signing key"


@check("token.signature", "The token verifies with the AS's JWKS, alg pinned to the key", Level.MUST, "RFC 7515 §5.2; RFC 8725 §3.1; RFC 9068 §4", probes=TOKEN, needs=needs.jwt_token)
def signature(ev: Evidence, te: TokenEvidence) -> Outcome:
    import jwt

    header = te.header or {}
    alg, kid = header.get("alg"), header.get("kid")
    if te.jwks_uri is None:
        return problem("The AS publishes no jwks_uri, so nobody can verify its JWT access tokens locally.", "Publish jwks_uri in the AS metadata (RFC 8414 §2).", alg=alg, kid=kid)
    ex = te.jwks
    doc = usable_document(ex)[0] if ex is not None else None
    if doc is None or not isinstance(doc.get("keys"), list):
        got = (ex.error or ex.status) if ex is not None else "not fetched"
        return problem(f"The JWKS at {te.jwks_uri} could not be read ({got}), so the token cannot be verified.", "Make the JWKS reachable as a JSON JWK Set (RFC 7517 §5).", jwks_uri=te.jwks_uri)
    key = _pick_key(doc["keys"], kid)
    if isinstance(key, str):
        return problem(f"The token (alg {alg}, kid {kid!r}) cannot be verified: {key}.", "Sign access tokens with a key published in the JWKS, and put its kid in the header.", jwks_uri=te.jwks_uri, kid=kid)
    allowed = (key["alg"],) if isinstance(key.get("alg"), str) else KTY_ALGS.get(str(key.get("kty")), ())
    if not isinstance(alg, str) or alg not in allowed:
        return problem(f"The token's alg {alg!r} is not what key {kid!r} ({key.get('kty')}) is for ({', '.join(allowed) or 'nothing'}): a verifier pinned to the key refuses it.", "Sign with the algorithm the JWKS key declares.", alg=alg, kid=kid)
    assert te.session is not None
    try:
        jwk = jwt.PyJWK.from_dict(key)
        jwt.decode(te.session.tokens.access_token, jwk.key, algorithms=[alg], options={"verify_signature": True, "verify_aud": False, "verify_iss": False, "verify_exp": False, "verify_nbf": False, "verify_iat": False})
    except Exception as exc:  # pyjwt raises several types for bad keys and signatures
        return problem(f"The signature does not verify with key {kid!r} from {te.jwks_uri}: {type(exc).__name__}: {exc}.", "Sign access tokens with the private key whose public half is in the JWKS.", alg=alg, kid=kid)
    return ok(f"Verified with key {key.get('kid')!r} from {te.jwks_uri}, alg {alg} pinned to it.", alg=alg, kid=kid, jwks_uri=te.jwks_uri)


@check("token.lifetime", "The token expires, soon, and the clocks agree", Level.SHOULD, "RFC 7519 §4.1.4; RFC 9068 §2.2; OAuth 2.1 §7.1 (short-lived access tokens)", probes=TOKEN, needs=needs.token)
def lifetime(ev: Evidence, te: TokenEvidence) -> Outcome:
    assert te.session is not None
    tokens = te.session.tokens
    now = time.time()
    claims = te.readable_claims or {}
    exp = claims.get("exp") if te.jwt or "exp" in claims else tokens.expires_at
    if not isinstance(exp, (int, float)) or isinstance(exp, bool):
        where = "no exp claim" if te.jwt else "no expires_in in the token response (and introspection gave no exp)"
        return problem(f"The token has {where}: it never expires as far as a client can tell.", "Issue short-lived access tokens with exp (and expires_in in the token response).")
    facts: dict[str, Any] = {"expires_in_s": round(exp - now)}
    iat = claims.get("iat")
    notes = []
    if isinstance(iat, (int, float)) and not isinstance(iat, bool):
        facts["lifetime_s"] = round(exp - iat)
        if te.source == "new login":
            facts["clock_skew_s"] = round(iat - tokens.obtained_at)  # the AS's clock minus ours, at issue time
            if abs(facts["clock_skew_s"]) > MAX_SKEW:
                notes.append(f"the AS's clock is {facts['clock_skew_s']} s off this machine's (iat vs the time the token arrived)")
        if exp - iat > MAX_LIFETIME:
            notes.append(f"it lives {round((exp - iat) / 3600)} h; access tokens should be short-lived")
    if exp <= now:
        notes.insert(0, f"it expired {round(now - exp)} s ago")
    text = f"expires in {facts['expires_in_s']} s" + (f", lifetime {facts['lifetime_s']} s" if "lifetime_s" in facts else "") + (f", clock skew {facts['clock_skew_s']} s" if "clock_skew_s" in facts else "")
    if notes:
        return problem(f"The token {text}: " + "; ".join(notes) + ".", "Issue access tokens that live minutes to an hour, and keep the AS's clock in sync (NTP).", **facts)
    return ok(f"The token {text}.", **facts)


def _requested(ev: Evidence) -> tuple[list[str], str]:
    scope = ev.challenges.scope
    if scope:
        return scope.split(), "the challenge"
    listed = (ev.prm_doc or {}).get("scopes_supported")
    if isinstance(listed, list):
        return [s for s in listed if isinstance(s, str) and s != "offline_access"], "scopes_supported of the protected-resource metadata"
    return [], "nothing"


@check("token.scopes", "The token carries the scopes the server asked for", Level.SHOULD, "MCP 2026-07-28 Authorization: Scope Selection Strategy; RFC 6749 §3.3; RFC 9068 §2.2.3", probes=(Probe.TOKEN, Probe.CHALLENGE, Probe.PRM), needs=needs.token)
def scopes(ev: Evidence, te: TokenEvidence) -> Outcome:
    assert te.session is not None
    wanted, source = _requested(ev)
    claims = te.readable_claims or {}
    if isinstance(claims.get("scope"), str):
        granted, where = claims["scope"].split(), "the token's scope claim" + _via(te)
    elif isinstance(claims.get("scp"), list):
        granted, where = [s for s in claims["scp"] if isinstance(s, str)], "the token's scp claim"
    elif te.session.tokens.scope is not None:
        granted, where = te.session.tokens.scope.split(), "the token response's scope"
    else:
        return ok(f"Asked for {' '.join(wanted) or 'nothing'} ({source}); neither the token nor the token response lists scopes (the AS granted what was asked, RFC 6749 §5.1).", wanted=wanted)
    missing = [s for s in wanted if s not in granted]
    if missing:
        return problem(
            f"Asked for {' '.join(wanted)} ({source}); {where} has {' '.join(granted) or 'none'}, without {' '.join(missing)}: the server may answer 403 insufficient_scope.",
            "Let the AS grant the scopes the server asks for (for AuthKit, define them as permissions), or ask only for scopes the AS knows.",
            wanted=wanted,
            granted=granted,
        )
    return ok(f"Asked for {' '.join(wanted) or 'nothing'} ({source}); {where}: {' '.join(granted) or 'none'}.", wanted=wanted, granted=granted)


@check("server.accepts-token", "An authenticated initialize and tools/list succeed", Level.MUST, "MCP 2026-07-28 Authorization: Access Token Usage; RFC 6750 §2.1", probes=(Probe.TOKEN, Probe.TOKEN_USE, Probe.PRM), needs=needs.token)
def accepts_token(ev: Evidence, te: TokenEvidence) -> Outcome:
    assert te.session is not None and te.use is not None
    use = te.use
    if use["ok"]:
        return ok(f"tools/list with the token returned {plural(len(use['tools']), 'tool')}: {', '.join(use['tools']) or 'none'}.", tools=use["tools"])
    if "failure" in use:
        f = use["failure"]
        return problem(f"The authenticated MCP request failed: {f['code']}: {f['message']}", f.get("hint") or "See the server's log.", failure={k: v for k, v in f.items() if k != "hint"})
    said = {k: use[k] for k in ("status", "error", "error_description", "scope") if use[k] is not None}
    answer = " ".join(str(p) for p in (f"HTTP {use['status']}", use["error"]) if p) + (f' ("{use["error_description"]}")' if use["error_description"] else "")
    if use["status"] == 403 and scopes(ev, te).status is not Status.PASS:
        return skip(f"The server answered {answer}, rightly: the token lacks scopes it asks for (see token.scopes).", answer=said)
    if use["status"] == 403:
        return problem(f"The server answered {answer} to the token (scope {te.session.tokens.scope!r}; challenged scope {use['scope']!r}).", "Grant the scopes the server demands, or have the server ask for them in its 401 challenge (scope=...).", answer=said)
    wrong = _token_fault(ev, te)
    if wrong is not None:
        # one cause, one finding: refusing a token that is wrong is what a server must do
        return skip(f"The server refused the token with {answer}, rightly: {wrong}.", answer=said)
    if not te.jwt and te.readable_claims is None:
        return problem(
            f"The server refused the access token with {answer}. The token is opaque, so doctor cannot compare it with the resource; the AS issued it for {te.session.resource}.",
            "Check how the server validates this AS's opaque tokens (introspection, RFC 7662) and which audience it expects.",
            answer=said,
        )
    claims = te.readable_claims or {}
    if not te.jwt:
        return problem(
            f"The server refused a right token with {answer}: introspection says it is active, for {claims.get('aud')!r}, from {te.session.issuer} (token.*). So the server cannot validate this AS's opaque tokens.",
            f"Check how the server validates tokens: this AS issues opaque tokens, so it must introspect them at the AS ({(te.introspection or {}).get('endpoint')}), expecting audience {_resource(ev, te)!r}.",
            answer=said,
        )
    fix = f"Check the server's token validation: the JWKS it uses must be the AS's ({te.jwks_uri}), the issuer it expects {claims.get('iss')!r} and the audience {_resource(ev, te)!r}, exactly."
    if is_authkit(ev, te.session.issuer):
        fix += " For FastMCP's AuthKitProvider: FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_AUTHKIT_DOMAIN and FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_BASE_URL."
    return problem(
        f"The server refused a right token with {answer}: its aud names {_resource(ev, te)}, its iss is the AS's, its signature verifies with the AS's JWKS and it has not expired (token.*). So the server cannot verify tokens from this AS: its own validation is misconfigured.",
        fix,
        answer=said,
    )


def _token_fault(ev: Evidence, te: TokenEvidence) -> str | None:
    """What is wrong with the token itself (reported by its own check), or None."""
    if te.readable_claims is None:
        return None
    for check_id, fn in (("token.audience", audience), ("token.issuer", issuer), ("token.signature", signature)):
        if check_id == "token.signature" and not te.jwt:
            continue
        out = fn(ev, te)
        if out.status not in (Status.PASS, Status.SKIP):
            return f"{out.message[0].lower()}{out.message[1:].rstrip('.')} (see {check_id})"
    exp = te.readable_claims.get("exp")
    if isinstance(exp, (int, float)) and exp < time.time():
        return "the token has expired (see token.lifetime)"
    return None


def _answer(ex: Exchange) -> dict[str, Any]:
    out = ex.to_evidence()
    if ex.ok and ex.header("www-authenticate"):
        out["www_authenticate"] = ex.header("www-authenticate")
    return out


@check(
    "server.rejects-other-resource-token",
    "A real token for another resource is refused with 401",
    Level.MUST,
    "RFC 8707 §2; MCP 2026-07-28 Security Considerations: Token Audience Binding and Validation, Access Token Privilege Restriction",
    probes=(Probe.TOKEN, Probe.OTHER_RESOURCE),
    needs=needs.token,
)
def rejects_other_resource_token(ev: Evidence, te: TokenEvidence) -> Outcome:
    assert te.session is not None and te.other is not None
    other = te.other
    if "not_issued" in other:
        return skip(f"No token for another resource could be obtained: {other['not_issued']}.", resource=other["resource"], refused=other.get("refused"))
    claims = other.get("claims")
    resource = _resource(ev, te)
    if claims is not None and resource in audiences(claims):
        return skip(f"The AS was asked for a token for {other['resource']} but issued one whose aud is still {claims.get('aud')!r}: it ignores the resource parameter, so there is no token for another resource to test with.", resource=other["resource"])
    answer, own = other["answer"], other["own_answer"]
    evidence = {"resource": other["resource"], "aud": (claims or {}).get("aud"), "answer": _answer(answer), "own_token_answer": _answer(own)}
    accepted = answer.status is not None and (200 <= answer.status < 300 or answer.status == 403)
    if accepted and claims is None:
        return skip(
            f"The server accepted a token requested for {other['resource']} (HTTP {answer.status}), but the token is opaque: doctor cannot tell whether the AS honoured the resource (then the server is wrong) or ignored it (then the token is for this server).",
            **evidence,
        )
    if accepted:
        return problem(
            f"CRITICAL: the server accepted a token issued for {other['resource']} (aud {(claims or {}).get('aud')!r}) with HTTP {answer.status}: it does not check the audience, so a token minted for any other service works here.",
            f"Validate aud: accept only tokens whose aud is {resource} (RFC 8707; MCP: Token Audience Binding and Validation).",
            status=Status.FAIL,
            **evidence,
        )
    if answer.status != 401:
        return problem(f"The token for another resource got {answer.error or answer.status}, not 401.", "Answer a token issued for another resource with 401 and error=\"invalid_token\".", **evidence)
    return ok(f"A token for {other['resource']} got 401 (this server's own token: {own.error or own.status}).", **evidence)


@check("token.refresh", "Refreshing works and rotation is honoured", Level.SHOULD, "RFC 6749 §6; OAuth 2.1 §4.3.1; MCP 2026-07-28 Authorization: Refresh Tokens", probes=(Probe.TOKEN, Probe.TOKEN_REFRESH, Probe.PRM), needs=needs.token)
def refreshed(ev: Evidence, te: TokenEvidence) -> Outcome:
    assert te.session is not None
    r = te.refresh or {}
    if not r.get("issued"):
        return skip("The authorization server issued no refresh token (clients must not assume one; the user logs in again when the token expires).")
    if "failure" in r:
        f = r["failure"]
        return problem(f"The refresh failed: {f['code']}: {f['message']}", f.get("hint") or "Check the AS's refresh_token grant for this client.", failure=f)
    resource = _resource(ev, te)
    claims = r.get("claims")
    public = not te.session.registration.client_secret
    notes, facts = [], {"rotated": r["rotated"]}
    if claims is not None and resource not in audiences(claims):
        notes.append(f"the refreshed token's aud is {claims.get('aud')!r}, not {resource} (the resource of the refresh request was dropped)")
    if r["rotated"] and not r.get("rotated_token_works"):
        second = r.get("second_failure") or {}
        notes.append(f"the rotated refresh token was refused: {second.get('code')}: {second.get('message')}")
    if not r["rotated"] and public:
        notes.append("the refresh token was not rotated, although this is a public client (OAuth 2.1 §4.3.1: rotate or sender-constrain)")
    if notes:
        return problem("The refresh worked, but " + "; ".join(notes) + ".", "Keep resource on refreshed tokens, and rotate refresh tokens for public clients, accepting the newest one.", **facts)
    return ok("A refresh returned a new access token" + (", and the rotated refresh token worked for the next one." if r["rotated"] else " (the refresh token was not rotated)."), **facts)
