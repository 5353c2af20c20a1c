"""doctor --active's probes (issue 22): what the MCP server and its authorization
server DO with the real token, login and client doctor --login obtained, not only
what their documents say. Not read-only: extra token requests (a made-up
password grant, a bad refresh token, a used one), and requests to the server
with the token in the query, with a session id alone, with an expired token.

Each probe records the answers (``TokenEvidence.active_server`` /
``active_as``); ``active_checks`` judges them. Secrets never enter the
evidence: URLs carrying the token are masked, tokens are not recorded.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from authkit_mcp_cli.checks.server_probes import post_initialize
from authkit_mcp_cli.discovery import INITIALIZE, MCP_HEADERS
from authkit_mcp_cli.http import Exchange
from authkit_mcp_cli.redact import redact_url

if TYPE_CHECKING:
    from authkit_mcp_cli.checks.evidence import TokenEvidence
    from authkit_mcp_cli.checks.gatherer import Gatherer
    from authkit_mcp_cli.checks.token_probe import LoginPlan

NOTICE = (
    "doctor --active is NOT read-only: besides --login's login, refresh and token for another resource, it sends the server the token in the URL query, "
    "a session id without the token and an expired token when one is at hand; it sends the authorization server, as the login's client (it registers none of its own), "
    "authorization requests it never follows (wrong redirect_uri, no PKCE), a code it redeems without, with a wrong and twice with the right code_verifier when the AS issues one without a page, extra token requests (a password grant for a made-up user, a bad refresh token, "
    "a used refresh token, whose reuse may end the stored login) and, when the AS refuses to refresh into another resource, a second authorization request for one."
)
EXPIRY_WAIT = 30.0  # the fresh token is waited out when it expires within this many seconds (issue 22)
LEEWAY = 60.0  # an expired token is sent only once it is expired by more than the clock skew a server may allow
PING = json.dumps({"jsonrpc": "2.0", "id": 2, "method": "ping"}).encode()


def answer(ex: Exchange) -> dict[str, Any]:
    """An exchange as evidence, its URL masked (the token may be in the query)."""
    out = ex.to_evidence()
    out["request"] = f"{ex.method} {redact_url(ex.url)}"
    if ex.ok and ex.header("www-authenticate"):
        out["www_authenticate"] = ex.header("www-authenticate")
    return out


def served(ex: Exchange) -> bool:
    return ex.ok and ex.status is not None and 200 <= ex.status < 300


def _active(g: Gatherer) -> tuple[LoginPlan, TokenEvidence] | None:
    te = g.ev.token
    if g.login is None or not g.login.active or te is None or te.session is None or not g.ev.target.server_url:
        return None
    return g.login, te


# --- the MCP server ---------------------------------------------------------------------


async def server(g: Gatherer) -> None:
    if (found := _active(g)) is None:
        return
    plan, te = found
    assert te.session is not None and te.server_url
    if te.expired_token is None:  # the token an earlier doctor --active run kept for this server
        from authkit_mcp_cli.checks import kept_token

        kept = kept_token.load(plan.ctx.store, te.server_url)
        if kept is not None and kept[0] != te.session.tokens.access_token:
            te.expired_token, te.expired_at = kept
            te.expired_source = "the access token an earlier doctor --active run used"
        elif kept is not None:
            te.expired_source = "the token kept from an earlier doctor --active run is the one in use"
    token = te.session.tokens.access_token
    record: dict[str, Any] = {}
    te.active_server = record
    # RFC 6750 §2.3; MCP Authorization: Token Requirements (the Authorization header only)
    sep = "&" if "?" in te.server_url else "?"
    record["query"] = answer(await g.request("POST", te.server_url + sep + urlencode({"access_token": token}), MCP_HEADERS, INITIALIZE, follow=False))
    record["session"] = await _session_alone(g, te.server_url, token)
    record["expired"] = await _expired(g, te)
    from authkit_mcp_cli.checks import kept_token

    newest = (te.latest or te.session).tokens
    kept_token.keep(plan.ctx.store, te.server_url, newest.access_token, _expiry(newest.access_token, newest.expires_at))


async def _session_alone(g: Gatherer, server_url: str, token: str) -> dict[str, Any]:
    """An authenticated initialize, then a ping carrying only its Mcp-Session-Id (MCP security best practices: session hijacking)."""
    init = await post_initialize(g, server_url, {"Authorization": f"Bearer {token}", "X-Atoms-Auth-Probe": "session"})
    out: dict[str, Any] = {"initialize": answer(init)}
    session_id = init.header("mcp-session-id") if init.ok else None
    if not served(init) or not session_id:
        return out
    out["session_id_issued"] = True
    version = _negotiated_version(init) or json.loads(INITIALIZE)["params"]["protocolVersion"]
    headers = {**MCP_HEADERS, "Mcp-Session-Id": session_id, "MCP-Protocol-Version": version}
    out["alone"] = answer(await g.request("POST", server_url, headers, PING, follow=False))
    return out


def _negotiated_version(ex: Exchange) -> str | None:
    text = ex.body.decode("utf-8", "replace")
    for line in text.splitlines() if (ex.header("content-type") or "").startswith("text/event-stream") else [text]:
        data = line[5:] if line.startswith("data:") else line
        try:
            doc = json.loads(data)
        except ValueError:
            continue
        version = doc.get("result", {}).get("protocolVersion") if isinstance(doc, dict) and isinstance(doc.get("result"), dict) else None
        if isinstance(version, str):
            return version
    return None


def _expiry(token: str, expires_at: float | None) -> float | None:
    """When ``token`` expires: its exp claim when it is a JWT, else what the token response said."""
    from authkit_mcp_cli.redact import decode_jwt_unverified

    decoded = decode_jwt_unverified(token)
    exp = decoded["claims"].get("exp") if decoded else None
    return float(exp) if isinstance(exp, (int, float)) and not isinstance(exp, bool) else expires_at


async def _expired(g: Gatherer, te: TokenEvidence) -> dict[str, Any]:
    """An expired access token the AS signed, when one is at hand (RFC 6750 §3.1; RFC 9068 §4): expired by
    more than the clock skew servers allow (serve allows 30 s, many libraries 60 s), so a refusal is due."""
    assert te.session is not None and te.server_url
    token, source = None, None
    stored_exp = _expiry(te.expired_token, te.expired_at) if te.expired_token is not None else None
    if te.expired_token is not None and stored_exp is not None and stored_exp + LEEWAY < time.time():
        token, source = te.expired_token, te.expired_source
    tokens = te.session.tokens
    fresh_exp = _expiry(tokens.access_token, tokens.expires_at)
    if token is None and fresh_exp is not None and fresh_exp - time.time() <= EXPIRY_WAIT:
        if g.login is not None:
            g.login.ctx.report("active", f"the access token expires within {EXPIRY_WAIT:.0f} s: waiting until it has been expired for {LEEWAY:.0f} s (the clock skew servers may allow)")
        await asyncio.sleep(max(0.0, fresh_exp + LEEWAY + 1.0 - time.time()))
        token, source = tokens.access_token, f"the fresh access token, which expired within {EXPIRY_WAIT:.0f} s (waited out, plus {LEEWAY:.0f} s of allowed clock skew)"
    if token is None:
        expires = f"expires in {int(fresh_exp - time.time())} s" if fresh_exp else "has no known expiry"
        if te.expired_token is not None:
            stored = f"{te.expired_source} has not been expired for {LEEWAY:.0f} s yet"
        else:
            stored = te.expired_source or "no earlier token is kept for this server"
        return {"at_hand": False, "why": f"no expired access token is at hand: {stored}, and the fresh one {expires}"}
    ex = await post_initialize(g, te.server_url, {"Authorization": f"Bearer {token}", "X-Atoms-Auth-Probe": "expired"})
    return {"at_hand": True, "source": source, "answer": answer(ex)}


# --- the authorization server -------------------------------------------------------------


async def authorization_server(g: Gatherer) -> None:
    if (found := _active(g)) is None:
        return
    plan, te = found
    assert te.session is not None
    record: dict[str, Any] = {"public_client": not te.session.registration.client_secret, "sender_constrained": bool(te.session.tokens.dpop_key)}
    te.active_as = record
    endpoint = te.session.metadata.get("token_endpoint")
    if not isinstance(endpoint, str):
        record["no_token_endpoint"] = True
        return
    record["token_endpoint"] = endpoint
    # OAuth 2.1 removed the password grant (RFC 9700 §2.4): a made-up user, never real credentials
    made_up = {"grant_type": "password", "username": f"atoms-auth-doctor-{secrets.token_hex(4)}@example.invalid", "password": secrets.token_urlsafe(12)}
    record["password"] = await _token_request(plan, te, made_up)
    resource = te.session.resource
    await _authorization_requests(plan, te, record)
    # RFC 6749 §5.2: a refresh token the AS never issued is invalid_grant
    record["bad_refresh"] = await _token_request(plan, te, {"grant_type": "refresh_token", "refresh_token": "atoms-auth-doctor-" + secrets.token_urlsafe(24), "resource": resource})
    used = te.used_refresh_token
    if used is None:
        return
    # OAuth 2.1 §4.3.1; RFC 9700 §4.14: a used refresh token must not work again (rotation), and its reuse should end the family
    record["reused"] = await _token_request(plan, te, {"grant_type": "refresh_token", "refresh_token": used, "resource": resource})
    latest = te.latest or te.session
    if latest.tokens.refresh_token and latest.tokens.refresh_token != used:
        after = await _token_request(plan, te, {"grant_type": "refresh_token", "refresh_token": latest.tokens.refresh_token, "resource": resource}, keep=True)
        record["family_after_reuse"] = after


def redirect_variants(registered: str) -> dict[str, str]:
    """Redirect URIs that differ from the registered one in ways an exact match must refuse (OAuth 2.1 §2.3.1;
    RFC 9700 §4.1); a loopback port change is allowed (RFC 8252 §7.3), so none changes only the port."""
    parts = urlsplit(registered)
    path = parts.path or "/"
    return {
        "a longer path": urlunsplit((parts.scheme, parts.netloc, path.rstrip("/") + "/atoms-auth-doctor", parts.query, "")),
        "a prefix extension": urlunsplit((parts.scheme, parts.netloc, path + "atoms-auth-doctor" if path.endswith("/") else path + "-atoms-auth-doctor", parts.query, "")),
        "another host": urlunsplit(("https", "atoms-auth-doctor.invalid", path, parts.query, "")),
    }


async def _authorization_requests(plan: LoginPlan, te: TokenEvidence, record: dict[str, Any]) -> None:
    """Authorization requests as the login's client, never followed and never signed in to: a wrong redirect_uri
    (as.redirect-exact), no code_challenge and a plain one (as.pkce-enforced). A code in an answer is never exchanged."""
    from authkit_mcp_cli.oauth.pkce import Pkce

    assert te.session is not None
    session = te.session
    endpoint = session.metadata.get("authorization_endpoint")
    registered = session.registration.redirect_uris[0] if session.registration.redirect_uris else None
    if not isinstance(endpoint, str) or registered is None:
        record["authorize_skipped"] = "the login's client has no registered redirect URI doctor knows" if isinstance(endpoint, str) else "the AS metadata has no authorization_endpoint"
        return
    pkce = Pkce.new()
    base = {"response_type": "code", "client_id": session.registration.client_id, "state": secrets.token_urlsafe(16), "resource": session.resource}
    if session.tokens.scope:
        base["scope"] = session.tokens.scope

    async def ask(params: dict[str, str], redirect_uri: str) -> dict[str, Any]:
        from authkit_mcp_cli.client.preflight import ACCEPT
        from authkit_mcp_cli.http import exchange
        from authkit_mcp_cli.oauth.authorize import classify_authorization_answer

        url = endpoint + ("&" if urlsplit(endpoint).query else "?") + urlencode(params)
        ex = await exchange(plan.ctx.client, "GET", url, policy=plan.ctx.policy, headers={"Accept": ACCEPT}, follow_redirects=False)
        out: dict[str, Any] = {"request": f"GET {redact_url(url)}"}
        if not ex.ok:
            out["failed"] = ex.error
            return out
        answer = classify_authorization_answer(ex.status or 0, ex.header("location"), ex.body, url=url, redirect_uri=redirect_uri)
        location = ex.header("location")
        target = urljoin(url, location) if location and ex.status in (301, 302, 303, 307, 308) else None
        back = dict(parse_qsl(urlsplit(target).query)) if target else {}
        out.update(
            status=ex.status,
            verdict=answer.verdict,  # refused / answered (straight to redirect_uri) / accepted (a page, or a redirect elsewhere)
            detail=answer.detail,
            location=redact_url(target) if target else None,
            code_issued=answer.verdict == "answered" and "code" in back,
            error=back.get("error") or (answer.remote.error if answer.remote else None),
        )
        return out

    record["registered_redirect_uri"] = registered
    record["redirect"] = {what: await ask({**base, "redirect_uri": uri, "code_challenge": pkce.challenge, "code_challenge_method": "S256"}, uri) for what, uri in redirect_variants(registered).items()}
    record["pkce"] = {"no code_challenge": await ask({**base, "redirect_uri": registered}, registered)}
    methods = session.metadata.get("code_challenge_methods_supported")
    if isinstance(methods, list) and "plain" not in methods:
        record["pkce"]["code_challenge_method=plain (not advertised)"] = await ask({**base, "redirect_uri": registered, "code_challenge": pkce.verifier, "code_challenge_method": "plain"}, registered)
    record["code"] = await _code_redemptions(plan, te, endpoint, {**base, "redirect_uri": registered, "state": secrets.token_urlsafe(16)}, registered)


async def _code_redemptions(plan: LoginPlan, te: TokenEvidence, endpoint: str, base: dict[str, str], registered: str) -> dict[str, Any]:
    """A correct authorization request; when the AS answers it with a code at once (it approves without a
    page), that code is sent to the token endpoint without a code_verifier, with a wrong one, with the right
    one, and once more (OAuth 2.1 §4.1.3: PKCE verified, a code redeemed once). Nothing is stored."""
    from authkit_mcp_cli.client.preflight import ACCEPT
    from authkit_mcp_cli.http import exchange
    from authkit_mcp_cli.oauth.pkce import Pkce

    pkce = Pkce.new()
    url = endpoint + ("&" if urlsplit(endpoint).query else "?") + urlencode({**base, "code_challenge": pkce.challenge, "code_challenge_method": "S256"})
    ex = await exchange(plan.ctx.client, "GET", url, policy=plan.ctx.policy, headers={"Accept": ACCEPT}, follow_redirects=False)
    location = ex.header("location") if ex.ok and ex.status in (301, 302, 303, 307, 308) else None
    target = urljoin(url, location) if location else None
    back = dict(parse_qsl(urlsplit(target).query)) if target and target.split("?", 1)[0] == registered.split("?", 1)[0] else {}
    code = back.get("code")
    out: dict[str, Any] = {"request": f"GET {redact_url(url)}", "authorization_status": ex.status}
    if not code:
        out["no_code"] = f"the AS answered HTTP {ex.status or ex.error} (a sign-in or consent page, or a redirect elsewhere), not a code at once"
        return out
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": registered, "resource": te.session.resource if te.session else ""}
    out["without_verifier"] = await _token_request(plan, te, form)
    out["wrong_verifier"] = await _token_request(plan, te, {**form, "code_verifier": Pkce.new().verifier})
    out["right_verifier"] = await _token_request(plan, te, {**form, "code_verifier": pkce.verifier})
    out["again"] = await _token_request(plan, te, {**form, "code_verifier": pkce.verifier})
    return out


async def _token_request(plan: LoginPlan, te: TokenEvidence, form: dict[str, str], *, keep: bool = False) -> dict[str, Any]:
    """One token request as the login's client; the answer without its tokens. ``keep``: store what a
    successful refresh returns, so the stored login stays usable."""
    from dataclasses import replace

    from authkit_mcp_cli.client.context import send
    from authkit_mcp_cli.client.session import save_session
    from authkit_mcp_cli.errors import AtomsAuthError
    from authkit_mcp_cli.oauth.client_auth import client_auth
    from authkit_mcp_cli.oauth.message import form_request, load_json

    assert te.session is not None
    session = te.latest or te.session
    request = form_request(session.metadata["token_endpoint"], form, client_auth(session.registration, form))
    try:
        status, body = await send(plan.ctx, request)
    except AtomsAuthError as exc:
        return {"failed": f"{exc.code}: {exc.message}"}
    doc = load_json(body)
    out: dict[str, Any] = {"request": f"POST {request.url} grant_type={form['grant_type']}", "status": status}
    if isinstance(doc, dict):
        out["error"] = doc.get("error") if isinstance(doc.get("error"), str) else None
        out["error_description"] = doc.get("error_description") if isinstance(doc.get("error_description"), str) else None
        out["tokens_issued"] = status == 200 and isinstance(doc.get("access_token"), str)
    else:
        out["tokens_issued"] = False
    if keep and out["tokens_issued"] and isinstance(doc, dict):
        refresh_token = doc.get("refresh_token") if isinstance(doc.get("refresh_token"), str) else session.tokens.refresh_token
        expires_in = doc.get("expires_in")
        tokens = replace(session.tokens, access_token=doc["access_token"], refresh_token=refresh_token, expires_at=time.time() + expires_in if isinstance(expires_in, (int, float)) else None, obtained_at=time.time())
        te.latest = session.with_tokens(tokens)
        save_session(plan.ctx, te.latest)
    return out
