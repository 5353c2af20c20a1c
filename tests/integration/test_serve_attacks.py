"""serve's development AS under attack (issue 14 items 1, 4, 8), over real HTTP:
CORS only where other origins may read, the consent decision bound to the
browser that saw the page, policy sources that registered metadata cannot
inject into, and no open redirector."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from authkit_mcp_cli.server.local_as.model import Client
from authkit_mcp_cli.server.local_as.redirect_uris import csp_source, parse_redirect_uri, trusted_for_redirect
from peers.serve_app import serve_app

pytestmark = pytest.mark.integration

CALLBACK = "http://127.0.0.1:53682/oauth/callback"
ATTACKER = "https://attacker.example/phish"
SAFE_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"


@pytest.fixture(scope="module")
def served():
    with serve_app(auto_approve=False) as (info, app):
        yield info, app.state.local_as


def register(info, redirect_uris: list[str], **extra) -> httpx.Response:
    body = {"redirect_uris": redirect_uris, "token_endpoint_auth_method": "none", "grant_types": ["authorization_code", "refresh_token"], "client_name": "t", **extra}
    return httpx.post(info.issuer + "/oauth2/register", json=body, timeout=10)


def native_client(info, redirect_uri: str = CALLBACK) -> str:
    response = register(info, [redirect_uri], application_type="native")
    assert response.status_code == 201, response.text
    return response.json()["client_id"]


def authorize_url(info, client_id: str, redirect_uri: str | None = CALLBACK, **extra: str) -> str:
    challenge = base64.urlsafe_b64encode(hashlib.sha256(secrets.token_bytes(32)).digest()).rstrip(b"=").decode()
    params = {"response_type": "code", "client_id": client_id, "code_challenge": challenge, "code_challenge_method": "S256", "state": "st", "resource": info.resource, "scope": "mcp:tools"}
    if redirect_uri is not None:
        params["redirect_uri"] = redirect_uri
    params.update(extra)
    return info.issuer + "/oauth2/authorize?" + urlencode(params)


def consent(info, browser: httpx.Client, client_id: str) -> tuple[dict[str, str], httpx.Response]:
    """Open the consent page in `browser`; the form's hidden fields and the page."""
    page = browser.get(authorize_url(info, client_id))
    assert page.status_code == 200, page.text
    return dict(re.findall(r'<input type=hidden name=(\w+) value="([^"]*)"', page.text)), page


def decide(info, browser: httpx.Client, fields: dict[str, str], decision: str = "approve", **headers: str) -> httpx.Response:
    return browser.post(info.issuer + "/oauth2/authorize/decision", data={**fields, "decision": decision}, headers={k.replace("_", "-"): v for k, v in headers.items()})


# --- item 1: CORS only on the endpoints other origins may call ------------------------------


