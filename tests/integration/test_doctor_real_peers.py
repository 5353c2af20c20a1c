"""doctor against real servers on loopback: oidc-provider, the mcp SDK's own
resource server, and servers that misbehave on purpose."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from peers.asgi import serve_asgi
from peers.broken_server import Faults, build_broken_app
from peers.oidc_as import run_oidc_as

pytestmark = pytest.mark.integration


def doctor(*args: str, timeout: float = 60) -> tuple[int, dict, str]:
    proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "doctor", "--json", *args], capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in proc.stderr, proc.stderr
    doc = json.loads(proc.stdout)
    for r in doc.get("results", []):  # levels match statuses on every peer
        assert (r["level"], r["status"]) not in (("MUST", "warn"), ("SHOULD", "fail"), ("INFO", "warn"), ("INFO", "fail")), r
    return proc.returncode, doc, proc.stderr


def by_id(doc: dict) -> dict[str, dict]:
    return {r["id"]: r for r in doc["results"]}


def test_doctor_passes_every_as_check_against_oidc_provider(oidc_issuer):
    code, doc, _ = doctor("--authkit-domain", oidc_issuer)
    results = by_id(doc)
    assert code == 0, {k: v["message"] for k, v in results.items() if v["status"] != "pass"}
    assert doc["schema"] == 1 and doc["target"] == {"server": None, "authorization_server": oidc_issuer}
    assert set(doc["summary"]) == {"pass", "warn", "fail", "error", "skip", "info"}
    as_results = {k: v for k, v in results.items() if k.startswith("as.")}
    assert len(as_results) == 16 and all(v["status"] == "pass" for v in as_results.values())
    # oidc-provider advertises DPoP (RFC 9449) with ES256; its device flow is off by default
    assert as_results["as.dpop"]["evidence"]["algs"] == ["ES256", "Ed25519", "EdDSA"]
    assert "including ES256" in as_results["as.dpop"]["message"]
    grants = as_results["as.grant-types"]
    assert grants["evidence"]["offered"] == ["authorization_code", "refresh_token"] and grants["evidence"]["others"] == ["implicit"]
    assert grants["evidence"]["device_flow"] is False and "no device flow" in grants["message"]
    for r in doc["results"]:
        assert set(r) == {"id", "title", "status", "level", "message", "fix", "spec", "requirements", "evidence"}


def test_doctor_reports_oidc_providers_device_flow_and_dpop():
    with run_oidc_as(env={"DEVICE_FLOW": "1"}) as issuer:
        code, doc, _ = doctor("--authkit-domain", issuer, "--check", "as.grant-types", "--check", "as.dpop")
    results = by_id(doc)
    assert code == 0 and set(results) == {"as.grant-types", "as.dpop"}
    grants = results["as.grant-types"]
    assert grants["status"] == "pass" and grants["level"] == "SHOULD"
    assert grants["evidence"]["offered"] == ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"]
    assert grants["evidence"]["device_flow"] is True and "the device flow is usable" in grants["message"]
    assert grants["evidence"]["login"]["urn:ietf:params:oauth:grant-type:device_code"] == "atoms-auth login --grant device-code"
    assert grants["evidence"]["token_endpoint_auth_methods"] == ["none", "client_secret_post", "client_secret_basic"]
    dpop = results["as.dpop"]
    assert dpop["status"] == "pass" and dpop["evidence"]["algs"] == ["ES256", "Ed25519", "EdDSA"]


def test_doctor_describes_the_sdk_server_exactly(sdk_server, oidc_issuer):
    code, doc, _ = doctor("--server", sdk_server)
    results = by_id(doc)
    status = {k: v["status"] for k, v in results.items()}
    assert doc["target"]["authorization_server"] == oidc_issuer  # discovered from its PRM
    # What the SDK gets right
    for cid in ("server.reachable", "challenge.status", "challenge.header", "challenge.resource-metadata", "prm.discovery", "prm.resource", "prm.authorization-servers", "server.rejects-invalid-token", "server.rejects-forged-tokens", "server.malformed-authorization", "as.discovery", "as.pkce"):
        assert status[cid] == "pass", (cid, results[cid]["message"])
    # What it does differently from the spec's advice
    assert status["challenge.error-code"] == "warn" and "error='invalid_token' was sent although the request had no credentials" in results["challenge.error-code"]["message"]
    assert status["challenge.scope"] == "warn"
    assert status["challenge.cors"] == "warn" and "preflight (OPTIONS) got 401" in results["challenge.cors"]["message"]
    assert "Served at the path-inserted well-known URL (also named by WWW-Authenticate)" in results["prm.locations"]["message"]
    assert "root only" in results["prm.locations"]["message"]
    assert results["server.rejects-forged-tokens"]["evidence"]["results"] == {"alg-none": "401", "foreign-key": "401", "hs256-public-key": "401", "expired": "401"}
    assert code == 0  # warnings only
    strict_code, _, _ = doctor("--server", sdk_server, "--strict")
    assert strict_code == 1


def test_trace_records_every_exchange_with_secrets_redacted(sdk_server, tmp_path):
    trace = tmp_path / "trace.jsonl"
    doctor("--server", sdk_server, "--trace", str(trace))
    entries = [json.loads(line) for line in trace.read_text().splitlines()]
    assert len(entries) >= 15
    assert oct(trace.stat().st_mode & 0o777) == "0o600"
    authorized = [e for e in entries if any(k.lower() == "authorization" for k, _ in e["request"]["headers"])]
    assert authorized
    for e in authorized:
        value = next(v for k, v in e["request"]["headers"] if k.lower() == "authorization")
        assert "[redacted len=" in value
        assert "eyJ" not in value
    decoded = [j for e in entries for j in e["jwts"]]
    assert any(j["header"].get("alg") == "none" for j in decoded)
    assert all("status" in e["response"] for e in entries if e["response"])


@pytest.fixture
def broken():
    def start(**faults):
        return serve_asgi(lambda base: build_broken_app(base, Faults(**faults)))

    return start


def test_no_header(broken):
    with broken(no_header=True) as base:
        _, doc, _ = doctor("--server", base + "/api/mcp")
    r = by_id(doc)
    assert r["challenge.header"]["status"] == "fail" and "no WWW-Authenticate header" in r["challenge.header"]["message"]
    assert r["prm.discovery"]["status"] == "pass"


def test_prm_as_html(broken):
    with broken(prm_html=True) as base:
        _, doc, _ = doctor("--server", base + "/api/mcp")
    r = by_id(doc)
    assert r["prm.discovery"]["status"] == "fail"
    assert "not JSON (text/html" in r["challenge.resource-metadata"]["message"]


def test_prm_500(broken):
    with broken(prm_500=True) as base:
        _, doc, _ = doctor("--server", base + "/api/mcp")
    r = by_id(doc)
    assert r["prm.discovery"]["status"] == "fail" and "-> 500" in r["prm.discovery"]["message"]


def test_redirect_loop(broken):
    with broken(prm_redirect_loop=True) as base:
        _, doc, _ = doctor("--server", base + "/api/mcp")
    r = by_id(doc)
    assert r["prm.discovery"]["status"] == "fail"
    assert "redirect loop" in r["prm.discovery"]["message"]


def test_slow_server_is_bounded_by_timeout(broken):
    """Every probe stops at --timeout: a server that never answers cannot hang doctor (speed itself is benchmarks/' job)."""
    with broken(slow_seconds=60) as base:
        started = time.monotonic()
        code, doc, _ = doctor("--server", base + "/api/mcp", "--timeout", "0.5")
        elapsed = time.monotonic() - started
    r = by_id(doc)
    assert r["server.reachable"]["status"] == "fail" and "within 0.5 s (timeout)" in r["server.reachable"]["message"]
    assert code == 3  # a timeout: the server cannot be reached (design.md: network failure, doctor too)
    assert elapsed < 30  # far below the server's 60 s: no probe waited for its answer


def test_wrong_resource(broken):
    with broken(wrong_resource=True) as base:
        _, doc, _ = doctor("--server", base + "/api/mcp")
    r = by_id(doc)["prm.resource"]
    assert r["status"] == "fail" and "names another path (/other)" in r["message"]


def test_wrong_issuer_and_missing_pkce(broken):
    with broken(wrong_issuer=True, no_pkce=True) as base:
        _, doc, _ = doctor("--server", base + "/api/mcp")
    r = by_id(doc)
    assert r["as.issuer"]["status"] == "fail" and "'https://impostor.example.com'" in r["as.issuer"]["message"]
    assert r["as.pkce"]["status"] == "fail" and "must refuse" in r["as.pkce"]["message"]


def traced(tmp_path, *args: str) -> tuple[dict, list[tuple[str, str]]]:
    """doctor's JSON, and every request its client sent (the trace records each one)."""
    trace = tmp_path / "trace.jsonl"
    _, doc, _ = doctor(*args, "--trace", str(trace))
    return doc, [(e["method"], e["url"]) for e in map(json.loads, trace.read_text().splitlines())]


def test_check_as_pkce_sends_only_the_as_metadata_requests(oidc_issuer, sdk_server, tmp_path):
    from authkit_mcp_cli.urls import as_metadata_urls, prm_urls

    metadata = sorted(("GET", url) for _kind, url in as_metadata_urls(oidc_issuer))
    doc, sent = traced(tmp_path, "--authkit-domain", oidc_issuer, "--check", "as.pkce")
    assert by_id(doc)["as.pkce"]["status"] == "pass"
    assert sorted(sent) == metadata and doc["requests"] == len(metadata)
    # from the server alone: the challenge and the PRM that name the AS, then its metadata; nothing else
    doc, sent = traced(tmp_path, "--server", sdk_server, "--check", "as.pkce")
    assert by_id(doc)["as.pkce"]["status"] == "pass"
    assert sorted(sent) == sorted([("POST", sdk_server), *(("GET", u) for u in prm_urls(sdk_server)), *metadata])


def test_check_server_https_sends_no_request(sdk_server, tmp_path):
    doc, sent = traced(tmp_path, "--server", sdk_server, "--check", "server.https")
    assert by_id(doc)["server.https"]["status"] == "pass"
    assert sent == [] and doc["requests"] == 0


def test_oidc_provider_on_authkit_paths_is_not_taken_for_authkit(oidc_issuer, sdk_server, tmp_path):
    """oidc-provider serves AuthKit's /oauth2/* layout: doctor used to call it AuthKit. Now only configuration says so."""
    _, doc, _ = doctor("--server", sdk_server)
    r = by_id(doc)["authkit.domain"]
    assert r["status"] == "skip" and "not known to be AuthKit" in r["message"]
    _, doc, _ = doctor("--server", sdk_server, "--as-kind", "authkit")
    r = by_id(doc)["authkit.domain"]
    assert r["status"] == "pass" and "(--as-kind authkit)" in r["message"] and r["evidence"]["resource_indicator"] == sdk_server
    # the guide's .env says so too
    env_file = tmp_path / ".env"
    env_file.write_text("FASTMCP_SERVER_AUTH=fastmcp.server.auth.providers.workos.AuthKitProvider\n")
    proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "doctor", "--json", "--server", sdk_server, "--check", "authkit.domain"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    r = by_id(json.loads(proc.stdout))["authkit.domain"]
    assert r["status"] == "pass" and "FASTMCP_SERVER_AUTH=fastmcp.server.auth.providers.workos.AuthKitProvider" in r["message"]


@pytest.mark.parametrize("form", ["trailing-slash", "localhost"])
def test_a_typed_url_that_differs_only_in_form_is_one_finding_against_serve(form):
    """serve's resource is http://127.0.0.1:PORT/api/mcp. Typed with a slash, doctor used to report the 307 on
    five checks and tell the owner to set resource to the value it already had; typed with localhost, to change
    a right resource to localhost. Now: one server.url warning, and the server checked at its canonical URL."""
    from peers.serve_app import serve_app

    with serve_app() as (info, _app):
        port = info.mcp_url.split(":")[2].split("/")[0]
        typed = info.mcp_url + "/" if form == "trailing-slash" else f"http://localhost:{port}/api/mcp"
        code, doc, _ = doctor("--server", typed)
    results = by_id(doc)
    bad = {cid: r["message"] for cid, r in results.items() if r["status"] in ("warn", "fail", "error")}
    assert list(bad) == ["server.url"], bad
    assert results["server.url"]["evidence"] == {"typed": typed, "canonical": info.mcp_url, "differences": ["a trailing slash"] if form == "trailing-slash" else ["localhost vs 127.0.0.1"]}
    assert results["prm.resource"]["status"] == "pass" and results["challenge.status"]["status"] == "pass"
    assert doc["target"]["server"] == info.mcp_url and doc["typed_server"] == typed
    assert code == 0


def test_a_2025_03_26_server_is_named_and_its_origin_checked_as_the_as():
    from peers.legacy_server import build_legacy_app

    with serve_asgi(build_legacy_app) as base:
        _, doc, _ = doctor("--server", base + "/mcp")
    r = by_id(doc)
    assert r["prm.discovery"]["status"] == "fail" and r["prm.discovery"]["evidence"]["generation"] == "2025-03-26"
    message = r["prm.discovery"]["message"]
    assert "2025-03-26-style server" in message and "2025-06-18 and later" in message and f"names issuer {base}" in message
    assert f"naming {base} in authorization_servers" in r["prm.discovery"]["fix"]
    # the AS is checked at the origin, as those clients do
    assert doc["target"]["authorization_server"] == base
    for cid in ("as.discovery", "as.issuer", "as.pkce", "as.registration"):
        assert r[cid]["status"] == "pass", (cid, r[cid]["message"])
    # a bad token gets 401 without error="invalid_token": the MUST (refused with 401) holds, the SHOULD (RFC 6750 §3.1) warns
    assert r["server.rejects-invalid-token"]["status"] == "pass"
    assert r["server.invalid-token-error-code"]["status"] == "warn" and r["server.invalid-token-error-code"]["level"] == "SHOULD"


def test_a_server_without_prm_whose_origin_is_no_as_is_not_called_2025_03_26(broken):
    with broken(prm_500=True) as base:
        _, doc, _ = doctor("--server", base + "/api/mcp")
    r = by_id(doc)["prm.discovery"]
    assert r["status"] == "fail" and "2025-03-26" not in r["message"] and "generation" not in r["evidence"]


def test_a_configured_issuer_with_a_slash_is_one_finding_against_oidc_provider(oidc_issuer, sdk_server):
    """--authkit-domain with a trailing slash used to fail as.issuer and prm.authorization-servers, telling the
    owner to change a PRM that is right. Now as.issuer alone, with the fix for the configuration only."""
    _, doc, _ = doctor("--server", sdk_server, "--authkit-domain", oidc_issuer + "/")
    r = by_id(doc)
    assert r["as.issuer"]["status"] == "fail" and "already lists it" in r["as.issuer"]["fix"]
    assert r["prm.authorization-servers"]["status"] == "pass"
    failing = [cid for cid, x in r.items() if x["status"] in ("fail", "error")]
    assert failing == ["as.issuer"], failing
