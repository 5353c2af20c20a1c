import sys
from pathlib import Path

import pytest

# tests/peers is a helper package, importable from every test module
sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    """No test reads the developer's real .env, environment or token store."""
    for name in list(__import__("os").environ):
        if name.startswith(("FASTMCP_", "ATOMS_", "WORKOS_")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ATOMS_AUTH_HOME", str(tmp_path / "atoms-home"))
    monkeypatch.chdir(tmp_path)