def test_cors_only_on_the_allow_listed_endpoints(served):
    info, _ = served
    origin = {"Origin": "http://localhost:6274"}
    allowed = [info.prm_url, info.issuer + "/.well-known/oauth-protected-resource", info.issuer + "/.well-known/oauth-authorization-server", info.issuer + "/.well-known/openid-configuration", info.issuer + "/oauth2/jwks"]
    for url in allowed:
        assert httpx.get(url, headers=origin).headers.get("access-control-allow-origin") == "*", url
    for path, method in [("/oauth2/register", "POST"), ("/oauth2/token", "POST"), ("/oauth2/revoke", "POST"), ("/oauth2/device_authorization", "POST"), ("/api/mcp", "POST")]:
        pre = httpx.options(info.issuer + path, headers={**origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": "authorization, content-type, dpop"})
        assert pre.status_code == 200 and pre.headers.get("access-control-allow-origin") == "*", path
        assert "dpop" in pre.headers["access-control-allow-headers"].lower()
    mcp = httpx.post(info.mcp_url, headers={**origin, "Content-Type": "application/json"}, content=b"{}")
    exposed = mcp.headers["access-control-expose-headers"].lower()
    assert "www-authenticate" in exposed and "mcp-session-id" in exposed and "dpop-nonce" in exposed


def test_no_cors_on_authorize_the_decision_or_unlisted_paths(served):
    info, _ = served
    client_id = native_client(info)
    origin = {"Origin": "http://localhost:6274"}
    page = httpx.get(authorize_url(info, client_id), headers=origin)
    assert page.status_code == 200 and "Sign in" in page.text
    assert not any(h.startswith("access-control-") for h in page.headers), page.headers
    for path in ("/oauth2/authorize", "/oauth2/authorize/decision", "/oauth2/device", "/oauth2/anything-new"):
        pre = httpx.options(info.issuer + path, headers={**origin, "Access-Control-Request-Method": "POST"})
        assert "access-control-allow-origin" not in pre.headers, path
    decision = httpx.post(info.issuer + "/oauth2/authorize/decision", headers=origin, data={"request_id": "x"})
    assert "access-control-allow-origin" not in decision.headers


# --- item 1: the decision is bound to the browser that saw the consent page ----------------


def test_consent_cookie_attributes(served):
    info, _ = served
    with httpx.Client() as browser:
        _, page = consent(info, browser, native_client(info))
    cookie = page.headers["set-cookie"]
    attrs = {a.strip().split("=")[0].lower(): a.strip() for a in cookie.split(";")[1:]}
    assert cookie.startswith("atoms_auth_consent_")
    assert "httponly" in attrs and attrs["samesite"].lower() == "samesite=lax" and attrs["path"] == "Path=/oauth2/authorize"
    assert page.headers["referrer-policy"] == "same-origin"  # no-referrer would make the form's Origin "null"


def test_the_legitimate_decision_passes(served):
    info, las = served
    with httpx.Client() as browser:
        fields, _ = consent(info, browser, native_client(info))
        response = decide(info, browser, fields, Origin=info.issuer, Sec_Fetch_Site="same-origin")
    assert response.status_code == 303 and response.headers["location"].startswith(CALLBACK + "?code=")
    assert "max-age=0" in response.headers["set-cookie"].lower()  # the binding cookie is cleared


@pytest.mark.parametrize(
    ("case", "headers", "with_cookie", "reason"),
    [
        ("no cookie (another browser, or a cross-site POST: SameSite=Lax withholds it)", {}, False, "cookie is missing"),
        ("another origin", {"Origin": "http://127.0.0.1:1"}, True, "another origin"),
        ("opaque origin (sandbox, no-referrer page)", {"Origin": "null"}, True, "another origin"),
        ("cross-site fetch metadata", {"Sec-Fetch-Site": "cross-site"}, True, "another site"),
        ("same-site but not same-origin", {"Sec-Fetch-Site": "same-site"}, True, "another site"),
    ],
)
def test_forged_decisions_are_refused_and_do_not_burn_the_sign_in(served, case, headers, with_cookie, reason):
    info, las = served
    with httpx.Client() as browser:
        fields, _ = consent(info, browser, native_client(info))
        codes_before = len(las.codes)
        attacker = browser if with_cookie else httpx.Client()
        refused = attacker.post(info.issuer + "/oauth2/authorize/decision", data={**fields, "decision": "approve"}, headers=headers)
        assert refused.status_code == 403, case
        assert "location" not in refused.headers and reason in refused.text, case
        assert len(las.codes) == codes_before
        # the user's own click still works: the forged request did not consume the pending sign-in
        ok = decide(info, browser, fields, Origin=info.issuer)
        assert ok.status_code == 303 and "code=" in ok.headers["location"], case


def test_a_cookie_of_another_sign_in_does_not_fit(served):
    info, _ = served
    client_id = native_client(info)
    with httpx.Client() as attacker, httpx.Client() as victim:
        consent(info, attacker, client_id)  # the attacker's own sign-in sets the attacker's cookie
        victim_fields, _ = consent(info, victim, client_id)
        response = decide(info, attacker, victim_fields)
    assert response.status_code == 403


# --- item 4: no policy injection through registered metadata -------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1:1;frame-ancestors *",
        "http://127.0.0.1:1,https://evil.example",
        "http://127.0.0.1 x:1/cb",
        'http://"127.0.0.1":1/cb',
        "http://127.0.0.1:1'/cb",
        "https://app.example;script-src */cb",
        "https://app.example:443;sandbox/cb",
        "http://127.0.0.1:99999/cb",
        "http://127.0.0.1:1\t/cb",
        "http://user@127.0.0.1:1/cb",
        "https://[::1;x]/cb",
        "com.example.app:/cb path",
    ],
)
def test_registration_refuses_redirect_uris_with_non_host_authorities(served, uri):
    info, _ = served
    response = register(info, [uri], application_type="native")
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_redirect_uri"  # RFC 7591 §2


def test_a_client_put_into_the_store_directly_still_gets_a_safe_policy(served):
    info, las = served
    evil = "http://127.0.0.1:1;frame-ancestors *"
    client = Client(client_id="client_inserted_" + secrets.token_hex(4), redirect_uris=[evil], application_type="native", grant_types=["authorization_code"])
    las.clients[client.client_id] = client
    with httpx.Client() as browser:
        page = browser.get(authorize_url(info, client.client_id, redirect_uri=evil))
    csp = page.headers["content-security-policy"]
    assert csp == SAFE_CSP, csp  # no source from the unparseable authority, only 'self'
    assert "*" not in csp and "frame-ancestors 'none'" in csp and page.headers["x-frame-options"] == "DENY"


