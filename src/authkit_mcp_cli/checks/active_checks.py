"""doctor --active's checks (issue 22): what the MCP server and its authorization
server DO with a real token and client (``active_probes`` gathers the answers).
Without --active each skips and says how to run it."""

from __future__ import annotations

from typing import Any

from authkit_mcp_cli.checks import needs
from authkit_mcp_cli.checks.evidence import Evidence, TokenEvidence
from authkit_mcp_cli.checks.model import Level, Outcome, ok, problem, skip
from authkit_mcp_cli.checks.probes import Probe
from authkit_mcp_cli.checks.registry import CheckList

CHECKS = CheckList()
check = CHECKS.check

ACTIVE_HINT = "Needs doctor --active (it sends extra token and authorization requests, so it is not read-only)."
SERVER = (Probe.TOKEN, Probe.ACTIVE_SERVER)
AS = (Probe.TOKEN, Probe.ACTIVE_AS)


def _active_server(ev: Evidence) -> tuple[TokenEvidence, dict[str, Any]] | Outcome:
    te = needs.token(ev)
    if isinstance(te, Outcome):
        return skip(ACTIVE_HINT) if ev.token is None else te
    if te.active_server is None:
        return skip(ACTIVE_HINT)
    return te, te.active_server


def _active_as(ev: Evidence) -> tuple[TokenEvidence, dict[str, Any]] | Outcome:
    te = needs.token(ev)
    if isinstance(te, Outcome):
        return skip(ACTIVE_HINT) if ev.token is None else te
    if te.active_as is None:
        return skip(ACTIVE_HINT)
    if te.active_as.get("no_token_endpoint"):
        return skip("The login's AS metadata has no token_endpoint to send token requests to.")
    return te, te.active_as


def _status(answer: dict[str, Any]) -> str:
    return str(answer.get("error") or answer.get("status"))


def _served(answer: dict[str, Any]) -> bool:
    status = answer.get("status")
    return isinstance(status, int) and 200 <= status < 300


# --- the MCP server ----------------------------------------------------------------------


@check(
    "server.rejects-token-in-query",
    "A token sent in the URL query (?access_token=) is refused",
    Level.MUST,
    "RFC 6750 §2.3; MCP 2026-07-28 Authorization: Token Requirements (Authorization header only)",
    probes=SERVER,
    needs=_active_server,
)
def rejects_token_in_query(ev: Evidence, found: tuple[TokenEvidence, dict[str, Any]]) -> Outcome:
    _te, record = found
    answer = record["query"]
    if _served(answer):
        return problem(
            f"The server accepted the access token in the URL query (?access_token=, HTTP {answer['status']}): tokens in URLs end up in logs, browser history and Referer headers.",
            "Read the token only from the Authorization header (MCP: tokens MUST NOT be in the query string; RFC 6750 §2.3).",
            answer=answer,
        )
    return ok(f"The token in the URL query, without an Authorization header, got {_status(answer)}.", answer=answer)


@check(
    "server.rejects-session-without-token",
    "A request carrying only a session id (no token) is refused",
    Level.MUST,
    "MCP 2026-07-28 Security Best Practices: Session Hijacking; MCP Authorization: Token Requirements (every request)",
    probes=SERVER,
    needs=_active_server,
)
def rejects_session_without_token(ev: Evidence, found: tuple[TokenEvidence, dict[str, Any]]) -> Outcome:
    _te, record = found
    session = record["session"]
    init = session["initialize"]
    if not _served(init):
        return skip(f"The authenticated initialize got {_status(init)}, so there is no session to test (see server.accepts-token).", initialize=init)
    if not session.get("session_id_issued"):
        return skip("The server issued no Mcp-Session-Id (a stateless server): there is no session to hijack.", initialize=init)
    alone = session["alone"]
    if _served(alone):
        return problem(
            f"After an authenticated initialize, a request carrying only its Mcp-Session-Id and no token was served (HTTP {alone['status']}): anyone who learns a session id can use the session.",
            "Authenticate every request, not the session: require the bearer token on each request and bind the session to the token's subject (MCP: sessions are not authentication).",
            initialize=init,
            alone=alone,
        )
    return ok(f"A request with the session id but no token got {_status(alone)}.", initialize=init, alone=alone)


