"""`call` with a stored token the server accepts (issue #16 item 2): one
request through the MCP SDK, and nothing of login, refresh, discovery, DPoP
(pyjwt) or httpx's own CLI loaded. Against `atoms-auth serve` guarding its
endpoint for a loopback AS whose keys the test holds; the import graph, not
the time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from authkit_mcp_cli.client.session import Session
from authkit_mcp_cli.oauth.client_auth import ClientRegistration
from authkit_mcp_cli.oauth.token import Tokens
from authkit_mcp_cli.store import Store
from peers.asgi import serve_asgi
from peers.key_as import KeyAS
from peers.streams import LineReader

pytestmark = pytest.mark.integration
ATOMS_AUTH = str(Path(sys.executable).parent / "atoms-auth")
NOT_NEEDED = ["jwt", "authkit_mcp_cli.client.login", "authkit_mcp_cli.client.refresh", "authkit_mcp_cli.client.grants", "authkit_mcp_cli.discovery", "authkit_mcp_cli.oauth.dpop", "pygments", "httpx", "rich"]  # click: uvicorn's, which the SDK loads
RUN_AND_LIST_MODULES = (
    "import sys\n"
    "sys.argv = ['atoms-auth', *sys.argv[1:]]\n"
    "from authkit_mcp_cli.cli import main\n"
    "try:\n    main()\nexcept SystemExit as exc:\n    code = exc.code\nelse:\n    code = 0\n"
    "print('MODULES', sorted(name for name, module in sys.modules.items() if module is not None))\n"
    "sys.exit(code)\n"
)


def test_call_with_an_accepted_stored_token_loads_no_login_machinery(tmp_path):
    key_as = KeyAS()
    key_as.add_key("k1")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATOMS_AUTH_", "FASTMCP_", "WORKOS_"))}
    with serve_asgi(key_as.app) as issuer:
        # port 0: serve binds and says where (no port picked here that another process could take first)
        proc = subprocess.Popen([ATOMS_AUTH, "serve", "--port", "0", "--authkit-domain", issuer, "--stateless", "--log-level", "warning"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        try:
            stderr = LineReader(proc.stderr)  # type: ignore[arg-type]
            found = stderr.wait_for(r"Check it:\s+atoms-auth doctor --server (\S+)", timeout=60)
            assert found, f"serve did not start: {stderr.text}"
            url = found.group(1)
            token = key_as.token(key_as.claims(url, scope="", exp=int(time.time()) + 600))
            session = Session(url, url, issuer, {"issuer": issuer, "token_endpoint": issuer + "/oauth2/token"}, ClientRegistration("client-1"), Tokens(token, "Bearer", time.time() + 600))
            Store(tmp_path / "home").save_tokens(issuer, url, session.to_record())
            runs = [
                subprocess.run(
                    [sys.executable, "-c", RUN_AND_LIST_MODULES, "call", "--server", url, *extra],
                    capture_output=True, text=True, timeout=120, cwd=tmp_path, env={**env, "ATOMS_AUTH_HOME": str(tmp_path / "home"), "NO_COLOR": "1"},
                )
                for extra in (["--json"], [])
            ]
        finally:
            proc.terminate()
            proc.wait(15)
    outputs = []
    for run in runs:
        assert run.returncode == 0, run.stderr
        output, _, modules_line = run.stdout.partition("MODULES ")
        outputs.append(output)
        modules = set(json.loads(modules_line.replace("'", '"')))
        assert "mcp" in modules  # the request went through the SDK
        assert [m for m in NOT_NEEDED if m in modules] == []
    assert {t["name"] for t in json.loads(outputs[0])["tools"]} == {"whoami", "admin_echo"}
    assert outputs[1].splitlines()[0].startswith("whoami  Who the verified bearer token says you are")
