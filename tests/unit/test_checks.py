"""Every doctor check on passing and failing evidence (canned responses via respx)."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from world import AS, LOGIN_ONLY, ORIGIN, PRM_PATH, PRM_ROOT, SERVER, World, json_response

from authkit_mcp_cli.checks.catalogue import CATALOGUE
from authkit_mcp_cli.checks.model import Status

GUIDE_401 = 'Bearer error="unauthorized", error_description="Authorization needed", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource"'


def statuses(results):
    return {cid: r.status for cid, r in results.items()}


def test_a_correct_setup_passes_every_check():
    results = World().run()
    bad = {cid: (r.status, r.message) for cid, r in results.items() if r.status not in (Status.PASS, Status.INFO) and cid not in LOGIN_ONLY}
    assert bad == {}
    assert {results[cid].status for cid in LOGIN_ONLY} == {Status.SKIP}  # no --login
    assert results["server.compat-metadata"].status is Status.INFO
    assert "Every discovery strategy succeeds" in results["prm.locations"].message


def test_as_only_runs_only_authorization_server_checks():
    world = World()
    results = world.run(server=None, authkit_domain=AS)
    assert {cid.split(".")[0] for cid in results} == {"as", "authkit"}
    assert all(r.status is Status.PASS for cid, r in results.items() if cid != "as.dpop" and cid not in LOGIN_ONLY), {k: r.message for k, r in results.items()}
    assert not any(cid in results for cid in LOGIN_ONLY if cid.startswith("as."))  # doctor --active's as.* need a server
    assert results["as.dpop"].status is Status.INFO  # AuthKit does not advertise DPoP (optional)
    assert not any(req.url.host == "mcp.example.com" for req in world.requests)


def test_authorization_server_is_discovered_from_prm():
    results = World().run()
    assert results["as.discovery"].status is Status.PASS
    assert AS in results["authkit.domain"].message
    assert "FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_AUTHKIT_DOMAIN=https://test-env.authkit.app" in results["authkit.domain"].evidence["env_line"]
    assert results["authkit.domain"].evidence["resource_indicator"] == SERVER


# --- authorization server ---------------------------------------------------


def test_as_discovery_fails_when_no_metadata_url_answers():
    world = World()
    world.routes[("*", f"{AS}/.well-known/oauth-authorization-server")] = lambda r: httpx.Response(404)
    world.routes[("*", f"{AS}/.well-known/openid-configuration")] = lambda r: httpx.Response(200, text="<html>AuthKit</html>", headers={"content-type": "text/html"})
    results = World.run(world, server=None, authkit_domain=AS)
    r = results["as.discovery"]
    assert r.status is Status.FAIL
    assert "tried 2 URLs" in r.message
    assert any("404" in t for t in r.evidence["tried"]) and any("not JSON" in t for t in r.evidence["tried"])
    assert "curl https://test-env.authkit.app/.well-known/oauth-authorization-server" in r.fix
    assert results["as.pkce"].status is Status.SKIP


def test_as_discovery_tries_the_spec_order_for_an_issuer_with_a_path():
    world = World()
    issuer = AS + "/tenant"
    world.oidc_metadata = {**world.oidc_metadata, "issuer": issuer}
    world.routes[("GET", f"{AS}/tenant/.well-known/openid-configuration")] = lambda r: json_response(world.oidc_metadata)
    results = world.run(server=None, authkit_domain=issuer)
    tried = results["as.discovery"].evidence["tried"]
    assert [t.split(": ")[0] for t in tried] == [
        f"{AS}/.well-known/oauth-authorization-server/tenant",
        f"{AS}/.well-known/openid-configuration/tenant",
        f"{AS}/tenant/.well-known/openid-configuration",
    ]
    assert results["as.discovery"].status is Status.PASS
    assert results["as.issuer"].status is Status.PASS


def test_as_issuer_mismatch_by_trailing_slash_is_named():
    world = World()
    results = world.run(server=None, authkit_domain=AS + "/")
    assert results["as.issuer"].status is Status.FAIL
    assert "trailing slash" in results["as.issuer"].message
    # one cause, one finding: authkit.domain points at as.issuer and still gives the .env line
    assert results["authkit.domain"].status is Status.SKIP and "see as.issuer" in results["authkit.domain"].message
    assert results["authkit.domain"].evidence["env_line"].endswith("AUTHKIT_DOMAIN=https://test-env.authkit.app")


def test_a_configured_domain_with_a_slash_is_one_finding_and_the_server_is_not_told_to_change():
    results = World().run(authkit_domain=AS + "/")
    bad = {cid: r for cid, r in results.items() if r.status in (Status.FAIL, Status.WARN)}
    assert list(bad) == ["as.issuer"]
    assert results["prm.authorization-servers"].status is Status.PASS  # the server lists the right issuer
    fix = results["as.issuer"].fix
    assert f"Use exactly {AS!r} in --authkit-domain" in fix and "already lists it" in fix


def test_as_issuer_other_value_fails():
    world = World()
    world.oauth_metadata["issuer"] = "https://other.authkit.app"
    r = world.run()["as.issuer"]
    assert r.status is Status.FAIL and "'https://other.authkit.app'" in r.message


def test_required_fields():
    world = World()
    del world.oauth_metadata["token_endpoint"]
    world.oauth_metadata["response_types_supported"] = ["token"]
    r = world.run()["as.required-fields"]
    assert r.status is Status.FAIL
    assert "token_endpoint (missing)" in r.message and "without 'code'" in r.message


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, "is missing"), (["plain"], "without S256"), ("S256", "not a list of strings")],
)
def test_pkce_must_offer_s256(value, expected):
    world = World()
    if value is None:
        del world.oauth_metadata["code_challenge_methods_supported"]
    else:
        world.oauth_metadata["code_challenge_methods_supported"] = value
    r = world.run()["as.pkce"]
    assert r.status is Status.FAIL and expected in r.message


def test_https_required_for_endpoints():
    world = World()
    world.oauth_metadata["token_endpoint"] = "http://test-env.authkit.app/oauth2/token"
    r = world.run()["as.https"]
    assert r.status is Status.FAIL and "token_endpoint=http://" in r.message


def test_registration_paths():
    world = World()
    world.oauth_metadata.pop("client_id_metadata_document_supported")
    results = world.run()
    assert results["as.registration"].status is Status.PASS  # the MUST holds with DCR alone
    assert results["as.cimd"].status is Status.WARN and "deprecates" in results["as.cimd"].message  # the SHOULD does not
    world.oauth_metadata.pop("registration_endpoint")
    results = world.run()
    r = results["as.registration"]
    assert r.status is Status.FAIL and "Connect -> Configuration" in r.fix
    assert results["as.cimd"].status is Status.SKIP  # one cause, one finding


def test_grant_types_default_lacks_refresh_token():
    world = World()
    del world.oauth_metadata["grant_types_supported"]
    r = world.run()["as.grant-types"]
    assert r.status is Status.WARN and "default" in r.message and "refresh_token" in r.message
    assert r.evidence["default"] is True and r.evidence["grant_types_supported"] == ["authorization_code", "implicit"]
    assert r.evidence["offered"] == ["authorization_code"]
    assert r.evidence["login"] == {"authorization_code": "atoms-auth login --grant authorization-code"}


def run_as(world: World, check_id: str):
    return world.run(server=None, authkit_domain=AS)[check_id]


def test_grant_types_lists_every_grant_atoms_auth_speaks_with_its_login_command():
    world = World()
    world.oauth_metadata["grant_types_supported"] = [
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "urn:ietf:params:oauth:grant-type:token-exchange",
        "urn:ietf:params:oauth:grant-type:device_code",
        "implicit",
    ]
    world.oauth_metadata["token_endpoint_auth_methods_supported"] = ["none", "client_secret_basic", "private_key_jwt"]
    world.oauth_metadata["device_authorization_endpoint"] = f"{AS}/oauth2/device"
    r = run_as(world, "as.grant-types")
    assert r.status is Status.PASS
    assert r.evidence["offered"] == [
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "urn:ietf:params:oauth:grant-type:token-exchange",
        "urn:ietf:params:oauth:grant-type:device_code",
    ]
    assert r.evidence["others"] == ["implicit"] and r.evidence["device_flow"] is True
    login = r.evidence["login"]
    assert login["client_credentials"].startswith("atoms-auth login --grant client-credentials")
    assert login["urn:ietf:params:oauth:grant-type:jwt-bearer"].startswith("atoms-auth login --grant jwt-bearer --assertion")
    assert login["urn:ietf:params:oauth:grant-type:token-exchange"].startswith("atoms-auth login --grant enterprise")
    assert login["urn:ietf:params:oauth:grant-type:device_code"] == "atoms-auth login --grant device-code"
    assert "client credentials authenticate with client_secret_basic, private_key_jwt" in r.message
    assert "the device flow is usable" in r.message


def test_grant_types_not_offered_are_not_listed():
    r = run_as(World(), "as.grant-types")
    assert r.status is Status.PASS
    assert r.evidence["offered"] == ["authorization_code", "refresh_token"] and r.evidence["device_flow"] is False
    assert set(r.evidence["login"]) == {"authorization_code", "refresh_token"}
    assert "client_credentials" not in r.message and "no device flow" in r.message
    assert r.evidence["token_endpoint_auth_methods"] == ["none", "client_secret_post", "client_secret_basic"]


def test_grant_types_defaults_when_auth_methods_absent():
    world = World()
    world.oauth_metadata["grant_types_supported"] = ["authorization_code", "refresh_token", "client_credentials"]
    del world.oauth_metadata["token_endpoint_auth_methods_supported"]
    r = run_as(world, "as.grant-types")
    assert r.status is Status.PASS
    assert r.evidence["token_endpoint_auth_methods"] == ["client_secret_basic"]
    assert "client auth methods (absent: RFC 8414's default): client_secret_basic" in r.message
    assert "client credentials authenticate with client_secret_basic;" in r.message


@pytest.mark.parametrize(
    ("endpoint", "listed", "named"),
    [
        (True, False, "device_authorization_endpoint is published but grant_types_supported lacks"),
        (False, True, "there is no device_authorization_endpoint"),
    ],
)
def test_grant_types_names_an_inconsistent_device_flow(endpoint, listed, named):
    world = World()
    if endpoint:
        world.oauth_metadata["device_authorization_endpoint"] = f"{AS}/oauth2/device"
    if listed:
        world.oauth_metadata["grant_types_supported"] = ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"]
    r = run_as(world, "as.grant-types")
    assert r.status is Status.WARN and named in r.message and "RFC 8628" in r.fix
    assert r.evidence["device_flow"] is False
    assert "urn:ietf:params:oauth:grant-type:device_code" not in r.evidence["login"]


def test_grant_types_malformed():
    world = World()
    world.oauth_metadata["grant_types_supported"] = "authorization_code"
    assert run_as(world, "as.grant-types").status is Status.WARN


@pytest.mark.parametrize(
    ("algs", "status", "said"),
    [
        (None, Status.INFO, "absent"),
        (["ES256", "PS256"], Status.PASS, "including ES256"),
        (["RS256", "EdDSA"], Status.WARN, "atoms-auth --dpop needs ES256"),
        ([], Status.WARN, "not a non-empty list"),
        ("ES256", Status.WARN, "not a non-empty list"),
        (["ES256", 7], Status.WARN, "not a non-empty list"),
        (["ES256", "HS256"], Status.WARN, "asymmetric"),
        (["ES256", "none"], Status.WARN, "asymmetric"),
        (["ES256", "XX1"], Status.PASS, "not registered asymmetric JWS algorithms: XX1"),
    ],
)
def test_dpop(algs, status, said):
    world = World()
    if algs is not None:
        world.oauth_metadata["dpop_signing_alg_values_supported"] = algs
    r = run_as(world, "as.dpop")
    assert r.status is status and said in r.message, r.message
    assert (r.fix is None) == (status is not Status.WARN)


def test_token_auth_methods_need_none():
    world = World()
    world.oauth_metadata["token_endpoint_auth_methods_supported"] = ["client_secret_basic"]
    assert world.run()["as.token-auth-methods"].status is Status.WARN


def test_iss_parameter():
    world = World()
    del world.oauth_metadata["authorization_response_iss_parameter_supported"]
    assert world.run()["as.iss-parameter"].status is Status.WARN


def test_jwks_with_private_key_material_is_critical():
    world = World()
    world.jwks = {"keys": [{**world.jwks["keys"][0], "d": "secret"}]}
    r = world.run()["as.jwks"]
    assert r.status is Status.FAIL and "CRITICAL" in r.message


def test_jwks_duplicate_kids_and_unusable_keys():
    world = World()
    key = world.jwks["keys"][0]
    world.jwks = {"keys": [key, dict(key)]}
    assert "Duplicate kid" in world.run()["as.jwks"].message
    world.jwks = {"keys": [{"kty": "RSA", "kid": "x", "n": "!!", "e": "AQAB"}]}
    r = world.run()["as.jwks"]
    assert r.status is Status.FAIL and "No key" in r.message


def test_jwks_unreachable_or_not_json():
    world = World()
    world.routes[("GET", f"{AS}/oauth2/jwks")] = lambda r: httpx.Response(500)
    assert "-> 500" in world.run()["as.jwks"].message
    world.routes[("GET", f"{AS}/oauth2/jwks")] = lambda r: httpx.Response(200, text="<html/>")
    assert "not JSON" in world.run()["as.jwks"].message


def test_oidc_document_that_omits_pkce_and_registration_is_reported():
    """AuthKit's OIDC document has been reported to omit these fields."""
    world = World()
    for name in ("registration_endpoint", "code_challenge_methods_supported", "client_id_metadata_document_supported"):
        del world.oidc_metadata[name]
    results = world.run()
    r = results["as.oidc-consistency"]
    assert r.status is Status.WARN
    assert "omits registration_endpoint, code_challenge_methods_supported, client_id_metadata_document_supported" in r.message
    assert "sees no PKCE support" in r.message
    assert results["as.pkce"].status is Status.PASS  # spec clients read RFC 8414 first