@check(
    "server.rejects-expired-token",
    "An expired access token signed by the AS is refused with 401",
    Level.MUST,
    "RFC 6750 §3.1 (invalid_token); RFC 9068 §4 (exp)",
    probes=SERVER,
    needs=_active_server,
)
def rejects_expired_token(ev: Evidence, found: tuple[TokenEvidence, dict[str, Any]]) -> Outcome:
    _te, record = found
    expired = record["expired"]
    if not expired.get("at_hand"):
        return skip(f"Not tested: {expired['why']}. Run doctor --active again once the stored login's access token has expired.")
    answer = expired["answer"]
    if _served(answer) or answer.get("status") == 403:
        return problem(
            f"The server accepted an expired access token that the AS signed ({expired['source']}) with HTTP {answer['status']}: it does not check exp.",
            'Refuse tokens whose exp has passed with 401 and error="invalid_token" (RFC 6750 §3.1; RFC 9068 §4), allowing at most a small clock skew.',
            source=expired["source"],
            answer=answer,
        )
    if answer.get("status") != 401:
        return problem(f"An expired access token got {_status(answer)}, not 401.", 'Answer an expired token with 401 and error="invalid_token" (RFC 6750 §3.1).', source=expired["source"], answer=answer)
    return ok(f"An expired access token ({expired['source']}) got 401.", source=expired["source"], answer=answer)


# --- the authorization server ---------------------------------------------------------------


def _said(answer: dict[str, Any]) -> str:
    if "failed" in answer:
        return str(answer["failed"])
    text = f"HTTP {answer['status']}"
    if answer.get("error"):
        text += f" error={answer['error']}"
    if answer.get("error_description"):
        text += f" ({answer['error_description']})"
    return text


@check(
    "as.password-grant",
    "The resource-owner password grant is not honoured",
    Level.MUST,
    "OAuth 2.1 (the password grant is removed); RFC 9700 §2.4",
    probes=AS,
    needs=_active_as,
)
def password_grant(ev: Evidence, found: tuple[TokenEvidence, dict[str, Any]]) -> Outcome:
    _te, record = found
    answer = record["password"]
    if answer.get("tokens_issued"):
        return problem(
            "The AS issued tokens for a password grant with a made-up user and password: it honours the resource-owner password grant and does not even check the credentials.",
            "Turn the password grant off (OAuth 2.1 removed it; RFC 9700 §2.4): clients must use the authorization code flow with PKCE.",
            answer=answer,
        )
    if answer.get("error") == "invalid_grant":
        return problem(
            "A password grant with a made-up user got invalid_grant, the answer to wrong credentials: the AS evaluates the resource-owner password grant, so a client holding a real password gets tokens.",
            "Turn the password grant off, so it is answered with unsupported_grant_type (OAuth 2.1 removed it; RFC 9700 §2.4).",
            answer=answer,
        )
    if answer.get("error") in ("unsupported_grant_type", "unauthorized_client"):
        return ok(f"A password grant (made-up user) got {_said(answer)}.", answer=answer)
    return skip(f"A password grant (made-up user) got {_said(answer)}: that does not say whether the grant is offered.", answer=answer)


@check(
    "as.refresh-invalid-grant",
    "A bad or used refresh token gets invalid_grant",
    Level.MUST,
    "RFC 6749 §5.2; OAuth 2.1 §4.3.1",
    probes=AS,
    needs=_active_as,
)
def refresh_invalid_grant(ev: Evidence, found: tuple[TokenEvidence, dict[str, Any]]) -> Outcome:
    _te, record = found
    answers = {"a refresh token the AS never issued": record["bad_refresh"]}
    reused = record.get("reused")
    if reused is not None and not reused.get("tokens_issued"):
        answers["a refresh token already used"] = reused
    wrong = {what: a for what, a in answers.items() if a.get("error") != "invalid_grant"}
    evidence = {what.replace(" ", "_"): a for what, a in answers.items()}
    if wrong:
        return problem(
            "; ".join(f"{what} got {_said(a)}, not invalid_grant" for what, a in wrong.items()) + ". Clients decide to log in again on exactly invalid_grant, so they retry or fail instead.",
            'Answer an unknown, expired, revoked or used refresh token with HTTP 400 and {"error": "invalid_grant"} (RFC 6749 §5.2).',
            **evidence,
        )
    return ok(" and ".join(answers) + " got invalid_grant" + ("" if reused is not None else " (no used refresh token to try: none was redeemed)") + ".", **evidence)


