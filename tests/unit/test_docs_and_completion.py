"""Generated docs stay in step with the app, and shell completion works."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMPLETIONS = ROOT / "src" / "authkit_mcp_cli" / "completions"  # package data: a pip install has them


def test_readme_command_reference_and_completions_are_current():
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "docs.py"), "--check"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr


def test_the_top_level_completions_are_the_packaged_ones():
    """The design's layout has completions/ at the top (where packagers look); make docs writes both."""
    for name in ("atoms-auth.bash", "_atoms-auth", "atoms-auth.fish"):
        top, packaged = ROOT / "completions" / name, COMPLETIONS / name
        assert top.read_text() == packaged.read_text() and "atoms-auth" in top.read_text()


def _shim(tmp_path):
    shim = tmp_path / "atoms-auth"
    shim.write_text(f"#!/bin/sh\nexec {sys.executable} -m authkit_mcp_cli \"$@\"\n")
    shim.chmod(0o755)
    return {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}


def test_bash_completion_end_to_end(tmp_path):
    script = COMPLETIONS / "atoms-auth.bash"
    probe = (
        f"source {script}\n"
        "COMP_WORDS=(atoms-auth do); COMP_CWORD=1; _atoms_auth_completion atoms-auth; echo \"A:${COMPREPLY[*]}\"\n"
        "COMP_WORDS=(atoms-auth doctor --check as.p); COMP_CWORD=3; _atoms_auth_completion atoms-auth; echo \"B:${COMPREPLY[*]}\"\n"
        "COMP_WORDS=(atoms-auth token ''); COMP_CWORD=2; _atoms_auth_completion atoms-auth; echo \"C:${COMPREPLY[*]}\"\n"
    )
    proc = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, env=_shim(tmp_path), timeout=60)
    lines = dict(line.split(":", 1) for line in proc.stdout.splitlines())
    assert lines["A"] == "doctor"
    assert "as.pkce" in lines["B"].split() and all(c.startswith("as.p") for c in lines["B"].split())  # check ids, completed from the catalogue
    assert set(lines["C"].split()) == {"show", "refresh", "list", "print"}


def test_zsh_completion_end_to_end(tmp_path):
    """Real zsh sources the packaged _atoms-auth; _arguments is stubbed to print what zsh would offer."""
    script = COMPLETIONS / "_atoms-auth"
    probe = (
        f"compdef() {{ : }}; _arguments() {{ print -r -- \"$@\" }}; source {script}; "
        "words=(atoms-auth logi); CURRENT=2; _atoms_auth_completion; "
        "words=(atoms-auth doctor --check as.pk); CURRENT=4; _atoms_auth_completion"
    )
    proc = subprocess.run(["zsh", "-f", "-c", probe], capture_output=True, text=True, env=_shim(tmp_path), timeout=60)
    lines = proc.stdout.splitlines()
    assert '"login"' in lines[0] and '"as.pkce"' in lines[1], proc.stdout + proc.stderr


def test_fish_completion_end_to_end(tmp_path):
    script = COMPLETIONS / "atoms-auth.fish"
    probe = f'source {script}; complete -C"atoms-auth logi"; complete -C"atoms-auth doctor --check prm."'
    proc = subprocess.run(["fish", "--no-config", "-c", probe], capture_output=True, text=True, env=_shim(tmp_path), timeout=60)
    offered = [line.split("\t")[0] for line in proc.stdout.splitlines()]
    assert "login" in offered and {"prm.discovery", "prm.resource", "prm.scopes"} <= set(offered), proc.stdout + proc.stderr


def _installed(shell: str, home: Path) -> Path:
    """``atoms-auth --install-completion SHELL`` run for real, in a throwaway home."""
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "SHELL": "/bin/false"}
    proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "--install-completion", shell], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    path = Path(proc.stdout.split(" completion in ", 1)[1].split(" (loaded from", 1)[0].split(".\n", 1)[0].rstrip("."))
    assert path.is_file() and str(path).startswith(str(home))
    return path


def test_install_completion_writes_the_packaged_script_where_each_shell_loads_it(tmp_path):
    """The shell named after --install-completion is the one installed (typer's ignored it and
    installed bash's script for zsh users); the script is the one shipped in the package."""
    bash = _installed("bash", tmp_path)
    assert bash.read_text() == (COMPLETIONS / "atoms-auth.bash").read_text()
    assert f"source {bash}" in (tmp_path / ".bashrc").read_text()
    zsh = _installed("zsh", tmp_path)
    assert zsh == tmp_path / ".zfunc" / "_atoms-auth" and zsh.read_text() == (COMPLETIONS / "_atoms-auth").read_text()
    fish = _installed("fish", tmp_path)
    assert fish == tmp_path / ".config" / "fish" / "completions" / "atoms-auth.fish"
    _installed("zsh", tmp_path)  # again: the start-up line is not added twice
    assert (tmp_path / ".zshrc").read_text().count("atoms-auth completion") == 1
    # the installed bash script completes in a real bash that loads it from .bashrc
    probe = f"source {tmp_path / '.bashrc'}\nCOMP_WORDS=(atoms-auth do); COMP_CWORD=1; _atoms_auth_completion atoms-auth; echo \"A:${{COMPREPLY[*]}}\"\n"
    proc = subprocess.run(["bash", "--norc", "-c", probe], capture_output=True, text=True, env=_shim(tmp_path), timeout=60)
    assert "A:doctor" in proc.stdout, proc.stdout + proc.stderr


def test_install_completion_without_a_shell_uses_shell_and_refuses_an_unknown_one(tmp_path):
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / ".config"), "SHELL": "/usr/bin/fish"}
    proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "--install-completion"], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0 and "fish completion" in proc.stdout, proc.stderr
    proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "--install-completion"], capture_output=True, text=True, env={**env, "SHELL": "/bin/tcsh"}, timeout=60)
    assert proc.returncode == 2 and "usage.completion-shell" in proc.stderr and "--install-completion bash" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "--show-completion", "zsh"], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0 and proc.stdout == (COMPLETIONS / "_atoms-auth").read_text()
