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


def _shim(tmp_path):
    shim = tmp_path / "atoms-auth"
    shim.write_text(f"#!/bin/sh\nexec {sys.executable} -m authkit_mcp_cli \"$@\"\n")
    shim.chmod(0o755)
    return {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}


def test_bash_completion_end_to_end(tmp_path):
    script = ROOT / "completions" / "atoms-auth.bash"
    probe = (
        f"source {script}\n"
        "COMP_WORDS=(atoms-auth do); COMP_CWORD=1; _atoms_auth_completion atoms-auth; echo \"A:${COMPREPLY[*]}\"\n"
        "COMP_WORDS=(atoms-auth doctor --check as.p); COMP_CWORD=3; _atoms_auth_completion atoms-auth; echo \"B:${COMPREPLY[*]}\"\n"
        "COMP_WORDS=(atoms-auth token ''); COMP_CWORD=2; _atoms_auth_completion atoms-auth; echo \"C:${COMPREPLY[*]}\"\n"
    )
    proc = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, env=_shim(tmp_path), timeout=60)
    lines = dict(line.split(":", 1) for line in proc.stdout.splitlines())
    assert lines["A"] == "doctor"
    assert lines["B"] == "as.pkce"
    assert set(lines["C"].split()) == {"show", "refresh"}


def test_zsh_completion_end_to_end(tmp_path):
    """Real zsh sources completions/_atoms-auth; _arguments is stubbed to print what zsh would offer."""
    script = ROOT / "completions" / "_atoms-auth"
    probe = (
        f"compdef() {{ : }}; _arguments() {{ print -r -- \"$@\" }}; source {script}; "
        "words=(atoms-auth logi); CURRENT=2; _atoms_auth_completion; "
        "words=(atoms-auth doctor --check as.pk); CURRENT=4; _atoms_auth_completion"
    )
    proc = subprocess.run(["zsh", "-f", "-c", probe], capture_output=True, text=True, env=_shim(tmp_path), timeout=60)
    lines = proc.stdout.splitlines()
    assert '"login"' in lines[0] and '"as.pkce"' in lines[1], proc.stdout + proc.stderr


def test_fish_completion_end_to_end(tmp_path):
    script = ROOT / "completions" / "atoms-auth.fish"
    probe = f'source {script}; complete -C"atoms-auth logi"; complete -C"atoms-auth doctor --check prm."'
    proc = subprocess.run(["fish", "--no-config", "-c", probe], capture_output=True, text=True, env=_shim(tmp_path), timeout=60)
    offered = [line.split("\t")[0] for line in proc.stdout.splitlines()]
    assert "login" in offered and {"prm.discovery", "prm.resource", "prm.scopes"} <= set(offered), proc.stdout + proc.stderr