def test_as_cors():
    world = World()
    world.routes[("*", f"{AS}/.well-known/oauth-authorization-server")] = lambda r: httpx.Response(200, json=world.oauth_metadata)
    r = world.run()["as.cors"]
    assert r.status is Status.WARN and "Access-Control-Allow-Origin" in r.message


# --- MCP server --------------------------------------------------------------


def test_unreachable_server_is_named_and_dependants_skip():
    world = World()

    def refuse(request):
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    world.routes[("*", SERVER)] = refuse
    results = world.run()
    assert results["server.reachable"].status is Status.FAIL
    assert "refused" in results["server.reachable"].message
    assert results["challenge.status"].status is Status.SKIP
    assert results["server.rejects-forged-tokens"].status is Status.SKIP


def test_dns_failure_is_named():
    world = World()

    def no_such_host(request):
        raise httpx.ConnectError("[Errno -2] Name or service not known", request=request)

    world.routes[("*", SERVER)] = no_such_host
    assert "DNS lookup for mcp.example.com failed" in world.run()["server.reachable"].message


def test_plain_http_server_fails_https():
    world = World()
    r = world.run(server="http://mcp.example.com/api/mcp")["server.https"]
    assert r.status is Status.FAIL


@pytest.mark.parametrize(
    ("status", "expected"),
    [(200, "not enforced"), (403, "clients only start OAuth on 401"), (404, "nothing is served at /api/mcp"), (500, "the server failed")],
)
def test_challenge_status(status, expected):
    world = World(challenge_status=status)
    r = world.run()["challenge.status"]
    assert r.status is Status.FAIL and expected in r.message


