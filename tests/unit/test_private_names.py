"""Private names of typer, the MCP SDK and uvicorn live in one seam module each (issue #21, "Plain
seams"): no other module mentions one, and each one missing (a library release that renames it,
simulated in a fresh interpreter) leaves the CLI working: ``--help`` and usage errors unchanged,
completion through typer's public module or refused clearly, option values the same without the
coercion hook. serve's fallbacks are in tests/integration/test_serve_private_names.py."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "authkit_mcp_cli"
SEAMS = PACKAGE / "seams"
LIBRARIES = ("typer", "click", "mcp", "mcp_types", "starlette", "uvicorn", "httptools")

# each private name we use, and the one module allowed to mention it
PRIVATE_NAMES = {
    "typer_private.py": [r"\btyper\._(?!_)", r"\b_click\b", r"\b_completion_classes\b", r"\bcompletion_init\b", r"\b_TyperParameter\b", r"\bget_runtime_param\b", r"\bRuntimeParam\b", r"\bbuild_runtime_param\b", r"\b_runtime_param\b"],
    "mcp_private.py": [r"\b_lifespan_state\b"],
    "uvicorn_private.py": [r"\b_should_upgrade\b", r"\b_unset_keepalive_if_required\b", r"\bhttptools_impl\b"],
}


def _sources() -> dict[Path, str]:
    return {path: path.read_text(encoding="utf-8") for path in PACKAGE.rglob("*.py")}


def test_private_names_are_mentioned_only_in_their_seam():
    offenders = []
    for path, text in _sources().items():
        for seam, patterns in PRIVATE_NAMES.items():
            if path == SEAMS / seam:
                continue
            offenders += [f"{path.relative_to(PACKAGE)}: {p}" for p in patterns if re.search(p, text)]
    assert offenders == []


def test_no_module_outside_the_seams_imports_a_private_module_of_a_library():
    """Whatever the name: ``import lib._x``, ``from lib._x import y`` and ``from lib import _x``."""
    offenders = []
    for path, text in _sources().items():
        if path.parent == SEAMS:
            continue
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                parts = name.split(".")
                if parts[0] in LIBRARIES and any(p.startswith("_") for p in parts[1:]):
                    offenders.append(f"{path.relative_to(PACKAGE)}: {name}")
    assert offenders == []


def test_every_seam_is_a_known_one_and_each_pattern_finds_its_seam():
    """The seams list is the table above, and each pattern matches its own seam (a typo matches nothing)."""
    assert sorted(p.name for p in SEAMS.glob("*.py")) == sorted(["__init__.py", *PRIVATE_NAMES])
    for seam, patterns in PRIVATE_NAMES.items():
        text = (SEAMS / seam).read_text(encoding="utf-8")
        assert [p for p in patterns if not re.search(p, text)] == [], seam


# --- each private name missing, in a fresh interpreter -----------------------------------------

# typer loads its private modules itself (and lazily): the simulation refuses them to atoms-auth's own
# imports only, as a release that renamed them would (typer importing its new names, ours failing)
REFUSE_TO_ATOMS_AUTH = """import builtins
_import = builtins.__import__
def _refusing(name, globals=None, locals=None, fromlist=(), level=0):
    if level == 0 and str((globals or {}).get("__name__", "")).startswith("authkit_mcp_cli"):
        for wanted in [name, *(f"{name}.{item}" for item in fromlist or ())]:
            if wanted in GONE:
                raise ImportError(f"simulated: no {wanted}")
    return _import(name, globals, locals, fromlist, level)
