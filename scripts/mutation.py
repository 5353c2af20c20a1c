"""Mutation testing of the security-critical modules (issue #28 item 2): ``make mutation``.

For each module, mutmut (PyPI) mutates that one file and runs the tests named for it (unit tests
and the loopback integration tests that need no Node peer), in a scratch copy under
build/mutation/<module>/, so the project's own tree and pyproject stay as they are. The score per
module (killed / (killed + survived); mutants that time out count as killed, as mutmut counts them)
goes to docs/mutation.md, the survivors to docs/mutation-survivors.md, where each is killed by a new
test or explained. Not part of `make test`: a module takes minutes to hours on a 2-core machine.

    python scripts/mutation.py                 # every module
    python scripts/mutation.py capped redact   # some of them
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "src/authkit_mcp_cli"
WORK = ROOT / "build" / "mutation"
SCORES = ROOT / "docs" / "mutation.md"
SURVIVORS = ROOT / "docs" / "mutation-survivors.md"
TARGET = 90.0  # per module, percent (README security section)

U, INT = "tests/unit/", "tests/integration/"
# module (under src/authkit_mcp_cli) -> the tests that exercise it
MODULES: dict[str, tuple[str, list[str]]] = {
    "verifier": ("server/verifier.py", [U + "test_jwk_and_forgeries.py", U + "test_serve_token_fuzz.py", INT + "test_serve_security.py"]),
    "dpop_proof": ("server/dpop_proof.py", [U + "test_dpop_proof.py"]),
    "limits": ("server/limits.py", [INT + "test_serve_limits.py", INT + "test_serve_body_limits.py"]),
    "cimd": ("server/local_as/cimd.py", [U + "test_cimd_fetch.py", U + "test_redirect_uris.py"]),
    "redirect_uris": ("server/local_as/redirect_uris.py", [U + "test_redirect_uris.py", U + "test_local_as.py", U + "test_local_as_grant_rules.py"]),
    "same_origin": ("server/local_as/same_origin.py", [INT + "test_serve_attacks.py", INT + "test_local_as_hardening.py"]),
    "device": ("server/local_as/device.py", [U + "test_local_as_grant_rules.py", INT + "test_local_as_hardening.py"]),
    "redact": ("redact.py", [U + "test_urls_config_redact.py", U + "test_login_checks.py"]),
    "safe_text": ("safe_text.py", [U + "test_safe_text.py", U + "test_console.py", U + "test_client_hardening.py"]),
    "store": ("store.py", [U + "test_loopback_and_store.py", U + "test_issuer_binding.py", U + "test_local_commands.py"]),
    "capped": ("capped.py", [U + "test_base64url_and_caps.py", U + "test_exchange_limits.py", U + "test_cimd_fetch.py"]),
    "http": ("http.py", [U + "test_exchange_limits.py", U + "test_discovery_rules.py", U + "test_doctor_probes.py", U + "test_retry_policy.py"]),
}


def scratch(name: str, source: str, tests: list[str]) -> Path:
    """build/mutation/<name>: the package, the tests (without tests/node) and a pyproject with [tool.mutmut]."""
    work = WORK / name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    shutil.copytree(ROOT / "src", work / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "tests", work / "tests", ignore=shutil.ignore_patterns("node", "__pycache__"))
    selection = ", ".join(f'"{t}"' for t in tests)
    config = (ROOT / "pyproject.toml").read_text(encoding="utf-8") + f"""
