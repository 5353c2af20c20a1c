"""The GitHub Action (action.yml, composite) run locally the way the runner runs it: each step's
script with `bash --noprofile --norc -eo pipefail`, its `${{ }}` expressions evaluated from the
inputs and the `github` context, and the environment GitHub provides (GITHUB_ACTION_PATH,
RUNNER_TEMP, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_WORKSPACE...). The install step really
installs atoms-auth from this checkout into a fresh virtualenv (once per module); the doctor step
runs against a broken server and a correct one (serve with its development AS)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from peers.asgi import serve_asgi
from peers.broken_server import Faults, build_broken_app
from peers.serve_app import serve_app

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
GITHUB = {"server_url": "https://github.com", "action_repository": "acme/atoms-auth", "action_ref": "v1", "workspace": ""}
_EXPR = re.compile(r"\$\{\{\s*([a-z_.-]+)\s*\}\}")


def evaluate(text: str, inputs: dict[str, str], steps: dict[str, dict[str, str]]) -> str:
    """The `${{ inputs.x }}`, `${{ github.x }}` and `${{ steps.id.outputs.x }}` expressions action.yml uses."""

    def value(m: re.Match[str]) -> str:
        parts = m.group(1).split(".")
        if parts[0] == "inputs":
            return inputs[parts[1]]
        if parts[0] == "github":
            return GITHUB[parts[1]]
        if parts[0] == "steps":
            return steps.get(parts[1], {}).get(parts[3], "")
        raise AssertionError(f"an expression this test does not evaluate: {m.group(0)}")

    return _EXPR.sub(value, text)


def read_outputs(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines() if "=" in line)


class Runner:
    """One job's runner: a RUNNER_TEMP shared by the steps of every run (the install is done once)."""

    def __init__(self, temp: Path) -> None:
        self.temp = temp
        self.workspace = temp / "workspace"
        self.workspace.mkdir(parents=True, exist_ok=True)
        self.installed = False

    def run(self, **given: str) -> tuple[dict[str, str], str, int, str]:
        """The action with these inputs: (its outputs, the job summary, the doctor step's exit code, its log)."""
        inputs = {name: spec.get("default", "") for name, spec in ACTION["inputs"].items()} | given
        run_dir = Path(os.path.join(self.temp, f"run-{len(list(self.temp.glob('run-*')))}"))
        run_dir.mkdir()
        summary = run_dir / "summary.md"
        steps: dict[str, dict[str, str]] = {}
        code, log = 0, ""
        for step in ACTION["runs"]["steps"]:
            if step["name"].startswith("Install") and self.installed:
                continue
            output = run_dir / f"output-{len(steps)}"
            output.touch()
            summary.touch()
            env = {
                "PATH": os.environ["PATH"],
                "HOME": os.environ.get("HOME", str(self.temp)),
                "CI": "true",
                "GITHUB_ACTIONS": "true",
                "GITHUB_ACTION_PATH": str(ROOT),
                "GITHUB_WORKSPACE": str(self.workspace),
                "RUNNER_TEMP": str(self.temp),
                "GITHUB_OUTPUT": str(output),
                "GITHUB_STEP_SUMMARY": str(summary),
                **{k: v for k, v in os.environ.items() if k.startswith("PIP_")},
                **{k: evaluate(str(v), inputs, steps) for k, v in (step.get("env") or {}).items()},
            }
            script = run_dir / f"step-{len(steps)}.sh"
            script.write_text(evaluate(step["run"], inputs, steps), encoding="utf-8")
            proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], env=env, cwd=self.workspace, capture_output=True, text=True, timeout=600)
            assert "Traceback" not in proc.stderr, proc.stderr
            steps[step.get("id", f"step{len(steps)}")] = read_outputs(output)
            if step["name"].startswith("Install"):
                assert proc.returncode == 0, proc.stdout + proc.stderr
                self.installed = True
            else:
                code, log = proc.returncode, proc.stdout + proc.stderr
        outputs = {name: evaluate(spec["value"], inputs, steps) for name, spec in ACTION["outputs"].items()}
        return outputs, summary.read_text(encoding="utf-8"), code, log


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    return Runner(tmp_path_factory.mktemp("runner"))


def test_the_action_against_a_broken_and_a_correct_server(runner):
    with serve_asgi(lambda base: build_broken_app(base, Faults(no_pkce=True))) as base:
        broken = base + "/api/mcp"
        outputs, summary, code, log = runner.run(server=broken)
    assert code == 1 and outputs["exit-code"] == "1", log  # the step fails the job on a FAIL
    assert int(outputs["failures"]) >= 1 and outputs["new"] == ""
    sarif = json.loads(Path(outputs["sarif"]).read_text(encoding="utf-8"))
    pkce = next(r for r in sarif["runs"][0]["results"] if r["ruleId"] == "as.pkce")
    assert pkce["level"] == "error" and pkce["properties"]["server"] == broken
    rule = next(r for r in sarif["runs"][0]["tool"]["driver"]["rules"] if r["id"] == "as.pkce")
    assert rule["helpUri"] == "https://github.com/acme/atoms-auth/blob/v1/docs/checks.md#authorization-server"
    assert outputs["report"] == outputs["sarif"]
    assert "as.pkce" in summary and "atoms-auth doctor" in summary  # the Markdown report in the job summary
    assert Path(outputs["markdown"]).read_text(encoding="utf-8") in summary
    assert json.loads(Path(outputs["json"]).read_text(encoding="utf-8"))["target"]["server"] == broken
    assert Path(outputs["bundle"]).exists()

    # the same server with its JSON report as the baseline: nothing new, the step passes
    baseline = runner.workspace / "baseline.json"
    baseline.write_text(Path(outputs["json"]).read_text(encoding="utf-8"), encoding="utf-8")
    with serve_asgi(lambda base: build_broken_app(base, Faults(no_pkce=True))) as base2:
        # a new port is a new server URL: rewrite the baseline to it, as the same deployment checked again
        baseline.write_text(baseline.read_text(encoding="utf-8").replace(base, base2), encoding="utf-8")
        outputs, summary, code, log = runner.run(server=base2 + "/api/mcp", baseline=str(baseline), format="json")
    assert code == 0 and outputs["new"] == "0", log
    assert outputs["report"] == outputs["json"] and "Since the baseline" in summary


def test_a_correct_server_passes_and_fail_on_never_keeps_a_broken_one_green(runner):
    with serve_app() as (info, _app):
        outputs, summary, code, log = runner.run(servers=info.mcp_url, format="junit")
    assert code == 0 and outputs["exit-code"] == "0" and outputs["failures"] == "0", log
    assert outputs["report"].endswith("doctor.junit") and "<testsuites" in Path(outputs["report"]).read_text(encoding="utf-8")
    assert json.loads(Path(outputs["sarif"]).read_text(encoding="utf-8"))["runs"][0]["results"] == [] or all(
        r["level"] != "error" for r in json.loads(Path(outputs["sarif"]).read_text(encoding="utf-8"))["runs"][0]["results"]
    )
    with serve_asgi(lambda base: build_broken_app(base, Faults(no_pkce=True))) as base:
        outputs, _, code, log = runner.run(server=base + "/api/mcp", **{"fail-on": "never"})
    assert code == 0 and int(outputs["failures"]) >= 1, log
