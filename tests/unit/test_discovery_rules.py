"""The MCP discovery rules as pure functions on canned exchanges (RFC 9728,
RFC 8414, MCP Authorization), and the client's walk through them, which stops
at the first usable answer and raises coded errors."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from world import ORIGIN, World, target

from authkit_mcp_cli.challenge import Challenges
from authkit_mcp_cli.checks.catalogue import CATALOGUE
from authkit_mcp_cli.checks.gather import gather
from authkit_mcp_cli.checks.model import Status
from authkit_mcp_cli.discovery import (
    as_metadata_candidates,
    authorization_servers,
    choose_issuer,
    describe_attempt,
    discover,
    first_usable,
    issuer_difference,
    issuer_matches,
    network_error,
    prm_candidates,
    prm_resource,
    usable_document,
)
from authkit_mcp_cli.errors import NetworkError, ProtocolError
from authkit_mcp_cli.http import Exchange, HttpPolicy
from authkit_mcp_cli.legacy_discovery import find_legacy_as, origin_is_issuer

SERVER = "https://mcp.example.com/api/mcp"
PRM_PATH = "https://mcp.example.com/.well-known/oauth-protected-resource/api/mcp"
PRM_ROOT = "https://mcp.example.com/.well-known/oauth-protected-resource"
AS = "https://test-env.authkit.app"


def answer(status: int | None = 200, doc: Any = None, *, body: bytes | None = None, error: str | None = None, kind: str | None = None, url: str = "https://x") -> Exchange:
    content = body if body is not None else (json.dumps(doc).encode() if doc is not None else b"")
    return Exchange(method="GET", url=url, status=status, headers=httpx.Headers({"content-type": "application/json"}), body=content, error=error, error_kind=kind)


# --- RFC 9728: where PRM lives, and whether it is for this server ---------------------


def test_prm_candidates_are_header_then_path_inserted_then_root():
    assert prm_candidates(SERVER, "https://mcp.example.com/custom.json") == [("header", "https://mcp.example.com/custom.json"), ("path", PRM_PATH), ("root", PRM_ROOT)]
    assert prm_candidates(SERVER, None) == [("path", PRM_PATH), ("root", PRM_ROOT)]
    # a server at the origin has one well-known URL, listed under both names
    assert prm_candidates("https://mcp.example.com", None) == [("path", PRM_ROOT), ("root", PRM_ROOT)]


@pytest.mark.parametrize(
    ("exchange", "usable", "why"),
    [
        (answer(200, {"resource": SERVER}), True, None),
        (answer(404, {"error": "nope"}), False, "HTTP 404"),
        (answer(200, body=b"<html>"), False, "not JSON"),
        (answer(200, ["resource"]), False, "not an object"),
        (answer(None, error="connection refused", kind="refused"), False, "connection refused"),
        (answer(200, {"a": 1}, error="response body larger than 1024 KiB", kind="too_large"), False, "larger than"),
    ],
)
def test_usable_document_is_a_200_json_object(exchange, usable, why):
    doc, err = usable_document(exchange)
    assert (doc is not None) is usable
    assert (why is None and err is None) or (why is not None and err is not None and why in err)


def test_first_usable_keeps_the_given_order():
    attempts = [("header", answer(404)), ("path", answer(200, {"n": 1})), ("root", answer(200, {"n": 2}))]
    assert first_usable(attempts) == ("path", {"n": 1})
    assert first_usable([("path", answer(500))]) is None


def test_describe_attempt():
    assert describe_attempt("u", answer(200, {})) == "u: 200, usable"
    assert describe_attempt("u", answer(404)) == "u: 404"
    assert describe_attempt("u", answer(None, error="refused")) == "u: no answer (refused)"
    assert describe_attempt("u", answer(200, body=b"<html>")).startswith("u: 200 (the body is not JSON")


@pytest.mark.parametrize(
    ("resource", "prm_url", "ok", "why"),
    [
        (SERVER, PRM_PATH, True, None),
        (SERVER, PRM_ROOT, True, None),
        ("https://mcp.example.com", PRM_ROOT, True, None),  # origin accepted at the root (MCP Canonical Server URI)
        ("https://mcp.example.com/api", PRM_ROOT, True, None),  # path prefix too
        # RFC 9728 §3.3 wants the exact value at the path-inserted and challenge-named URLs; clients accept
        # a prefix there too, as the official SDKs do (doctor's prm.resource-exact warns; issue #14 §12)
        ("https://mcp.example.com", PRM_PATH, True, None),
        ("https://mcp.example.com", "https://mcp.example.com/custom.json", True, None),
        ("https://mcp.example.com/other", PRM_PATH, False, "names another path"),
        (SERVER + "/", PRM_PATH, False, "trailing slash"),
        ("https://mcp.example.com/API/mcp", PRM_PATH, False, "letter case"),
        ("https://other.example.com/api/mcp", PRM_ROOT, False, "another origin"),
    ],
)
def test_prm_resource_rules(resource, prm_url, ok, why):
    found, problem = prm_resource({"resource": resource}, SERVER, prm_url)
    assert found == resource
    assert (problem is None) is ok
    if why:
        assert why in problem


def test_prm_resource_must_be_a_string():
    assert prm_resource({"resource": 7}, SERVER, PRM_PATH) == (None, "resource is not a string (7)")


def test_authorization_servers_and_the_choice_among_them():
    assert authorization_servers({"authorization_servers": [AS, 3, "https://b"]}) == [AS, "https://b"]
    assert authorization_servers({"authorization_servers": AS}) == []
    assert authorization_servers(None) == []
    assert choose_issuer([AS, "https://b"], "https://b") == "https://b"
    assert choose_issuer([AS, "https://b"], "https://elsewhere") == AS
    assert choose_issuer([], None) is None


# --- RFC 8414: where AS metadata lives, and whether it is for the issuer asked ---------------


def test_as_metadata_order_for_an_issuer_with_and_without_a_path():
    assert as_metadata_candidates(AS) == [("oauth", f"{AS}/.well-known/oauth-authorization-server"), ("oidc", f"{AS}/.well-known/openid-configuration")]
    assert [u for _k, u in as_metadata_candidates(AS + "/tenant")] == [
        f"{AS}/.well-known/oauth-authorization-server/tenant",
        f"{AS}/.well-known/openid-configuration/tenant",
        f"{AS}/tenant/.well-known/openid-configuration",
    ]


def test_issuer_is_compared_exactly():
    assert issuer_matches({"issuer": AS}, AS)
    assert not issuer_matches({"issuer": AS + "/"}, AS)
    assert not issuer_matches({}, AS)
    assert "trailing slash" in issuer_difference(AS + "/", AS)
    assert "letter case" in issuer_difference(AS.upper(), AS)
    assert issuer_difference(None, AS) == ""


@pytest.mark.parametrize(("issuer", "own"), [(ORIGIN, True), (ORIGIN + "/", True), (ORIGIN + "//", False), (ORIGIN + "/api", False), (None, False)])
def test_the_origin_is_its_own_as_by_one_rule_for_client_and_doctor(issuer, own):
    """MCP 2025-03-26 §2.3: without PRM, the origin is the AS when its metadata names it (the one slash the
    origin URL carries allowed); the client's fallback, doctor's AS discovery and prm.discovery agree."""
    doc = {} if issuer is None else {"issuer": issuer}
    assert origin_is_issuer(doc, ORIGIN) is own
    assert not origin_is_issuer(None, ORIGIN)
    world = World(challenge_header="Bearer")
    world.routes[("GET", PRM_PATH)] = world.routes[("GET", PRM_ROOT)] = lambda r: httpx.Response(404)
    legacy = {**world.oauth_metadata, "issuer": issuer} if issuer is not None else {k: v for k, v in world.oauth_metadata.items() if k != "issuer"}
    world.routes[("GET", ORIGIN + "/.well-known/oauth-authorization-server")] = lambda r: httpx.Response(200, json=legacy)
    results = world.run(checks=[c for c in CATALOGUE if c.id in ("prm.discovery", "as.pkce")])
    assert ("generation" in results["prm.discovery"].evidence) is own
    assert (results["as.pkce"].status is Status.PASS) is own, results["as.pkce"].message

    async def client_fallback():
        async with httpx.AsyncClient(transport=httpx.MockTransport(world.handle)) as client:
            return await find_legacy_as(client, SERVER, HttpPolicy(timeout=5), "all 404")

    if own:
        assert asyncio.run(client_fallback()).issuer == issuer
    else:
        with pytest.raises(ProtocolError):
            asyncio.run(client_fallback())


@pytest.mark.parametrize(("kind", "code"), [("dns", "network.dns"), ("refused", "network.refused"), ("too_large", "network.too-large"), (None, "network.connect")])
def test_network_errors_are_coded_by_kind(kind, code):
    err = network_error(answer(None, error="boom", kind=kind, url="https://x/y"), "It failed")
    assert isinstance(err, NetworkError) and err.code == code and err.url == "https://x/y" and err.hint


# --- the client: stops at the first usable answer --------------------------------------


def prm_doc(resource: str = SERVER, servers: list[str] | None = None) -> dict[str, Any]:
    return {"resource": resource, "authorization_servers": [AS] if servers is None else servers}


def as_doc(issuer: str = AS) -> dict[str, Any]:
    return {"issuer": issuer, "authorization_endpoint": f"{AS}/oauth2/authorize", "token_endpoint": f"{AS}/oauth2/token", "code_challenge_methods_supported": ["S256"]}


def run_discover(routes: dict[str, httpx.Response], **kwargs: Any) -> tuple[Any, list[str]]:
    """discover() over a MockTransport: routes by "METHOD url"; everything else 404."""
    sent: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        key = f"{request.method} {request.url}"
        sent.append(key)
        return routes.get(key, httpx.Response(404))

    async def go() -> Any:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as client:
            return await discover(client, SERVER, HttpPolicy(timeout=5), **kwargs)

    try:
        return asyncio.run(go()), sent
    except Exception as exc:  # returned so tests can look at both the error and what was sent
        return exc, sent


CHALLENGE = httpx.Response(401, headers={"WWW-Authenticate": f'Bearer resource_metadata="{PRM_ROOT}", scope="read"'})


def test_client_stops_at_the_first_usable_prm_and_as_metadata():
    found, sent = run_discover({f"POST {SERVER}": CHALLENGE, f"GET {PRM_ROOT}": httpx.Response(200, json=prm_doc()), f"GET {AS}/.well-known/oauth-authorization-server": httpx.Response(200, json=as_doc())})
    assert found.prm_url == PRM_ROOT and found.resource == SERVER and found.challenge_scope == "read"
    assert found.metadata_url == f"{AS}/.well-known/oauth-authorization-server"
    # the challenge's URL first; neither the path-inserted URL nor the OIDC document is asked for
    assert sent == [f"POST {SERVER}", f"GET {PRM_ROOT}", f"GET {AS}/.well-known/oauth-authorization-server"]


def test_discovery_reads_the_challenge_by_the_one_rule():
    """A DPoP challenge's hints count (the client's rule; discovery used to read Bearer only)."""
    routes = {f"GET {PRM_ROOT}": httpx.Response(200, json=prm_doc()), f"GET {AS}/.well-known/oauth-authorization-server": httpx.Response(200, json=as_doc())}
    both = httpx.Response(401, headers=[("WWW-Authenticate", 'DPoP error="invalid_token", scope="from-dpop"'), ("WWW-Authenticate", f'Bearer resource_metadata="{PRM_ROOT}", scope="read"')])
    found, sent = run_discover({f"POST {SERVER}": both, **routes})
    assert found.challenge_scope == "from-dpop" and sent[1] == f"GET {PRM_ROOT}"  # the scope of the challenge with the error; the PRM URL from the other
    only_dpop = httpx.Response(401, headers={"WWW-Authenticate": f'DPoP algs="ES256", resource_metadata="{PRM_ROOT}"'})
    found, sent = run_discover({f"POST {SERVER}": only_dpop, **routes})
    assert found.prm_url == PRM_ROOT and sent[:2] == [f"POST {SERVER}", f"GET {PRM_ROOT}"]


def test_client_falls_back_in_spec_order():
    found, sent = run_discover(
        {f"GET {PRM_ROOT}": httpx.Response(200, json=prm_doc("https://mcp.example.com")), f"GET {AS}/.well-known/openid-configuration": httpx.Response(200, json=as_doc())},
        challenge=Challenges(401),
    )
    assert found.resource == "https://mcp.example.com"  # the origin, accepted at the root, is what the client sends
    assert sent == [f"GET {PRM_PATH}", f"GET {PRM_ROOT}", f"GET {AS}/.well-known/oauth-authorization-server", f"GET {AS}/.well-known/openid-configuration"]


@pytest.mark.parametrize(
    ("routes", "code", "url"),
    [
        # a PRM URL that fails is not "no PRM": only all-404 falls back to 2025-03-26 (test_registration_choice.py)
        ({f"GET {PRM_PATH}": httpx.Response(500)}, "prm.not-found", SERVER),
        ({f"GET {PRM_PATH}": httpx.Response(200, json=prm_doc("https://mcp.example.com/other"))}, "prm.resource-mismatch", PRM_PATH),
        ({f"GET {PRM_PATH}": httpx.Response(200, json=prm_doc(servers=[]))}, "prm.no-authorization-servers", PRM_PATH),
        ({f"GET {PRM_PATH}": httpx.Response(200, json=prm_doc())}, "as.metadata-not-found", AS),
        (
            {f"GET {PRM_PATH}": httpx.Response(200, json=prm_doc()), f"GET {AS}/.well-known/oauth-authorization-server": httpx.Response(200, json=as_doc(AS + "/"))},
            "as.issuer-mismatch",
            f"{AS}/.well-known/oauth-authorization-server",
        ),
        (
            {f"GET {PRM_PATH}": httpx.Response(200, json=prm_doc()), f"GET {AS}/.well-known/oauth-authorization-server": httpx.Response(200, json={**as_doc(), "code_challenge_methods_supported": ["plain"]})},
            "as.pkce-unsupported",
            None,
        ),
        (
            {f"GET {PRM_PATH}": httpx.Response(200, json=prm_doc(servers=["http://as.example.com"]))},
            "as.insecure",
            "http://as.example.com",
        ),
    ],
)
def test_client_errors_carry_stable_codes(routes, code, url):
    err, _ = run_discover(routes, challenge=Challenges(401))
    assert isinstance(err, ProtocolError), err
    assert err.code == code and err.url == url and err.spec


def test_issuer_mismatch_says_how_the_issuers_differ():
    err, sent = run_discover(
        {f"GET {PRM_PATH}": httpx.Response(200, json=prm_doc()), f"GET {AS}/.well-known/oauth-authorization-server": httpx.Response(200, json=as_doc(AS + "/"))},
        challenge=Challenges(401),
    )
    assert "trailing slash" in err.message and "must not be used" in err.message
    assert f"GET {AS}/.well-known/openid-configuration" not in sent  # a mismatching document ends discovery


def test_an_unreachable_server_is_a_coded_network_error():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    async def go() -> Any:
        async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as client:
            return await discover(client, SERVER, HttpPolicy(timeout=5))

    with pytest.raises(NetworkError) as caught:
        asyncio.run(go())
    assert caught.value.code == "network.refused" and caught.value.url == SERVER


# --- one engine: the client and doctor read the same documents --------------------------------


def _world_variants() -> dict[str, World]:
    default = World()
    header_root = World(challenge_header=f'Bearer resource_metadata="{PRM_ROOT}"')
    header_root.routes[("GET", PRM_PATH)] = lambda r: httpx.Response(404)
    oidc_only = World(challenge_header=None)
    oidc_only.routes[("GET", f"{AS}/.well-known/oauth-authorization-server")] = lambda r: httpx.Response(404)
    second_as = World()
    second_as.prm["authorization_servers"] = [AS, "https://other.example.com"]
    return {"default": default, "header names the root": header_root, "OIDC document only": oidc_only, "two authorization servers": second_as}


@pytest.mark.parametrize("name", list(_world_variants()))
def test_client_and_doctor_pick_the_same_documents(name):
    world = _world_variants()[name]

    async def both() -> tuple[Any, Any]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(world.handle)) as client:
            return await discover(client, SERVER, HttpPolicy(timeout=5)), await gather(target(), client, HttpPolicy(timeout=5, allow_insecure=True))

    found, evidence = asyncio.run(both())
    assert evidence.prm_location is not None and evidence.discovery is not None
    assert found.prm_url == evidence.prm_urls[evidence.prm_location]
    assert (found.issuer, found.metadata_url) == (evidence.as_issuer, evidence.discovery.metadata_url)


def test_grants_without_a_browser_need_only_the_token_endpoint():
    """An AS built for machine clients (no authorization endpoint, no PKCE) serves client credentials, not the browser flow."""
    from authkit_mcp_cli.discovery import check_as_metadata

    machine_as = {"issuer": "https://as.example", "token_endpoint": "https://as.example/token"}
    check_as_metadata(machine_as, allow_insecure=False, browser_flow=False)
    with pytest.raises(ProtocolError) as info:
        check_as_metadata(machine_as, allow_insecure=False)
    assert info.value.code == "as.pkce-unsupported"
    with pytest.raises(ProtocolError) as info:
        check_as_metadata({"issuer": "https://as.example"}, allow_insecure=False, browser_flow=False)
    assert info.value.code == "as.endpoint-missing"