@check(
    "as.refresh-rotation",
    "A used refresh token of a public client stops working (rotation)",
    Level.MUST,
    "OAuth 2.1 §4.3.1; RFC 9700 §4.14",
    probes=AS,
    needs=_active_as,
)
def refresh_rotation(ev: Evidence, found: tuple[TokenEvidence, dict[str, Any]]) -> Outcome:
    te, record = found
    reused = record.get("reused")
    if reused is None:
        return skip("No refresh token was redeemed (no refresh token was issued, or the refresh failed: see token.refresh), so none could be reused.")
    if not record["public_client"]:
        return skip("The login's client is confidential (it has a secret): OAuth 2.1 requires rotation or sender-constraining only for public clients.", reused=reused)
    if record["sender_constrained"]:
        return skip("The refresh token is sender-constrained (DPoP): rotation is not required.", reused=reused)
    if reused.get("tokens_issued"):
        return problem(
            "A public client's refresh token still worked after it was used: the AS neither rotates refresh tokens nor binds them to the client, so a stolen refresh token works for as long as it lives.",
            "Rotate refresh tokens for public clients (issue a new one with each refresh and invalidate the old one), or sender-constrain them with DPoP (OAuth 2.1 §4.3.1; RFC 9700 §4.14).",
            reused=reused,
        )
    return ok(f"A used refresh token was refused ({_said(reused)}).", reused=reused)


@check(
    "as.refresh-reuse-ends-grant",
    "Reusing a rotated refresh token ends the whole grant",
    Level.SHOULD,
    "RFC 9700 §4.14.2; OAuth 2.1 §4.3.1",
    probes=AS,
    needs=_active_as,
)
def refresh_reuse_ends_grant(ev: Evidence, found: tuple[TokenEvidence, dict[str, Any]]) -> Outcome:
    _te, record = found
    reused = record.get("reused")
    after = record.get("family_after_reuse")
    if reused is None or after is None:
        return skip("No refresh token was rotated (see token.refresh), so no reuse of a rotated one could be tried.")
    if not record["public_client"] or record["sender_constrained"]:
        return skip("The login's client is confidential or its refresh token sender-constrained: reuse detection (RFC 9700 §4.14.2) is required only for public clients' plain refresh tokens.", reused=reused, family_after_reuse=after)
    if reused.get("tokens_issued"):
        return skip("The used refresh token still worked (see as.refresh-rotation): it was not refused, so nothing ended.", reused=reused)
    if after.get("tokens_issued"):
        return problem(
            f"A used refresh token was refused ({_said(reused)}), but the newest refresh token of the same grant still worked afterwards: reuse, the sign of a stolen token, does not end the token family.",
            "When a used refresh token comes back, revoke the whole grant (RFC 9700 §4.14.2).",
            reused=reused,
            family_after_reuse=after,
        )
    return ok(
        f"After the reuse of a rotated refresh token ({_said(reused)}), the newest one was refused too ({_said(after)}): the grant ended, so the stored login will log in again.",
        reused=reused,
        family_after_reuse=after,
    )


def _authorize(record: dict[str, Any], key: str) -> dict[str, dict[str, Any]] | Outcome:
    if "authorize_skipped" in record:
        return skip(f"No authorization request was sent: {record['authorize_skipped']}.")
    return record[key]


def _refused_kind(answer: dict[str, Any], registered: str) -> bool:
    """Refused: an error status or page, or a redirect carrying an error to the registered URI (never elsewhere)."""
    if answer.get("verdict") == "refused":
        return True
    location = answer.get("location") or ""
    return bool(answer.get("error")) and location.split("?", 1)[0] == registered.split("?", 1)[0]


@check(
    "as.redirect-exact",
    "An authorization request with an unregistered redirect_uri is refused, not redirected to",
    Level.MUST,
    "OAuth 2.1 §2.3.1 (exact match; loopback port excepted, RFC 8252 §7.3); RFC 9700 §4.1; RFC 6749 §4.1.2.1",
    probes=AS,
    needs=_active_as,
)
def redirect_exact(ev: Evidence, found: tuple[TokenEvidence, dict[str, Any]]) -> Outcome:
    _te, record = found
    answers = _authorize(record, "redirect")
    if isinstance(answers, Outcome):
        return answers
    registered = record["registered_redirect_uri"]
    evidence = {"registered": registered, **{what.replace(" ", "_"): a for what, a in answers.items()}}
    followed = {what: a for what, a in answers.items() if a.get("verdict") == "answered"}
    if followed:
        return problem(
            f"The AS redirected to a redirect_uri that differs from the registered {registered}: "
            + "; ".join(f"{what} ({a['location']})" + (" with a code" if a.get("code_issued") else "") for what, a in followed.items())
            + ". Whoever controls such a URI receives the user's authorization code.",
            "Compare redirect_uri with the registered URIs by exact string match (only a loopback URI's port may vary, RFC 8252 §7.3); answer a mismatch with an error page, never a redirect (RFC 6749 §4.1.2.1).",
            **evidence,
        )
    failed = {what: a for what, a in answers.items() if "failed" in a}
    if failed:
        return skip("An authorization request failed: " + "; ".join(f"{what}: {a['failed']}" for what, a in failed.items()) + ".", **evidence)
    undecided = [what for what, a in answers.items() if not _refused_kind(a, registered)]
    if undecided:
        return skip(
            f"For {', '.join(undecided)} the AS answered with a page or a redirect to sign-in, not an error: it may check redirect_uri only after sign-in, which doctor does not do, so it cannot tell.",
            **evidence,
        )
    return ok(f"Each redirect_uri differing from the registered one ({', '.join(answers)}) was refused.", **evidence)


