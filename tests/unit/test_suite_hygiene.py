"""The suite's own promises (issue #28): a hung test fails the run within its timeout instead of
hanging it."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_every_test_has_a_timeout_and_a_hang_fails_within_it(tmp_path):
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert 60 <= int(options["timeout"]) <= 600, options.get("timeout")
    (tmp_path / "test_hang.py").write_text("import time\n\ndef test_hangs():\n    time.sleep(600)\n")
    # the project's own configuration, with the timeout shortened: the plugin is installed and acts
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path), "-p", "no:cacheprovider", "-p", "no:xdist", "-o", "timeout=2", str(tmp_path / "test_hang.py")],
        capture_output=True, text=True, timeout=280, cwd=tmp_path,  # the test sleeps 600 s: only the plugin ends it sooner
    )
    assert proc.returncode == 1 and "Timeout (>2.0s)" in proc.stdout, proc.stdout[-2000:] + proc.stderr[-2000:]


def _modules(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / "tests" / folder).glob("test_*.py"))


def _module_marks(path: Path) -> set[str]:
    """The marks of the module-level ``pytestmark`` (a mark or a list of marks)."""
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    marks: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets):
            for sub in ast.walk(node.value):
                if isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Attribute) and sub.value.attr == "mark":
                    marks.add(sub.attr)
    return marks


def test_every_module_that_starts_real_servers_carries_the_integration_mark():
    modules = _modules("integration", "conformance")
    assert len(modules) > 40
    unmarked = [p.name for p in modules if "integration" not in _module_marks(p)]
    assert unmarked == [], f"add pytestmark = pytest.mark.integration to {unmarked}"


def test_no_test_starts_serve_on_a_public_interface():
    """serve's --host is loopback in every test: 0.0.0.0 or :: may appear only as data (refusals, parsing)."""
    import re

    offenders = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        if "node_modules" in path.parts:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"start_serve\(.*\"--host\", \"(0\.0\.0\.0|::)\"|serve_in_thread\(.*host=\"(0\.0\.0\.0|::)\"|ServeConfig\(.*host=\"(0\.0\.0\.0|::)\"", line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}")
    assert offenders == []


def _security_rows(where: str) -> list[str]:
    """The rows of the security table: the README's one-line summary, or docs/security.md's full statements."""
    text = (ROOT / where).read_text(encoding="utf-8")
    section = text.split("# Security: what is promised, and how it is tested", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("| ") and not line.startswith(("| promise |", "|---"))]


@pytest.mark.parametrize(("where", "at_least"), [("README.md", 15), ("docs/security.md", 30)])
def test_the_security_table_names_tests_that_exist_for_every_promise(where, at_least):
    """Each row of the security tables (README's summary, docs/security.md's full statements) names at least
    one test module, and every module and test function it names exists (``file.py::test_x``, ``::test_x``
    and a bare ``test_x`` after a file)."""
    import re

    test_files = {p.name: p for p in (ROOT / "tests").rglob("test_*.py") if "node_modules" not in p.parts}
    rows = _security_rows(where)
    assert len(rows) >= at_least
    missing = []
    for row in rows:
        tested = row.rsplit(" | ", 1)[1]
        current: Path | None = None
        named = 0
        for token in re.findall(r"`([^`]+)`", tested):
            match = re.fullmatch(r"(?:tests/\w+/)?(test_\w+\.py)(?:::(test_\w+))?|(?:::)?(test_\w+)", token)
            if not match:
                continue
            module, function, bare = match.groups()
            if module:
                current = test_files.get(module)
                if current is None:
                    missing.append(f"{module} (no such test module)")
                    continue
                named += 1
            function = function or bare
            if function:
                if current is None or f"def {function}(" not in current.read_text(encoding="utf-8"):
                    missing.append(f"{function} (not in {current.name if current else 'any module named before it'})")
        if not named:
            missing.append(f"a row names no test module: {row[:80]}")
    assert missing == []