builtins.__import__ = _refusing
"""
MISSING = {
    "typer._click": "GONE = {'typer._click'}\n" + REFUSE_TO_ATOMS_AUTH,
    "typer._completion_classes": "GONE = {'typer._completion_classes'}\n" + REFUSE_TO_ATOMS_AUTH,
    "typer completion, private and public": "GONE = {'typer._completion_classes', 'typer.completion'}\n" + REFUSE_TO_ATOMS_AUTH,
    "typer._coercion": "GONE = {'typer._coercion'}\n" + REFUSE_TO_ATOMS_AUTH,
    "typer._coercion.RuntimeParam": "GONE = {'typer._coercion.RuntimeParam'}\n" + REFUSE_TO_ATOMS_AUTH,
    "typer.core._TyperParameter": "GONE = {'typer.core._TyperParameter'}\n" + REFUSE_TO_ATOMS_AUTH,
}
RUN_MAIN = "sys.argv = ['atoms-auth', *sys.argv[1:]]\nfrom authkit_mcp_cli.cli import main\nmain()\n"


def run(args: list[str], home: Path, missing: str | None = None, extra_env: dict[str, str] | None = None, code: str = RUN_MAIN) -> subprocess.CompletedProcess[str]:
    prelude = "import sys\n" + (MISSING[missing] if missing else "")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATOMS_AUTH_", "_ATOMS_AUTH_"))}
    env.update(ATOMS_AUTH_HOME=str(home / ".atoms-auth"), HOME=str(home), NO_COLOR="1", COLUMNS="100", SHELL="/bin/bash", **(extra_env or {}))
    return subprocess.run([sys.executable, "-c", prelude + code, *args], capture_output=True, text=True, timeout=60, env=env, cwd=home, stdin=subprocess.DEVNULL)


def test_the_simulation_removes_each_name(tmp_path):
    """Each prelude really makes the name unimportable (else the tests below prove nothing)."""
    probes = {
        "typer._click": "from typer._click import core",
        "typer._completion_classes": "from typer._completion_classes import completion_init",
        "typer._coercion": "from typer import _coercion",
        "typer._coercion.RuntimeParam": "from typer._coercion import RuntimeParam",
        "typer.core._TyperParameter": "from typer.core import _TyperParameter",
    }
    for missing, probe in probes.items():
        as_atoms_auth = f"__name__ = 'authkit_mcp_cli.probe'\ntry:\n    {probe}\nexcept ImportError:\n    print('gone')\n"
        proc = run([], tmp_path, missing, code=as_atoms_auth)
        assert proc.stdout.strip() == "gone", (missing, proc.stderr)


HELP_AND_USAGE = [["--help"], ["login", "--help"], ["token", "show", "--help"], ["login", "--nope"], ["login", "--nope", "--json"], ["doctor", "--list-checks", "--format", "JSON"], ["frobnicate"], []]


@pytest.mark.parametrize("missing", ["typer._click", "typer._completion_classes", "typer._coercion"])
def test_help_and_usage_errors_are_unchanged_without_the_name(tmp_path, missing):
    for args in HELP_AND_USAGE:
        normal, without = run(args, tmp_path), run(args, tmp_path, missing)
        assert (without.returncode, without.stdout, without.stderr) == (normal.returncode, normal.stdout, normal.stderr), args
    assert run(["--help"], tmp_path, missing).returncode == 0
    helped = run(["login", "--help"], tmp_path, missing)
    assert helped.returncode == 0 and "--scope" in helped.stdout
    refused = run(["login", "--nope"], tmp_path, missing)
    assert refused.returncode == 2 and refused.stderr.startswith("error: No such option: --nope") and "code: usage.cli" in refused.stderr


def _complete(tmp_path: Path, missing: str | None) -> subprocess.CompletedProcess[str]:
    return run([], tmp_path, missing, {"_ATOMS_AUTH_COMPLETE": "complete_bash", "COMP_WORDS": "atoms-auth do", "COMP_CWORD": "1"})


def test_completion_without_the_private_classes_takes_typers_public_module(tmp_path):
    done = _complete(tmp_path, "typer._completion_classes")
    assert (done.returncode, done.stdout.split()) == (0, ["doctor"]), done.stderr
    assert done.stdout == _complete(tmp_path, None).stdout
    installed = run(["--install-completion", "bash"], tmp_path, "typer._completion_classes")
    assert installed.returncode == 0 and (tmp_path / ".bash_completions" / "atoms-auth.bash").is_file(), installed.stderr


def test_completion_without_any_typer_classes_is_refused_clearly_and_help_still_works(tmp_path):
    missing = "typer completion, private and public"
    installed = run(["--install-completion", "bash"], tmp_path, missing)
    assert installed.returncode == 2, installed.stderr
    assert installed.stderr.startswith("error: shell completion needs typer's completion classes") and "code: usage.completion-unavailable" in installed.stderr
    assert not (tmp_path / ".bash_completions").exists() and not (tmp_path / ".bashrc").exists()
    shown = run(["--show-completion", "bash"], tmp_path, missing)
    assert shown.returncode == 2 and shown.stdout == "" and "usage.completion-unavailable" in shown.stderr
    called_back = _complete(tmp_path, missing)  # an installed script calling back: one line, no completions in click's other format
    assert (called_back.returncode, called_back.stdout) == (2, "") and called_back.stderr.startswith("atoms-auth: shell completion needs")
    helped = run(["--help"], tmp_path, missing)
    assert helped.returncode == 0 and "--install-completion" in helped.stdout


VALUES_APP = """
import enum, json
from pathlib import Path
from typing import Annotated, Literal
import typer
from typer.testing import CliRunner
from authkit_mcp_cli.commands._coercion import install

