"""doctor sends only what the selected checks need, overlaps independent
probes, survives a crashing probe, and runs over any httpx client."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from world import AS, LOGIN_ONLY, ORIGIN, PRM_PATH, PRM_ROOT, SERVER, World, json_response, target

from authkit_mcp_cli import forged_tokens
from authkit_mcp_cli.checks import gather, server_probes
from authkit_mcp_cli.checks.catalogue import CATALOGUE
from authkit_mcp_cli.checks.model import Status, run_check
from authkit_mcp_cli.checks.probe_graph import PROBES, closure, requires
from authkit_mcp_cli.checks.probes import LOGIN_PROBES, Probe
from authkit_mcp_cli.doctor import diagnose
from authkit_mcp_cli.http import HttpPolicy

AS_METADATA = [f"GET {AS}/.well-known/oauth-authorization-server", f"GET {AS}/.well-known/openid-configuration"]
FIND_THE_AS = [f"POST {SERVER}", f"GET {PRM_PATH}", f"GET {PRM_ROOT}"]


def only(*ids: str) -> list:
    return [c for c in CATALOGUE if c.id in ids]


@pytest.fixture
def keys_made(monkeypatch):
    """Counts the RSA keys doctor generates (one per forged-token set)."""
    made = []
    real = forged_tokens.fresh_key

    def counting():
        made.append(1)
        return real()

    monkeypatch.setattr(forged_tokens, "fresh_key", counting)
    return made


# --- only what is needed -------------------------------------------------------------------


def test_as_pkce_for_an_authkit_domain_sends_only_the_as_metadata_requests(keys_made):
    world = World()
    results = world.run(server=None, authkit_domain=AS, checks=only("as.pkce"))
    assert results["as.pkce"].status is Status.PASS
    assert sorted(world.sent()) == sorted(AS_METADATA)
    assert keys_made == []


def test_as_pkce_for_a_server_adds_only_the_requests_that_find_the_as():
    world = World()
    assert world.run(checks=only("as.pkce"))["as.pkce"].status is Status.PASS
    assert sorted(world.sent()) == sorted(FIND_THE_AS + AS_METADATA)  # each once: no JWKS, CORS, compat or token probes


def test_as_pkce_for_a_server_and_a_domain_needs_no_server_request():
    world = World()
    assert world.run(authkit_domain=AS, checks=only("as.pkce"))["as.pkce"].status is Status.PASS
    assert sorted(world.sent()) == sorted(AS_METADATA)


def test_server_https_sends_nothing_and_makes_no_key(keys_made):
    world = World()
    assert world.run(checks=only("server.https"))["server.https"].status is Status.PASS
    assert world.sent() == []
    assert keys_made == []


def test_forged_tokens_are_made_once_and_only_for_the_check_that_sends_them(keys_made):
    world = World()
    world.run(checks=only("as.jwks", "server.rejects-invalid-token"))
    assert keys_made == []
    assert not any("[Bearer]" in s and "garbage" in s for s in world.sent())
    world = World()
    world.run()
    assert keys_made == [1]
    assert len([s for s in world.sent() if s == f"POST {SERVER} [Bearer]"]) == 6  # garbage, empty, and four forgeries


def broken_world() -> World:
    """One fault per kind of evidence, so a check missing some evidence gives another result."""
    world = World(token_status=200, challenge_header=f'Bearer resource_metadata="{PRM_ROOT}", scope="openid"')
    world.prm["authorization_servers"] = [AS, "https://broken.example.com"]
    world.routes[("GET", f"{AS}/oauth2/jwks")] = lambda r: httpx.Response(500)
    world.routes[("GET", f"{AS}/.well-known/oauth-authorization-server")] = lambda r: httpx.Response(200, json=world.oauth_metadata)  # no CORS
    world.routes[("OPTIONS", SERVER)] = lambda r: httpx.Response(401)
    world.routes[("GET", ORIGIN + "/.well-known/oauth-authorization-server")] = lambda r: json_response({k: v for k, v in world.oauth_metadata.items() if k != "registration_endpoint"})
    del world.oidc_metadata["code_challenge_methods_supported"]
    return world


def comparable(result) -> tuple:
    return result.status, re.sub(r"\d+ ms", "N ms", result.message)


def every_probe(world: World) -> dict:
    """Each check's result on evidence from every probe, whatever the checks declare."""

    async def go():
        async with httpx.AsyncClient(transport=httpx.MockTransport(world.handle)) as client:
            return await gather.gather(target(), client, HttpPolicy(timeout=5, allow_insecure=True))

    evidence = asyncio.run(go())
    return {c.id: run_check(c, evidence) for c in CATALOGUE}


@pytest.fixture(scope="module")
def full_runs():
    return {"good": every_probe(World()), "broken": every_probe(broken_world())}


@pytest.mark.parametrize("check_id", [c.id for c in CATALOGUE])
@pytest.mark.parametrize("kind", ["good", "broken"])
def test_each_check_alone_gives_the_result_it_has_on_all_evidence(full_runs, kind, check_id):
    """A check that reads evidence it did not declare would differ here."""
    world = World() if kind == "good" else broken_world()
    alone = world.run(checks=only(check_id))[check_id]
    assert comparable(alone) == comparable(full_runs[kind][check_id])


