"""The documentation covers the public contract: every check id (docs/checks.md) and exit code (README)."""

from pathlib import Path

from authkit_mcp_cli.checks.catalogue import CATALOGUE
from authkit_mcp_cli.errors import ExitCode

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
CHECKS = (ROOT / "docs" / "checks.md").read_text()


def test_every_check_id_is_documented_with_its_level():
    for check in CATALOGUE:
        row = next((line for line in CHECKS.splitlines() if line.startswith(f"| `{check.id}` |")), None)
        assert row is not None, f"{check.id} is not in docs/checks.md"
        assert check.level.value in row, f"{check.id}: docs/checks.md level differs from {check.level.value}"


def test_every_exit_code_is_documented():
    for name, code in vars(ExitCode).items():
        if not name.startswith("_"):
            assert f"| {code} |" in README, name


def test_quick_start_has_the_test_command():
    assert "make test" in README


def test_the_readme_links_only_to_docs_that_exist():
    import re

    for target in re.findall(r"\]\(((?:docs/)?[\w./-]+\.md)(?:#[\w-]+)?\)", README):
        assert (ROOT / target).is_file(), target


def test_the_readme_stays_short():
    """Issue #21: the first screen and the command sections; everything else links to docs/ (at most 30 KB)."""
    assert len(README.encode("utf-8")) <= 30_000
