"""Packaging metadata a user or a package index reads (issue #15 §13): the licence file matches the
declared licence, the package ships its type marker, the classifiers name the Pythons that
requires-python admits, and no URL points at a page that does not exist."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

import pytest

import authkit_mcp_cli
from authkit_mcp_cli import http

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_licence_file_matches_the_declared_licence() -> None:
    assert PYPROJECT["license"] == "MIT"
    assert PYPROJECT["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License")
    assert "Permission is hereby granted, free of charge" in text
    # the installed distribution carries the same expression
    assert importlib.metadata.metadata("authkit-mcp-cli")["License-Expression"] == "MIT"


def test_package_is_typed() -> None:
    assert (Path(authkit_mcp_cli.__file__).parent / "py.typed").is_file()
    assert "Typing :: Typed" in PYPROJECT["classifiers"]


def test_classifiers_name_every_supported_python_and_posix() -> None:
    minimum = re.fullmatch(r">=3\.(\d+)", PYPROJECT["requires-python"])
    assert minimum, PYPROJECT["requires-python"]
    versions = {c.rsplit(" :: ", 1)[1] for c in PYPROJECT["classifiers"] if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)}
    assert versions and min(versions, key=lambda v: int(v.split(".")[1])) == f"3.{minimum.group(1)}"
    assert "Operating System :: POSIX" in PYPROJECT["classifiers"]


def test_no_link_to_a_package_page_that_does_not_exist() -> None:
    # the distribution is not published: neither the metadata nor the User-Agent may send people there
    assert "pypi.org" not in http.USER_AGENT
    assert http.USER_AGENT.startswith(f"atoms-auth/{authkit_mcp_cli.__version__} ")
    for url in (PYPROJECT.get("urls") or {}).values():
        assert "pypi.org/project/authkit-mcp-cli" not in url


def test_make_demo_installs_no_test_or_lint_tools():
    """Issue #24 item 17: `make demo` installs atoms-auth and its runtime dependencies, not .[test]."""
    import shutil
    import subprocess
    from pathlib import Path

    if shutil.which("make") is None:
        pytest.fail("make is needed to read the Makefile's recipes")
    root = Path(__file__).resolve().parents[2]
    planned = subprocess.run(["make", "-n", "-B", "demo"], cwd=root, capture_output=True, text=True, timeout=60)
    assert planned.returncode == 0, planned.stderr
    installs = [line for line in planned.stdout.splitlines() if "pip install" in line]
    assert any(line.rstrip().endswith("-e .") for line in installs), planned.stdout
    for tool in ("[test]", "ruff", "mypy", "pytest", "hypothesis", "respx", "npm", "fastmcp"):
        assert tool not in planned.stdout, f"make demo would install {tool}"
