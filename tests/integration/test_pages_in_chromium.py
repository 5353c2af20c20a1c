"""The HTML pages in a real browser: Debian's Chromium, headless, driven by
playwright-core, acting as BROWSER for `atoms-auth login` against serve's
development AS (consent page) and atoms-auth's own callback page."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from authkit_mcp_cli.server.config import LOCAL_ADMIN_SCOPE, LOCAL_REQUIRED_SCOPES, ServeConfig
from authkit_mcp_cli.server.runner import serve_in_thread

pytestmark = pytest.mark.integration
NODE_DIR = Path(__file__).resolve().parents[1] / "node"
CHROMIUM_BROWSER = NODE_DIR / "chromium-browser"


@pytest.fixture
def chromium_env(tmp_path):
    chromium = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not Path(chromium).exists():
        pytest.fail(f"{chromium} is missing: `make test` installs Debian's chromium (apt-get install chromium).")
    if not (NODE_DIR / "node_modules" / "playwright-core").exists():
        pytest.fail("tests/node/node_modules/playwright-core is missing: run `make test`.")
    shots = tmp_path / "shots"
    shots.mkdir()
    return {
        **os.environ,
        "BROWSER": str(CHROMIUM_BROWSER),
        "BROWSER_SCREENSHOT_DIR": str(shots),
        "BROWSER_TEXT_LOG": str(tmp_path / "pages.txt"),
        "ATOMS_AUTH_HOME": str(tmp_path / "home"),
        "NO_COLOR": "1",
    }


def login(url: str, env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "login", "--server", url, "--timeout", "60", "--no-verify"], capture_output=True, text=True, timeout=120, env=env, cwd=cwd)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


@pytest.mark.parametrize("decision", ["approve", "deny"])
def test_consent_and_callback_pages_in_chromium(chromium_env, tmp_path, decision):
    cfg = ServeConfig(port=0, required_scopes=LOCAL_REQUIRED_SCOPES, admin_scope=LOCAL_ADMIN_SCOPE, auto_approve=False)
    with serve_in_thread(cfg) as info:
        proc = login(info.mcp_url, {**chromium_env, "BROWSER_DECISION": decision}, tmp_path)
    pages = (tmp_path / "pages.txt").read_text()
    consent, _, callback = pages.partition("--- callback")
    assert "DEVELOPMENT authorization server" in consent and "Sign in to the local MCP server" in consent
    assert "atoms-auth" in consent and "dev@atoms-auth.local" in consent and "mcp:tools" in consent
    width, height = png_size(tmp_path / "shots" / "consent.png")
    assert width >= 800 and height >= 400
    assert (tmp_path / "shots" / "consent.png").stat().st_size > 20_000  # rendered text and styles, not a blank page
    if decision == "approve":
        assert proc.returncode == 0, proc.stderr
        assert "Signed in" in callback
    else:
        assert proc.returncode == 5, proc.stderr
        assert "access_denied" in proc.stderr and "Traceback" not in proc.stderr
        assert "Sign-in failed" in callback and "access_denied" in callback


def test_chromium_browser_wrapper_is_executable():
    assert os.access(CHROMIUM_BROWSER, os.X_OK)
    assert shutil.which("bash")


def test_demo_interactive_uses_the_real_browser(chromium_env, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "demo", "--interactive", "--json"], capture_output=True, text=True, timeout=180, env=chromium_env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "in your browser" in proc.stdout
    assert "Sign in to the local MCP server" in (tmp_path / "pages.txt").read_text()
