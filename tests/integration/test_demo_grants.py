"""`atoms-auth demo --grant client-credentials|device-code|dpop`: each flow
against serve's development AS, offline, every step passing and the login
step listing the flow's own steps."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration


def demo(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "250", "BROWSER": "/bin/false"}
    proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "demo", *args], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.mark.parametrize(
    ("grant", "steps", "in_flow", "in_detail"),
    [
        ("client-credentials", ["doctor", "register", "login", "call"], "token: client_credentials at ", "(the client itself)"),
        ("device-code", ["doctor", "register", "login", "call", "refresh"], "/oauth2/device and enter the code ", "auto-approved"),
        ("dpop", ["doctor", "login", "call", "refresh"], "dpop: new ES256 key for this login", "token_type DPoP, cnf.jkt "),
    ],
)
def test_each_grant_demo_passes_and_shows_its_flow(tmp_path, grant, steps, in_flow, in_detail):
    proc = demo(tmp_path, "--grant", grant, "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["ok"] is True and doc["grant"] == grant
    assert [s["name"] for s in doc["steps"]] == steps and all(s["ok"] for s in doc["steps"])
    login = next(s for s in doc["steps"] if s["name"] == "login")
    assert in_detail in login["detail"] and any(in_flow in line for line in login["flow"]), login


def test_dpop_demo_human_output_lists_the_flow(tmp_path):
    proc = demo(tmp_path, "--grant", "dpop")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("PASS") == 4 and "flow: dpop: new ES256 key" in proc.stdout and "DPoP scheme with a fresh proof per request" in proc.stdout


def test_an_unknown_grant_is_a_usage_error(tmp_path):
    proc = demo(tmp_path, "--grant", "implicit")
    assert proc.returncode == 2 and "usage.demo-grant" in proc.stdout + proc.stderr