def test_challenge_without_header_fails():
    world = World(challenge_header=None)
    results = world.run()
    assert results["challenge.header"].status is Status.FAIL
    assert "no WWW-Authenticate" in results["challenge.header"].message
    # clients of 2025-11-25 still find PRM at the well-known URLs
    assert results["prm.discovery"].status is Status.PASS


@pytest.mark.parametrize(
    ("header", "expected"),
    [('Bearer realm="unterminated', "unterminated quoted string"), ('Basic realm="x"', "No Bearer challenge"), ('Bearer scope="a", scope="b"', "repeats scope")],
)
def test_challenge_header_problems(header, expected):
    r = World(challenge_header=header).run()["challenge.header"]
    assert r.status is Status.FAIL and expected in r.message


def test_challenge_resource_metadata_missing_or_broken():
    world = World(challenge_header='Bearer scope="openid"')
    r = world.run()["challenge.resource-metadata"]
    assert r.status is Status.WARN and "2025-06-18 clients cannot find" in r.message and "which serve it" in r.message
    world = World(challenge_header=f'Bearer resource_metadata="{ORIGIN}/nope"')
    r = world.run()["challenge.resource-metadata"]
    assert r.status is Status.WARN and "answered 404" in r.message


def test_challenge_scope():
    assert World(challenge_header=f'Bearer resource_metadata="{PRM_PATH}"').run()["challenge.scope"].status is Status.WARN
    r = World(challenge_header=f'Bearer resource_metadata="{PRM_PATH}", scope="openid offline_access"').run()["challenge.scope"]
    assert r.status is Status.WARN and "offline_access" in r.message


