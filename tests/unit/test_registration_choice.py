"""Issue 11 items 2-4 as pure rules: which token endpoint auth method DCR asks
for (the AS's token_endpoint_auth_methods_supported), how the answer to a
GET of the authorization URL is read (RFC 6749 §4.1.2.1), when a stored client
is reused, and when discovery falls back to the 2025-03-26 revision (only
when no PRM exists at all). The same behaviours against real peers are in
tests/integration/test_login_in_the_wild.py and the conformance suite."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from authkit_mcp_cli.challenge import Challenges
from authkit_mcp_cli.client.context import Context, LoginOptions
from authkit_mcp_cli.client.grants.authorization_code import callback_summary
from authkit_mcp_cli.client.registration import choose_auth_method, pick_client
from authkit_mcp_cli.discovery import Discovered, discover
from authkit_mcp_cli.errors import ProtocolError, UsageError
from authkit_mcp_cli.http import HttpPolicy, HttpSession
from authkit_mcp_cli.legacy_discovery import DEFAULT_ENDPOINTS, METADATA_AT_ORIGIN
from authkit_mcp_cli.oauth.authorize import classify_authorization_answer
from authkit_mcp_cli.store import Store

REDIRECT = "http://127.0.0.1:5000/oauth/callback"
AUTHORIZE = "https://as.example.com/authorize?client_id=c&state=s"


# --- item 4: the auth method fits the AS ---------------------------------------------------


@pytest.mark.parametrize(
    ("listed", "method", "said"),
    [
        (None, "none", False),  # nothing listed: ask for a public client; the response says what was granted
        ([], "none", False),
        (["client_secret_post", "none"], "none", False),  # the TypeScript SDK example
        (["client_secret_post", "client_secret_basic"], "client_secret_post", True),  # FastMCP
        (["client_secret_basic"], "client_secret_basic", True),
        (["private_key_jwt", "client_secret_basic"], "client_secret_basic", True),
    ],
)
def test_dcr_asks_for_a_method_the_as_lists(listed, method, said):
    metadata: dict[str, Any] = {} if listed is None else {"token_endpoint_auth_methods_supported": listed}
    chosen, why = choose_auth_method(metadata)
    assert chosen == method
    assert bool(why) is said
    if said:
        assert "without none" in why and method in why


def test_an_explicit_method_wins_and_an_unusable_list_is_a_coded_error():
    assert choose_auth_method({"token_endpoint_auth_methods_supported": ["client_secret_basic"]}, "none") == ("none", None)
    with pytest.raises(UsageError) as info:
        choose_auth_method({"token_endpoint_auth_methods_supported": ["private_key_jwt"]})
    assert info.value.code == "dcr.auth-method-unsupported"


# --- item 2: reading the authorization endpoint's answer ----------------------------------


@pytest.mark.parametrize(
    ("status", "location", "body", "verdict"),
    [
        (400, None, b'{"error":"invalid_client","error_description":"Invalid client_id"}', "refused"),  # TS example after a restart
        (400, None, b"<html>Unknown client</html>", "refused"),
        (302, REDIRECT + "?error=invalid_client&state=s", b"", "refused"),
        (302, "https://as.example.com/error?error=unauthorized_client", b"", "refused"),  # the AS's own error page
        (303, "/interaction/abc", b"", "accepted"),  # oidc-provider: its sign-in page
        (302, "https://login.example.com/u/login?state=xyz", b"", "accepted"),
        (200, None, b"<form>consent</form>", "accepted"),
        (302, REDIRECT + "?code=abc&state=s", b"", "answered"),  # an AS that approves without a page
        (302, REDIRECT + "?error=access_denied&state=s", b"", "answered"),  # an authorization response all the same
    ],
)
def test_authorization_answers(status, location, body, verdict):
    answer = classify_authorization_answer(status, location, body, url=AUTHORIZE, redirect_uri=REDIRECT)
    assert answer.verdict == verdict, answer
    if verdict == "refused":
        assert answer.remote is not None and answer.remote.status == status
    if verdict == "answered":
        assert answer.params is not None and answer.params["state"] == "s"


def test_the_refusal_keeps_what_the_as_said():
    answer = classify_authorization_answer(400, None, b'{"error":"invalid_client","error_description":"Invalid client_id"}', url=AUTHORIZE, redirect_uri=REDIRECT)
    assert answer.remote and answer.remote.error == "invalid_client" and answer.remote.error_description == "Invalid client_id"
    assert answer.detail == "HTTP 400 invalid_client (Invalid client_id)"


# --- item 7: the callback line says only what was checked ---------------------------------


def test_callback_summary_claims_the_issuer_only_when_iss_was_there():
    assert "issuer verified" in callback_summary({"code": "c", "state": "s", "iss": "https://as.example.com"})
    without = callback_summary({"code": "c", "state": "s"})
    assert "issuer verified" not in without and "the AS sent no iss; RFC 9207 mix-up defence not available" in without


# --- items 2 and 4: when a stored client is reused ---------------------------------------


def disc(metadata: dict[str, Any]) -> Discovered:
    issuer = "https://as.example.com"
    return Discovered("https://mcp.example.com/mcp", "https://mcp.example.com/mcp", {}, "", None, issuer, {"issuer": issuer, "registration_endpoint": issuer + "/register", **metadata}, "")


def pick(tmp_path, metadata: dict[str, Any], opts: LoginOptions, stored: dict | None) -> tuple[Any, list[str], list[tuple[str, str]]]:
    sent: list[str] = []
    reports: list[tuple[str, str]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(request.content.decode())
        return httpx.Response(201, json={"client_id": "new", "client_secret": "s3cret", "token_endpoint_auth_method": "client_secret_post", "redirect_uris": [REDIRECT]})

    async def go():
        async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as client:
            store = Store(tmp_path, warn=lambda m: None)
            if stored:
                store.save_client("https://as.example.com", stored)
            ctx = Context(client=client, http=HttpSession(HttpPolicy()), store=store, report=lambda step, detail: reports.append((step, detail)))
            return await pick_client(ctx, disc(metadata), opts, REDIRECT)

    return asyncio.run(go()), sent, reports


STORED = {"client_id": "old", "token_endpoint_auth_method": "none", "redirect_uris": [REDIRECT], "source": "dcr"}


def test_a_fitting_stored_client_is_reused_and_not_fresh(tmp_path):
    chosen, sent, _ = pick(tmp_path, {}, LoginOptions(), STORED)
    assert chosen.registration.client_id == "old" and not chosen.fresh and sent == []


def test_new_client_registers_even_when_a_stored_one_fits(tmp_path):
    chosen, sent, reports = pick(tmp_path, {}, LoginOptions(new_client=True), STORED)
    assert chosen.registration.client_id == "new" and chosen.fresh and len(sent) == 1
    assert any("--new-client" in d for _, d in reports)


def test_a_stored_public_client_is_replaced_when_the_as_no_longer_lists_none(tmp_path):
    chosen, sent, reports = pick(tmp_path, {"token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"]}, LoginOptions(), STORED)
    assert chosen.registration.client_id == "new" and chosen.registration.client_secret == "s3cret"
    assert '"token_endpoint_auth_method": "client_secret_post"' in sent[0]
    assert any("registering a confidential client with client_secret_post" in d for _, d in reports)


def test_new_client_with_a_client_id_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError) as info:
        pick(tmp_path, {}, LoginOptions(client_id="pre", new_client=True), None)
    assert info.value.code == "usage.conflicting-options"


# --- item 3: the 2025-03-26 fallback, and only when no PRM exists ------------------------

SERVER = "https://mcp.example.com/mcp"
ORIGIN = "https://mcp.example.com"


def run_discover(routes: dict[str, httpx.Response], challenge: Challenges) -> tuple[Any, list[str]]:
    sent: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        key = f"{request.method} {request.url}"
        sent.append(key)
        return routes.get(key, httpx.Response(404))

    async def go() -> Any:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as client:
            return await discover(client, SERVER, HttpPolicy(timeout=5), challenge=challenge)

    try:
        return asyncio.run(go()), sent
    except Exception as exc:
        return exc, sent


def as_doc(issuer: str) -> dict[str, Any]:
    return {"issuer": issuer, "authorization_endpoint": ORIGIN + "/oauth/authorize", "token_endpoint": ORIGIN + "/oauth/token", "registration_endpoint": ORIGIN + "/oauth/register", "code_challenge_methods_supported": ["S256"]}


@pytest.mark.parametrize("issuer", [ORIGIN, ORIGIN + "/"])
def test_no_prm_metadata_at_the_origin(issuer):
    found, sent = run_discover({f"GET {ORIGIN}/.well-known/oauth-authorization-server": httpx.Response(200, json=as_doc(issuer))}, Challenges(401))
    assert isinstance(found, Discovered), found
    assert found.fallback == METADATA_AT_ORIGIN and found.issuer == issuer and found.resource == SERVER
    assert found.metadata["token_endpoint"] == ORIGIN + "/oauth/token"
    assert "2025-03-26 fallback" in found.notes[0] and "metadata at" in found.notes[0]
    assert sent[:2] == [f"GET {ORIGIN}/.well-known/oauth-protected-resource/mcp", f"GET {ORIGIN}/.well-known/oauth-protected-resource"]


def test_no_prm_no_metadata_default_endpoints():
    found, _ = run_discover({}, Challenges(401))
    assert isinstance(found, Discovered), found
    assert found.fallback == DEFAULT_ENDPOINTS and found.issuer == ORIGIN
    assert {k: found.metadata[k] for k in ("authorization_endpoint", "token_endpoint", "registration_endpoint")} == {
        "authorization_endpoint": ORIGIN + "/authorize",
        "token_endpoint": ORIGIN + "/token",
        "registration_endpoint": ORIGIN + "/register",
    }
    assert "code_challenge_methods_supported" not in found.metadata  # nothing invented
    assert "default endpoints" in found.notes[0]


@pytest.mark.parametrize(
    ("routes", "challenge", "code"),
    [
        ({f"GET {ORIGIN}/.well-known/oauth-protected-resource/mcp": httpx.Response(500)}, Challenges(401), "prm.not-found"),  # PRM broken, not absent
        ({f"GET {ORIGIN}/.well-known/oauth-protected-resource": httpx.Response(200, text="not json")}, Challenges(401), "prm.not-found"),
        ({}, Challenges.read(401, f'Bearer resource_metadata="{ORIGIN}/prm"'), "prm.not-found"),  # the 401 names a PRM that is missing
        ({}, Challenges(200), "prm.not-found"),  # not guarded by OAuth at all
        ({f"GET {ORIGIN}/.well-known/oauth-protected-resource": httpx.Response(200, json={"resource": "https://other.example.com/mcp", "authorization_servers": [ORIGIN]})}, Challenges(401), "prm.resource-mismatch"),
        ({f"GET {ORIGIN}/.well-known/oauth-authorization-server": httpx.Response(200, json=as_doc("https://elsewhere.example.com"))}, Challenges(401), "as.issuer-mismatch"),
        ({f"GET {ORIGIN}/.well-known/oauth-authorization-server": httpx.Response(500)}, Challenges(401), "as.metadata-not-found"),
        ({f"GET {ORIGIN}/.well-known/oauth-authorization-server": httpx.Response(200, json={**as_doc(ORIGIN), "code_challenge_methods_supported": ["plain"]})}, Challenges(401), "as.pkce-unsupported"),
    ],
)
def test_the_fallback_is_only_for_servers_with_no_prm_at_all(routes, challenge, code):
    err, _ = run_discover(routes, challenge)
    assert isinstance(err, ProtocolError), err
    assert err.code == code


# --- item 2: what a refusal leads to ------------------------------------------------------


def refusal(tmp_path, source: str, status: int = 400) -> Exception:
    from authkit_mcp_cli.client.grants.authorization_code import _after_refusal
    from authkit_mcp_cli.oauth.client_auth import ClientRegistration

    answer = classify_authorization_answer(status, None, b'{"error":"invalid_client"}', url=AUTHORIZE, redirect_uri=REDIRECT)
    reg = ClientRegistration("https://app.example.com/client.json" if source == "cimd" else "pre", None, "none", (REDIRECT,), source)

    async def go():
        async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(500))) as client:
            ctx = Context(client=client, http=HttpSession(HttpPolicy()), store=Store(tmp_path, warn=lambda m: None))
            await _after_refusal(ctx, disc({"authorization_endpoint": "https://as.example.com/authorize"}), LoginOptions(), REDIRECT, reg, answer)

    with pytest.raises(Exception) as info:
        asyncio.run(go())
    return info.value


@pytest.mark.parametrize("source", ["pre-registered", "cimd"])
def test_a_refused_client_that_login_cannot_replace_ends_with_a_coded_error(tmp_path, source):
    err = refusal(tmp_path, source)
    assert err.code == "login.client-unknown" and err.exit_code == 1
    assert err.remote.status == 400 and err.remote.error == "invalid_client" and err.url == "https://as.example.com/authorize"
    assert ("--cimd-url" if source == "cimd" else "--client-id") in err.hint


def test_a_failing_authorization_endpoint_is_not_blamed_on_the_client(tmp_path):
    err = refusal(tmp_path, "dcr", status=503)
    assert err.code == "login.authorization-endpoint-error"