@check(
    "as.pkce-enforced",
    "An authorization request without PKCE (or with plain, when only S256 is advertised) yields no code",
    Level.MUST,
    "OAuth 2.1 §4.1.1, §4.1.3; RFC 7636 §4.4.1; MCP 2026-07-28 Authorization: Authorization Code Protection (PKCE MUST)",
    probes=AS,
    needs=_active_as,
)
def pkce_enforced(ev: Evidence, found: tuple[TokenEvidence, dict[str, Any]]) -> Outcome:
    _te, record = found
    answers = _authorize(record, "pkce")
    if isinstance(answers, Outcome):
        return answers
    registered = record["registered_redirect_uri"]
    evidence: dict[str, Any] = {what.replace(" ", "_"): a for what, a in answers.items()}
    coded = [what for what, a in answers.items() if a.get("code_issued")]
    redemption = record.get("code") or {}
    loose = [what.replace("_", " ") for what in ("without_verifier", "wrong_verifier") if (redemption.get(what) or {}).get("tokens_issued")]
    evidence["code_redemption"] = redemption
    if loose:
        return problem(
            f"The token endpoint issued tokens for an authorization code sent {' and '.join(loose)}: it does not verify PKCE, so an intercepted code can be redeemed.",
            "Verify code_verifier against the code's code_challenge on every code redemption, and refuse a missing one (OAuth 2.1 §4.1.3; RFC 7636 §4.6).",
            **evidence,
        )
    if coded:
        return problem(
            f"The AS issued an authorization code for a request with {' and with '.join(coded)}: it does not enforce PKCE, so an intercepted code can be redeemed.",
            "Require code_challenge with code_challenge_method=S256 on every authorization request, and refuse plain unless advertised (OAuth 2.1 §4.1.1; MCP: PKCE is required).",
            **evidence,
        )
    failed = {what: a for what, a in answers.items() if "failed" in a}
    if failed:
        return skip("An authorization request failed: " + "; ".join(f"{what}: {a['failed']}" for what, a in failed.items()) + ".", **evidence)
    undecided = [what for what, a in answers.items() if not _refused_kind(a, registered)]
    if undecided:
        return skip(f"For the request with {', '.join(undecided)} the AS showed a page (sign-in or consent) before deciding; doctor does not sign in, so it cannot tell whether a code would follow.", **evidence)
    return ok(f"Requests with {', '.join(answers)} were refused ({'; '.join(str(a.get('error') or a.get('detail')) for a in answers.values())}).", **evidence)


@check(
    "as.code-single-use",
    "An authorization code redeems once",
    Level.MUST,
    "OAuth 2.1 §4.1.3; RFC 6749 §4.1.2",
    probes=AS,
    needs=_active_as,
)
def code_single_use(ev: Evidence, found: tuple[TokenEvidence, dict[str, Any]]) -> Outcome:
    _te, record = found
    if "authorize_skipped" in record:
        return skip(f"No authorization request was sent: {record['authorize_skipped']}.")
    redemption = record.get("code") or {}
    if "no_code" in redemption:
        return skip(f"No code to redeem twice: {redemption['no_code']}; doctor does not sign in for a second code.", request=redemption.get("request"))
    right, again = redemption["right_verifier"], redemption["again"]
    if not right.get("tokens_issued"):
        return skip(f"The code was not redeemed with the right code_verifier ({_said(right)}; the AS may burn a code on a failed attempt), so a second redemption could not be tried.", **redemption)
    if again.get("tokens_issued"):
        return problem(
            "The same authorization code was redeemed twice: both times the token endpoint issued tokens, so an intercepted code stays usable after the client redeemed it.",
            "Mark a code used on its first redemption and refuse it afterwards with invalid_grant; revoke the tokens issued from it (OAuth 2.1 §4.1.3; RFC 6749 §4.1.2).",
            **redemption,
        )
    return ok(f"The code redeemed once; the second redemption got {_said(again)}.", **redemption)