def test_doctor_reads_the_challenge_by_the_clients_rule():
    """One rule (challenge.py): the hints a DPoP challenge carries count, as discovery reads them."""
    header = f'DPoP algs="ES256", scope="mcp:tools", Bearer resource_metadata="{PRM_PATH}"'
    results = World(challenge_header=header).run()
    assert results["challenge.header"].status is Status.PASS
    assert results["challenge.scope"].status is Status.PASS and "mcp:tools" in results["challenge.scope"].message
    assert results["challenge.resource-metadata"].status is Status.PASS
    only_dpop = World(challenge_header=f'DPoP algs="ES256", resource_metadata="{PRM_PATH}"').run()
    assert only_dpop["challenge.header"].status is not Status.PASS and "No Bearer challenge" in only_dpop["challenge.header"].message  # MCP requires Bearer
    assert only_dpop["challenge.resource-metadata"].status is Status.PASS  # what a client can still follow
    none = World(challenge_header='Basic realm="x"').run()
    assert none["challenge.scope"].status is Status.SKIP and "No Bearer or DPoP challenge" in none["challenge.scope"].message


def test_the_integration_guides_own_challenge():
    world = World(challenge_header=GUIDE_401)
    world.routes[("GET", PRM_PATH)] = lambda r: httpx.Response(404)
    results = world.run()
    r = results["challenge.error-code"]
    assert r.status is Status.WARN
    assert "'unauthorized' is not an RFC 6750 error code (the integration guide's own example sends it)" in r.message
    assert results["challenge.scope"].status is Status.WARN
    assert results["challenge.resource-metadata"].status is Status.PASS
    assert results["prm.discovery"].message.startswith("Found through the WWW-Authenticate resource_metadata URL")
    assert "Every discovery strategy succeeds" in results["prm.locations"].message  # header and root both lead to it