[tool.mutmut]
source_paths = ["src/authkit_mcp_cli"]
only_mutate = ["{PACKAGE}/{source}"]
pytest_add_cli_args_test_selection = [{selection}]
pytest_add_cli_args = ["-p", "no:cacheprovider", "-p", "no:xdist", "-q", "-x"]
"""
    (work / "pyproject.toml").write_text(config, encoding="utf-8")
    return work


def run(name: str, max_children: int) -> dict[str, object]:
    source, tests = MODULES[name]
    work = scratch(name, source, tests)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # mutmut puts mutants/src first itself
    mutmut = [sys.executable, "-m", "mutmut"]
    started = datetime.datetime.now(datetime.UTC)
    log = (work / "run.log").open("w")
    subprocess.run([*mutmut, "run", "--max-children", str(max_children)], cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
    seconds = (datetime.datetime.now(datetime.UTC) - started).total_seconds()
    results = subprocess.run([*mutmut, "results", "--all", "true"], cwd=work, env=env, capture_output=True, text=True, check=False).stdout
    counts: dict[str, int] = {}
    survivors: list[tuple[str, str]] = []
    for line in results.splitlines():
        match = re.match(r"\s*(\S+__mutmut_\d+): (.+)$", line)
        if not match:
            continue
        mutant, status = match.group(1), match.group(2).strip()
        counts[status] = counts.get(status, 0) + 1
        if status == "survived":
            diff = subprocess.run([*mutmut, "show", mutant], cwd=work, env=env, capture_output=True, text=True, check=False).stdout
            survivors.append((mutant, diff))
    killed = counts.get("killed", 0) + counts.get("timeout", 0)
    judged = killed + counts.get("survived", 0)
    score = 100.0 * killed / judged if judged else 0.0
    return {"name": name, "source": source, "tests": tests, "counts": counts, "score": score, "judged": judged, "seconds": seconds, "survivors": survivors}


def write(reports: list[dict[str, object]]) -> None:
    """Replace these modules' rows in docs/mutation.md and their sections in docs/mutation-survivors.md."""
    rows = _table_rows(SCORES)
    for r in reports:
        counts = r["counts"]
        assert isinstance(counts, dict)
        other = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if k not in ("killed", "survived", "timeout")) or "-"
        rows[str(r["name"])] = (
            f"| {r['name']} | `{r['source']}` | {r['score']:.1f}% | {counts.get('killed', 0)} | {counts.get('timeout', 0)} | {counts.get('survived', 0)} | {other} | "
            f"{float(r['seconds']) / 60:.0f} min | {datetime.date.today().isoformat()} |"  # type: ignore[arg-type]
        )
    head = (
        "# Mutation scores\n\n"
        f"Written by `make mutation` (scripts/mutation.py, mutmut). Score = killed (timeouts included) / (killed + survived); "
        f"the target is {TARGET:.0f}% per module. Survivors, each killed by a test or explained: [mutation-survivors.md](mutation-survivors.md).\n"
        "Modules not in the table have not been run yet on this machine.\n\n"
        "| module | file | score | killed | timeout | survived | other | time | run |\n|---|---|---|---|---|---|---|---|---|\n"
    )
    SCORES.write_text(head + "\n".join(rows[k] for k in sorted(rows)) + "\n", encoding="utf-8")
    sections = _sections(SURVIVORS)
    for r in reports:
        survivors = r["survivors"]
        assert isinstance(survivors, list)
        body = "".join(f"### {m}\n\n```diff\n{d.strip()}\n```\n\nWhy it survives: (to explain, or kill with a test)\n\n" for m, d in survivors) or "None.\n\n"
        sections[str(r["name"])] = f"## {r['name']} (`{r['source']}`)\n\n{body}"
    SURVIVORS.write_text("# Surviving mutants\n\nEach is killed by a new test or explained here (`make mutation` rewrites a module's section when it runs).\n\n" + "".join(sections[k] for k in sorted(sections)), encoding="utf-8")


def _table_rows(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    return {line.split("|")[1].strip(): line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("| ") and not line.startswith("| module ")}


def _sections(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    parts = re.split(r"(?m)^(?=## )", path.read_text(encoding="utf-8"))
    return {p.split()[1]: p for p in parts if p.startswith("## ")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", choices=[*MODULES, []], help="modules to run (default: all)")
    parser.add_argument("--max-children", type=int, default=2, help="mutants tested at once (default 2: this machine has 2 cores)")
    args = parser.parse_args()
    reports = []
    for name in args.modules or list(MODULES):
        print(f"mutation: {name} ...", flush=True)
        report = run(name, args.max_children)
        print(f"mutation: {name}: {report['score']:.1f}% of {report['judged']} ({report['counts']})", flush=True)
        reports.append(report)
        write([report])  # after each module: a long run that is stopped keeps what it did
    below = [r["name"] for r in reports if float(r["score"]) < TARGET]  # type: ignore[arg-type]
    if below:
        print(f"mutation: below {TARGET:.0f}%: {', '.join(map(str, below))}", file=sys.stderr)
    return 1 if below else 0


if __name__ == "__main__":
    sys.exit(main())
