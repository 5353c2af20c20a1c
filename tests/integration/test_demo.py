"""`atoms-auth demo`: every step passes offline, and nothing is left behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.integration


def test_demo_passes_every_step_and_cleans_up(tmp_path):
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    env = {**os.environ, "TMPDIR": str(tmpdir), "NO_COLOR": "1"}
    proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "demo", "--json", "--trace", str(tmp_path / "demo.jsonl")], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["ok"] is True
    assert [s["name"] for s in doc["steps"]] == ["doctor", "register", "login", "call", "refresh"]
    assert all(s["ok"] for s in doc["steps"])
    assert "browser leg automated" in doc["steps"][2]["detail"]
    assert "invalid_grant" in doc["steps"][4]["detail"]
    assert list(tmpdir.iterdir()) == []  # the temporary token store is gone
    with pytest.raises(httpx.ConnectError):  # and so is the server
        httpx.get(doc["mcp_url"], timeout=2)
    traced = [json.loads(line) for line in (tmp_path / "demo.jsonl").read_text().splitlines()]
    assert len(traced) > 5
    # one HTTP session for every leg (issue #21 item 4): doctor's probes and the automated browser are traced too
    urls = [e.get("url", "") for e in traced]
    assert any(u.endswith("/oauth2/jwks") for u in urls)  # only doctor fetches the AS's keys (as.jwks)
    assert any(e.get("method") == "GET" and "/oauth/callback?" in e.get("url", "") for e in traced)  # only the browser follows the redirect home


def test_demo_human_output_says_what_each_step_proved(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "demo", "--home", str(tmp_path / "home")], capture_output=True, text=True, timeout=120, env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("PASS") == 5 and "proved:" in proc.stdout and "Every step passed" in proc.stdout
    assert list((tmp_path / "home" / "tokens").glob("*.json"))  # --home keeps the store


def test_the_next_commands_work_in_a_new_shell(tmp_path):
    """`make demo` runs .venv/bin/atoms-auth, which a new shell does not find on PATH (issue #15 §11):
    the Next lines name what a new shell can run, and they run."""
    script = Path(sys.executable).parent / "atoms-auth"
    bare = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "NO_COLOR": "1", "COLUMNS": "200"}
    proc = subprocess.run([str(script), "demo", "--home", str(tmp_path / "home")], capture_output=True, text=True, timeout=120, env=bare, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    nexts = proc.stdout.split("Next, in any shell:", 1)[1].splitlines()
    commands = [line.strip().split("   #")[0] for line in nexts if line.startswith("  ")]
    assert commands[0] == f"{script.resolve()} serve" and "doctor --server https://your-host/api/mcp" in commands[2]
    assert f"source {script.resolve().parent / 'activate'}" in proc.stdout
    # a new shell, PATH without the venv, runs them as printed (--help: nothing starts)
    for command in commands:
        ran = subprocess.run(["sh", "-c", f"{command} --help"], capture_output=True, text=True, timeout=60, env=bare)
        assert ran.returncode == 0 and "Usage: atoms-auth" in ran.stdout, command
