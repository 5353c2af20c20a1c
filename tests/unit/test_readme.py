"""The README documents the public contract: every check id and exit code."""

from pathlib import Path

from authkit_mcp_cli.checks import CATALOGUE
from authkit_mcp_cli.errors import ExitCode

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_check_id_is_documented_with_its_level():
    for check in CATALOGUE:
        row = next((line for line in README.splitlines() if line.startswith(f"| `{check.id}` |")), None)
        assert row is not None, f"{check.id} is not in the README's catalogue"
        assert check.level.value in row, f"{check.id}: README level differs from {check.level.value}"


def test_every_exit_code_is_documented():
    for name, code in vars(ExitCode).items():
        if not name.startswith("_"):
            assert f"| {code} |" in README, name


def test_quick_start_has_the_test_command():
    assert "make test" in README
