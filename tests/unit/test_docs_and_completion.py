"""Generated docs stay in step with the app, and shell completion works."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_command_reference_and_completions_are_current():
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "docs.py"), "--check"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr


def _complete(env: dict[str, str]) -> str:
    base = {k: v for k, v in os.environ.items() if not k.startswith("_ATOMS")}
    proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli"], capture_output=True, text=True, env={**base, **env}, timeout=60)
    return proc.stdout


def test_bash_completion_end_to_end(tmp_path):
    shim = tmp_path / "atoms-auth"
    shim.write_text(f"#!/bin/sh\nexec {sys.executable} -m authkit_mcp_cli \"$@\"\n")
    shim.chmod(0o755)
    script = ROOT / "completions" / "atoms-auth.bash"
    probe = (
        f"source {script}\n"
        "COMP_WORDS=(atoms-auth do); COMP_CWORD=1; _atoms_auth_completion atoms-auth; echo \"A:${COMPREPLY[*]}\"\n"
        "COMP_WORDS=(atoms-auth doctor --check as.p); COMP_CWORD=3; _atoms_auth_completion atoms-auth; echo \"B:${COMPREPLY[*]}\"\n"
        "COMP_WORDS=(atoms-auth token ''); COMP_CWORD=2; _atoms_auth_completion atoms-auth; echo \"C:${COMPREPLY[*]}\"\n"
    )
    proc = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, env={**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}, timeout=60)
    lines = dict(line.split(":", 1) for line in proc.stdout.splitlines())
    assert lines["A"] == "doctor"
    assert lines["B"] == "as.pkce"
    assert set(lines["C"].split()) == {"show", "refresh"}


def test_zsh_completion_protocol():
    # what completions/_atoms-auth asks the program (zsh itself is not needed to test the answer)
    out = _complete({"_ATOMS_AUTH_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "atoms-auth logi"})
    assert "login" in out


def test_fish_completion_protocol():
    out = _complete({"_ATOMS_AUTH_COMPLETE": "complete_fish", "_TYPER_COMPLETE_FISH_ACTION": "get-args", "_TYPER_COMPLETE_ARGS": "atoms-auth doctor --check prm."})
    assert {"prm.discovery", "prm.resource", "prm.scopes"} <= {line.split("\t")[0] for line in out.splitlines()}