def test_error_code_without_credentials():
    header = f'Bearer error="invalid_token", resource_metadata="{PRM_PATH}", scope="openid"'
    r = World(challenge_header=header).run()["challenge.error-code"]
    assert r.status is Status.WARN and "no credentials" in r.message


def test_challenge_cors():
    world = World()
    world.routes[("OPTIONS", SERVER)] = lambda r: httpx.Response(204, headers={"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Headers": "*"})
    r = world.run()["challenge.cors"]
    assert r.status is Status.WARN and "does not allow authorization" in r.message
    world.routes[("OPTIONS", SERVER)] = lambda r: httpx.Response(401)
    world.routes[("POST", SERVER)] = lambda r: httpx.Response(401, headers={"WWW-Authenticate": GOOD_CHALLENGE_FOR_CORS})
    r = world.run()["challenge.cors"]
    assert "preflight (OPTIONS) got 401" in r.message and "Access-Control-Expose-Headers" in r.message


GOOD_CHALLENGE_FOR_CORS = f'Bearer resource_metadata="{PRM_PATH}", scope="openid"'


def test_prm_not_found_anywhere():
    world = World(challenge_header='Bearer scope="openid"')
    for url in (PRM_PATH, PRM_ROOT):
        world.routes[("GET", url)] = lambda r: httpx.Response(404)
    results = world.run()
    assert results["prm.discovery"].status is Status.FAIL
    assert len(results["prm.discovery"].evidence["tried"]) == 2
    assert results["as.discovery"].status is Status.SKIP
    assert "protected-resource metadata was not found" in results["as.discovery"].message


def test_prm_only_at_root_without_header():
    world = World(challenge_header='Bearer scope="openid"')
    world.routes[("GET", PRM_PATH)] = lambda r: httpx.Response(404)
    r = world.run()["prm.locations"]
    assert r.status is Status.INFO
    assert "header-only (2025-06-18 clients)" in r.message
    assert "root only" not in r.message