def test_the_broken_world_breaks_a_check_of_every_probe(full_runs):
    bad = {cid for cid, r in full_runs["broken"].items() if r.status in (Status.FAIL, Status.WARN)}
    assert {"as.jwks", "as.cors", "challenge.cors", "server.compat-metadata", "prm.authorization-servers", "server.rejects-invalid-token", "server.rejects-forged-tokens", "as.oidc-consistency"} <= bad


# --- overlap ---------------------------------------------------------------------------


def test_the_critical_path_does_not_wait_for_the_challenge():
    """The well-known PRM leads to AS metadata and JWKS while the challenge is still unanswered."""
    world = World()

    async def go():
        jwks_asked = asyncio.Event()

        async def handle(request: httpx.Request) -> httpx.Response:
            if str(request.url) == f"{AS}/oauth2/jwks":
                jwks_asked.set()
            elif request.method == "POST" and "authorization" not in request.headers and "origin" not in request.headers:
                await asyncio.wait_for(jwks_asked.wait(), 3)  # a TimeoutError here fails server.reachable
            return world.handle(request)

        async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as client:
            return await diagnose(target(), only("server.reachable", "as.jwks"), timeout=5, client=client)

    results = {r.check.id: r for r in asyncio.run(go()).results}
    assert results["server.reachable"].status is Status.PASS, results["server.reachable"].message
    assert results["as.jwks"].status is Status.PASS


# --- a crashing probe ------------------------------------------------------------------------


def test_a_crashing_probe_is_an_error_for_the_checks_that_need_it(monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(forged_tokens, "probe_set", boom)
    results = World().run()
    r = results["server.rejects-forged-tokens"]
    assert r.status is Status.ERROR
    assert "The forged-tokens probe crashed: RuntimeError: kaboom" in r.message and "bug in atoms-auth" in r.fix
    assert r.evidence == {"probe": "forged-tokens"}
    others = {cid: res.status for cid, res in results.items() if cid != "server.rejects-forged-tokens" and cid not in LOGIN_ONLY}
    assert set(others.values()) <= {Status.PASS, Status.INFO}


def test_a_crash_reaches_the_probes_built_on_it_and_no_further(monkeypatch):
    def boom(*args, **kwargs):
        raise KeyError("surprise")

    monkeypatch.setattr(server_probes, "prm_candidates", boom)
    results = World().run()
    errors = {cid for cid, r in results.items() if r.status is Status.ERROR}
    # PRM, and what needs the AS it names (no --authkit-domain), report the crash ...
    assert {"prm.discovery", "prm.resource", "challenge.resource-metadata", "as.pkce", "as.jwks", "server.rejects-forged-tokens", "authkit.domain"} <= errors
    assert results["as.pkce"].message == "The as-metadata probe did not run: the prm probe it builds on crashed (KeyError: 'surprise')."
    assert "the prm probe it builds on crashed (KeyError" in results["server.rejects-forged-tokens"].message  # named, however deep
    # ... the rest of the run is unaffected
    for cid in ("server.reachable", "server.https", "challenge.status", "challenge.header", "challenge.cors", "server.rejects-invalid-token", "server.malformed-authorization"):
        assert results[cid].status is Status.PASS, (cid, results[cid].message)
    # with the AS given, its checks do not need PRM at all
    results = World().run(authkit_domain=AS)
    assert results["as.pkce"].status is Status.PASS and results["prm.discovery"].status is Status.ERROR


# --- any httpx client --------------------------------------------------------------------


def test_diagnose_runs_over_a_client_with_a_mock_transport():
    world = World()

    async def go():
        async with httpx.AsyncClient(transport=httpx.MockTransport(world.handle)) as client:
            return await diagnose(target(), list(CATALOGUE), timeout=5, client=client)

    diagnosis = asyncio.run(go())
    bad = {r.check.id: r.message for r in diagnosis.results if r.status not in (Status.PASS, Status.INFO) and r.check.id not in LOGIN_ONLY}
    assert bad == {}
    assert len(diagnosis.results) == len(CATALOGUE)
    assert diagnosis.evidence.request_count == len(world.requests)  # the count doctor reports is what went out


def test_one_table_says_how_every_probe_runs_and_what_it_builds_on():
    """probe_graph.PROBES feeds --check's closure and the engine's schedule: every probe is in it once."""
    assert list(PROBES) == list(Probe)
    assert closure([Probe.FORGED_TOKENS], issuer_given=False) == {Probe.FORGED_TOKENS, Probe.CHALLENGE, Probe.PRM, Probe.AS_METADATA, Probe.AS_JWKS}
    assert closure([Probe.AS_JWKS], issuer_given=True) == {Probe.AS_JWKS, Probe.AS_METADATA}
    assert closure([Probe.TOKEN_REFRESH], issuer_given=True) == {Probe.TOKEN_REFRESH, Probe.TOKEN, Probe.CHALLENGE, Probe.PRM}  # token-use only orders it
    assert {p for p, spec in PROBES.items() if spec.last} == LOGIN_PROBES
    assert {p for p, spec in PROBES.items() if spec.peer == "as"} == {Probe.AS_METADATA, Probe.AS_ALL, Probe.AS_JWKS, Probe.AS_CORS}


def test_probes_are_listed_after_what_they_build_on():
    for issuer_given in (True, False):
        order = list(Probe)
        for probe in Probe:
            assert all(order.index(p) < order.index(probe) for p in requires(probe, issuer_given=issuer_given) | PROBES[probe].after), probe