class Color(str, enum.Enum):
    red = "red"
    blue = "blue"

hooked = install()
app = typer.Typer()

@app.command()
def probe(
    name: str = "x",
    count: Annotated[int, typer.Option(min=1)] = 3,
    ratio: float = 1.5,
    fmt: Literal["text", "json"] = "text",
    server: Annotated[list[str] | None, typer.Option()] = None,
    color: Color = Color.red,
    path: Path = Path("."),
    flag: bool = False,
) -> None:
    print(json.dumps({k: [type(v).__name__, str(v) if isinstance(v, (Path, Color)) else v] for k, v in locals().items()}))

runner = CliRunner()
out = []
for args in ([], ["--name", "y", "--count", "7", "--ratio", "2", "--fmt", "json", "--server", "a", "--server", "b", "--color", "blue", "--path", "/tmp", "--flag"], ["--count", "0"], ["--fmt", "JSON"], ["--ratio", "soon"]):
    result = runner.invoke(app, args)
    out.append([result.exit_code, result.output])
print(json.dumps({"hooked": hooked, "runs": out}))
"""


@pytest.mark.parametrize("missing", ["typer._coercion", "typer._coercion.RuntimeParam", "typer.core._TyperParameter"])
def test_option_values_are_the_same_without_the_coercion_hook(tmp_path, missing):
    normal, without = run([], tmp_path, code=VALUES_APP), run([], tmp_path, missing, code=VALUES_APP)
    assert normal.returncode == 0 and without.returncode == 0, normal.stderr + without.stderr
    hooked, plain = json.loads(normal.stdout), json.loads(without.stdout)
    assert (hooked["hooked"], plain["hooked"]) == (True, False)
    assert hooked["runs"] == plain["runs"]
    (ok, defaults), (ok2, given) = hooked["runs"][0], hooked["runs"][1]
    assert ok == ok2 == 0
    assert json.loads(defaults)["count"] == ["int", 3] and json.loads(defaults)["server"] == ["NoneType", None]
    assert json.loads(given) == {
        "name": ["str", "y"],
        "count": ["int", 7],
        "ratio": ["float", 2.0],
        "fmt": ["str", "json"],
        "server": ["list", ["a", "b"]],
        "color": ["Color", "Color.blue"],
        "path": ["PosixPath", "/tmp"],
        "flag": ["bool", True],
    }
    assert [code for code, _ in hooked["runs"][2:]] == [2, 2, 2]  # out of range, not a choice, not a number


def test_the_help_path_imports_no_server_stack_through_the_seams(tmp_path):
    """The typer seam imports only typer: ``--help`` loads neither the MCP SDK nor the servers."""
    code = RUN_MAIN.replace("main()\n", "try:\n    main()\nexcept SystemExit:\n    pass\nprint(sorted(n for n, m in sys.modules.items() if m is not None))\n")
    proc = run(["--help"], tmp_path, code=code)
    modules = set(json.loads(proc.stdout.splitlines()[-1].replace("'", '"')))
    assert "authkit_mcp_cli.seams.typer_private" in modules
    heavy = [m for m in modules if m.split(".")[0] in ("mcp", "starlette", "uvicorn", "questionary", "pydantic")]
    assert heavy == [] and "authkit_mcp_cli.seams.mcp_private" not in modules