def test_prm_resource_with_trailing_slash_fails():
    world = World()
    world.prm["resource"] = SERVER + "/"
    r = world.run()["prm.resource"]
    assert r.status is Status.FAIL and "trailing slash" in r.message


def test_prm_resource_origin_is_exact_enough_only_at_the_root():
    world = World(challenge_header=f'Bearer resource_metadata="{PRM_ROOT}", scope="openid"')
    world.routes[("GET", PRM_PATH)] = lambda r: httpx.Response(404)
    world.prm["resource"] = ORIGIN
    results = world.run()
    assert results["prm.resource"].status is Status.PASS and results["prm.resource"].evidence["broader_audience"] == [ORIGIN]
    assert results["prm.resource-exact"].status is Status.PASS
    # at the path-inserted URL, clients accept the origin too (as the official SDKs do), but RFC 9728 §3.3 wants
    # the exact value there: prm.resource passes naming the broader audience, prm.resource-exact warns
    world = World()
    world.routes[("GET", PRM_ROOT)] = lambda r: httpx.Response(404)
    world.prm["resource"] = ORIGIN
    results = world.run()
    assert results["prm.resource"].status is Status.PASS and results["prm.resource"].evidence["broader_audience"] == [ORIGIN]
    exact = results["prm.resource-exact"]
    assert exact.status is Status.WARN and "RFC 9728 §3.3" in exact.message and exact.evidence["broader_audience"] == [ORIGIN]
    # another path is no prefix: a failure for clients
    world = World()
    world.prm["resource"] = ORIGIN + "/other"
    assert "names another path" in world.run()["prm.resource"].message


def test_prm_authorization_servers():
    world = World()
    world.prm["authorization_servers"] = []
    assert world.run()["prm.authorization-servers"].status is Status.FAIL
    world.prm["authorization_servers"] = ["http://test-env.authkit.app"]
    assert "is not https" in world.run()["prm.authorization-servers"].message
    world = World()
    r = world.run(authkit_domain="https://other-env.authkit.app")["prm.authorization-servers"]
    assert r.status is Status.FAIL and "'https://other-env.authkit.app' (from --authkit-domain) is not among them" in r.message


def test_prm_scopes():
    world = World()
    world.prm["scopes_supported"] = ["openid", "offline_access"]
    assert world.run()["prm.scopes"].status is Status.WARN
    del world.prm["scopes_supported"]
    assert world.run()["prm.scopes"].status is Status.WARN


def test_compat_endpoint_built_from_the_oidc_document_contradicts_the_as():
    """The guide's compatibility handler rebuilds RFC 8414 metadata from the OIDC document."""
    world = World()
    oidc_derived = {k: v for k, v in world.oauth_metadata.items() if k not in ("code_challenge_methods_supported", "registration_endpoint")}
    world.routes[("GET", ORIGIN + "/.well-known/oauth-authorization-server")] = lambda r: json_response(oidc_derived)
    world.routes[("GET", ORIGIN + "/.well-known/openid-configuration")] = lambda r: json_response(world.oidc_metadata)
    r = world.run()["server.compat-metadata"]
    assert r.status is Status.WARN
    assert "omits registration_endpoint, code_challenge_methods_supported" in r.message
    assert "identical to the AS's" in " ".join(r.evidence["notes"])


def test_server_accepting_any_token_is_critical():
    r = World(token_status=200).run()
    assert r["server.rejects-invalid-token"].status is Status.FAIL
    assert "CRITICAL" in r["server.rejects-invalid-token"].message
    assert "CRITICAL" in r["server.rejects-forged-tokens"].message
    assert "Authorization: Basic … -> 200" in r["server.rejects-invalid-token"].message
    # said once, by the MUST check; the SHOULD check points there
    assert r["server.malformed-authorization"].status is Status.SKIP and "see server.rejects-invalid-token" in r["server.malformed-authorization"].message


def _jwt_alg(request):
    token = request.headers.get("authorization", "").partition(" ")[2]
    try:
        return json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))["alg"]
    except Exception:
        return None