def test_policy_sources_are_rebuilt_from_validated_parts(served):
    info, _ = served
    uri = "http://127.0.0.1:53682/oauth/callback?x=;frame-ancestors,*"  # legal in a query (RFC 3986 sub-delims), never copied
    client_id = native_client(info, uri)
    with httpx.Client() as browser:
        page = browser.get(authorize_url(info, client_id, redirect_uri=uri))
    assert page.headers["content-security-policy"] == SAFE_CSP.replace("form-action 'self'", "form-action 'self' http://127.0.0.1:53682")
    assert csp_source("com.example.app:/cb") == "com.example.app:" and csp_source("HTTPS://App.Example:8443/cb") == "https://app.example:8443"
    assert csp_source("https://[::1]:8443/cb") == "https://[::1]:8443" and parse_redirect_uri("https://[::1]/cb").port is None


# --- item 8: never an open redirector ------------------------------------------------------


def _no_redirect(response: httpx.Response) -> None:
    assert response.status_code == 400, (response.status_code, response.text[:200])
    assert "location" not in response.headers and "attacker.example" not in response.headers.get("refresh", "")


def test_unknown_client_and_unregistered_redirect_uri_get_a_page(served):
    info, _ = served
    client_id = native_client(info)
    _no_redirect(httpx.get(authorize_url(info, "client_unknown", redirect_uri=ATTACKER)))
    _no_redirect(httpx.get(authorize_url(info, client_id, redirect_uri=ATTACKER)))
    _no_redirect(httpx.get(authorize_url(info, client_id, redirect_uri=ATTACKER, response_type="token")))  # an error, still not redirected
    _no_redirect(httpx.get(authorize_url(info, client_id, redirect_uri=CALLBACK + "/../../evil")))
    _no_redirect(httpx.get(authorize_url(info, client_id, redirect_uri="http://127.0.0.1.attacker.example:53682/oauth/callback")))
    # a metadata-document client_id whose document cannot be fetched: a page, no redirect
    _no_redirect(httpx.get(authorize_url(info, "http://127.0.0.1:9/client.json", redirect_uri=ATTACKER)))


def test_repeated_parameters_are_refused_without_redirect(served):
    info, _ = served
    client_id = native_client(info)
    url = authorize_url(info, client_id) + "&" + urlencode({"redirect_uri": ATTACKER})
    _no_redirect(httpx.get(url))
    _no_redirect(httpx.get(authorize_url(info, client_id, response_type="token") + "&state=two"))  # RFC 6749 §3.1


def test_an_https_uri_from_open_registration_gets_no_automatic_error_redirect(served):
    """RFC 9700 §4.11.2: anyone can register https://attacker.example; errors are shown, not redirected."""
    info, _ = served
    response = register(info, [ATTACKER])
    assert response.status_code == 201
    client_id = response.json()["client_id"]
    _no_redirect(httpx.get(authorize_url(info, client_id, redirect_uri=ATTACKER, response_type="token")))
    _no_redirect(httpx.get(authorize_url(info, client_id, redirect_uri=ATTACKER, code_challenge_method="plain")))
    # a well-formed request reaches the consent page (the user sees where it returns), not a redirect
    page = httpx.get(authorize_url(info, client_id, redirect_uri=ATTACKER))
    assert page.status_code == 200 and "attacker.example" in page.text


def test_a_loopback_client_still_gets_its_error_redirect(served):
    info, _ = served
    client_id = native_client(info)
    response = httpx.get(authorize_url(info, client_id, response_type="token"))
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert response.headers["location"].startswith(CALLBACK + "?") and query["error"] == ["unsupported_response_type"] and query["state"] == ["st"]


def test_auto_approve_gives_no_unattended_code_to_an_https_uri():
    with serve_app(auto_approve=True) as (info, _app):
        response = register(info, [ATTACKER])
        client_id = response.json()["client_id"]
        page = httpx.get(authorize_url(info, client_id, redirect_uri=ATTACKER))
        assert page.status_code == 200 and "location" not in page.headers  # the consent page, not a code to the attacker
        loopback = httpx.get(authorize_url(info, native_client(info)))
        assert loopback.status_code == 302 and "code=" in loopback.headers["location"]


def test_trust_rules():
    web = Client(client_id="c", redirect_uris=[ATTACKER])
    native = Client(client_id="n", redirect_uris=["com.example.app:/cb"], application_type="native")
    cimd = Client(client_id="https://app.example/client.json", redirect_uris=["https://app.example/cb"], metadata_document=True)
    assert not trusted_for_redirect(web, ATTACKER) and trusted_for_redirect(web, CALLBACK)
    assert trusted_for_redirect(native, "com.example.app:/cb") and not trusted_for_redirect(web, "com.example.app:/cb")
    assert not trusted_for_redirect(cimd, "https://app.example/cb")  # a document anyone can host vouches for nothing