def test_server_accepting_alg_none_is_critical():
    world = World()
    default = world.mcp
    world.routes[("POST", SERVER)] = lambda r: httpx.Response(200, json={}) if _jwt_alg(r) == "none" else default(r)
    r = world.run()["server.rejects-forged-tokens"]
    assert r.status is Status.FAIL
    assert "an unsigned token (alg none) -> 200" in r.message
    assert r.evidence["results"]["foreign-key"] == "401"


def test_forged_tokens_carry_the_real_issuer_audience_and_kid():
    world = World()
    world.run()
    forged = [r for r in world.requests if r.method == "POST" and _jwt_alg(r) == "RS256"]
    assert forged
    token = forged[0].headers["authorization"].split(" ", 1)[1]
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert header["kid"] == "authkit-key-1"
    assert claims["iss"] == AS and claims["aud"] == SERVER
    assert any(_jwt_alg(r) == "HS256" for r in world.requests)


def test_invalid_token_without_error_code():
    world = World()
    world.routes[("POST", SERVER)] = lambda r: httpx.Response(401, headers={"WWW-Authenticate": GOOD_CHALLENGE_FOR_CORS})
    results = world.run()
    assert results["server.rejects-invalid-token"].status is Status.PASS  # it is refused with 401: the MUST holds
    r = results["server.invalid-token-error-code"]
    assert r.status is Status.WARN and 'without error="invalid_token"' in r.message  # RFC 6750 §3.1 is a SHOULD


def test_malformed_authorization_5xx():
    world = World()
    default = world.mcp
    world.routes[("POST", SERVER)] = lambda r: httpx.Response(500) if r.headers.get("authorization", "").startswith("Basic") else default(r)
    r = world.run()["server.malformed-authorization"]
    assert r.status is Status.WARN and "Authorization: Basic … -> 500" in r.message


def test_a_crashing_check_becomes_an_error_result():
    from authkit_mcp_cli.checks.catalogue import CATALOGUE
    from authkit_mcp_cli.checks.model import Check

    original = next(c for c in CATALOGUE if c.id == "prm.scopes")

    def boom(ev):
        raise KeyError("surprise")

    crashing = Check(original.id, original.title, original.level, original.spec, boom)
    results = World().run(checks=[crashing, next(c for c in CATALOGUE if c.id == "prm.discovery")])
    assert results["prm.scopes"].status is Status.ERROR
    assert "KeyError" in results["prm.scopes"].message and results["prm.scopes"].fix
    assert results["prm.discovery"].status is Status.PASS


def _worlds():
    """Worlds that break one thing each, including those that used to give MUST+warn or SHOULD+fail."""
    def w(**kw):
        return World(**kw)

    out = {"good": w(), "accepts-any-token": w(token_status=200), "no-challenge-header": w(challenge_header=None), "status-200": w(challenge_status=200)}
    world = w()
    world.oauth_metadata.pop("client_id_metadata_document_supported")
    out["dcr-only"] = world
    world = w()
    world.oauth_metadata.pop("jwks_uri")
    world.oidc_metadata.pop("jwks_uri")
    out["no-jwks-uri"] = world
    world = w()
    world.jwks = {"keys": [{**k, "kid": None} for k in (world.jwks["keys"][0], world.jwks["keys"][0])]}
    out["keys-without-kid"] = world
    world = w()
    world.routes[("POST", SERVER)] = lambda r: httpx.Response(401, headers={"WWW-Authenticate": 'Bearer resource_metadata="x"'}) if r.headers.get("authorization") else world.mcp(r)
    out["401-without-invalid-token"] = world
    world = w()
    default = world.mcp
    world.routes[("POST", SERVER)] = lambda r: httpx.Response(200) if r.headers.get("authorization", "").startswith("Basic") else default(r)
    out["basic-accepted"] = world
    world = w()
    world.routes[("GET", f"{AS}/.well-known/oauth-authorization-server")] = lambda r: httpx.Response(302, headers={"Location": f"{AS}/.well-known/openid-configuration"})
    out["metadata-redirect"] = world
    world = w()
    world.jwks = {"keys": [{**world.jwks["keys"][0], "d": "secret"}]}
    out["private-jwks"] = world
    return out


@pytest.mark.parametrize("name", list(_worlds()))
def test_levels_match_statuses_in_every_world(name):
    """World.run asserts it for every result: MUST problems fail, SHOULD problems warn."""
    results = _worlds()[name].run()
    assert results


def test_a_missing_jwks_uri_is_a_should():
    world = World()
    world.oauth_metadata.pop("jwks_uri")
    world.oidc_metadata.pop("jwks_uri")
    results = world.run()
    assert results["as.jwks"].status is Status.SKIP and "as.jwks-uri" in results["as.jwks"].message
    r = results["as.jwks-uri"]
    assert r.status is Status.WARN and r.check.level.value == "SHOULD" and "unknown (doctor --login tells)" in r.message


@pytest.mark.parametrize(("typed", "difference"), [(SERVER + "/", "a trailing slash"), ("https://MCP.example.com:443/api/mcp", "the default port :443 written out and letter case")])
def test_a_typed_url_that_differs_only_in_form_is_said_once(typed, difference):
    """One cause, one finding: server.url names the difference and the rest is checked at the canonical URL."""
    results = World().run(server=typed)
    bad = {cid: (r.status, r.message) for cid, r in results.items() if r.status not in (Status.PASS, Status.INFO) and cid not in LOGIN_ONLY}
    assert list(bad) == ["server.url"]
    r = results["server.url"]
    assert r.status is Status.WARN and f"differ only by {difference}" in r.message and r.evidence["canonical"] == SERVER
    assert f"Configure clients with {SERVER} exactly" in r.fix


def test_a_server_whose_resource_has_the_slash_is_told_so_and_not_followed():
    world = World()
    world.prm["resource"] = SERVER + "/"
    results = world.run()
    assert results["server.url"].status is Status.SKIP
    r = results["prm.resource"]
    assert r.status is Status.FAIL and "trailing slash" in r.message and f"Set resource to exactly {SERVER!r}" in r.fix


# --- issue 22 §2: read-only doctor sees more ---------------------------------------------------


def test_prm_cors_passes_when_the_metadata_answers_an_origin_and_fails_without_the_header():
    world = World()
    r = world.run(checks=[c for c in CATALOGUE if c.id == "prm.cors"])["prm.cors"]
    assert r.status is Status.PASS and "Access-Control-Allow-Origin: *" in r.message
    sent = [req for req in world.requests if req.headers.get("origin")]
    assert [(req.method, str(req.url)) for req in sent] == [("GET", PRM_PATH)]  # one GET with an Origin, nothing else
    world = World()
    world.routes[("GET", PRM_PATH)] = lambda request: httpx.Response(200, json=world.prm)  # no CORS header
    r = world.run()["prm.cors"]
    assert r.status is Status.WARN and "no Access-Control-Allow-Origin" in r.message and PRM_PATH in r.message
    assert "Access-Control-Allow-Origin: *" in r.fix


@pytest.mark.parametrize(("listed", "named"), [(["password"], "password"), (["implicit"], "implicit"), (["implicit", "password"], "implicit and password")])
def test_removed_grants_fail_when_advertised(listed, named):
    world = World()
    world.oauth_metadata["grant_types_supported"] = ["authorization_code", "refresh_token", *listed]
    world.oauth_metadata["response_types_supported"] = ["code", "token"]
    results = world.run(server=None, authkit_domain=AS)
    r = results["as.removed-grants"]
    assert r.status is Status.FAIL and f"advertises {named}, which OAuth 2.1 removed" in r.message, r.message
    assert r.evidence["removed"] == named.split(" and ")
    grants = results["as.grant-types"]
    assert grants.status is Status.PASS and "see as.removed-grants" in grants.message  # named, one finding


def test_removed_grants_pass_for_the_default_and_for_implicit_that_yields_only_id_tokens():
    world = World()
    del world.oauth_metadata["grant_types_supported"]
    assert run_as(world, "as.removed-grants").status is Status.PASS  # RFC 8414's default is not an advertisement
    world = World()
    world.oauth_metadata["grant_types_supported"] = ["authorization_code", "implicit", "refresh_token"]
    world.oauth_metadata["response_types_supported"] = ["code id_token", "code", "id_token", "none"]  # oidc-provider's defaults
    r = run_as(world, "as.removed-grants")
    assert r.status is Status.PASS and "only OpenID Connect ID tokens" in r.message, r.message
