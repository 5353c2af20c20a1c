"""Local commands do no network and import little (issue #16 item 2): the
import graph (not the time) of `token show`, `logout` without a revocation
endpoint and `init --no-check`, each run in a fresh interpreter; the lazy
packages keep their functions; typer's coercion without pydantic still
refuses what it refused."""

from __future__ import annotations

import ast
import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from authkit_mcp_cli.client.session import Session
from authkit_mcp_cli.oauth.client_auth import ClientRegistration
from authkit_mcp_cli.oauth.token import Tokens
from authkit_mcp_cli.store import Store

ISSUER, RESOURCE = "https://auth.example.com", "https://mcp.example.com/api/mcp"
# nothing a file read needs: the HTTP stack, the MCP SDK, JWT and crypto, the servers, and typer's pydantic coercion
HEAVY = ["httpx", "httpx2", "httpcore", "anyio", "mcp", "jwt", "cryptography", "starlette", "uvicorn", "pydantic", "questionary", "asyncio"]
RUN_AND_LIST_MODULES = (
    "import sys\n"
    "sys.argv = ['atoms-auth', *sys.argv[1:]]\n"
    "from authkit_mcp_cli.cli import main\n"
    "try:\n    main()\nexcept SystemExit as exc:\n    code = exc.code\nelse:\n    code = 0\n"
    "print('MODULES', sorted(name for name, module in sys.modules.items() if module is not None))\n"  # None: an import blocked (cli.py: httpx._main)
    "sys.exit(code)\n"
)


def run_cli(args: list[str], home: Path, cwd: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATOMS_AUTH_", "FASTMCP_", "WORKOS_"))}
    env.update(ATOMS_AUTH_HOME=str(home), NO_COLOR="1")
    proc = subprocess.run([sys.executable, "-c", RUN_AND_LIST_MODULES, *args], capture_output=True, text=True, timeout=60, env=env, cwd=cwd, stdin=subprocess.DEVNULL)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("MODULES ")), None)
    assert line is not None, proc.stdout[-1000:] + proc.stderr[-2000:]
    modules = set(json.loads(line.removeprefix("MODULES ").replace("'", '"')))
    return proc, modules


def loaded(modules: set[str], names: list[str]) -> list[str]:
    return [n for n in names if n in modules or any(m.startswith(n + ".") for m in modules)]


def jwt_shaped(claims: dict) -> str:
    def part(doc: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(doc).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2ln"


def store_login(home: Path, metadata: dict | None = None) -> Path:
    token = jwt_shaped({"iss": ISSUER, "aud": RESOURCE, "sub": "user_1", "scope": "mcp:tools", "exp": int(time.time()) + 3600})
    session = Session(RESOURCE, RESOURCE, ISSUER, metadata or {"issuer": ISSUER, "token_endpoint": ISSUER + "/token"}, ClientRegistration("client-1"), Tokens(token, "Bearer", time.time() + 3600, refresh_token="refresh-1"))
    return Store(home).save_tokens(ISSUER, RESOURCE, session.to_record())


def test_token_show_reads_the_store_without_the_http_stack(tmp_path):
    store_login(tmp_path / "home")
    for args in (["token", "show"], ["token", "show", "--json"], ["token", "show", "--server", RESOURCE]):
        proc, modules = run_cli(args, tmp_path / "home", tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert loaded(modules, HEAVY) == [], args
        assert "rich" not in modules, args  # a dozen labelled lines: commands._render writes them itself
    assert "user_1" in proc.stdout and "mcp:tools" in proc.stdout  # the claims, decoded for display
    proc, _ = run_cli(["token", "show", "--json"], tmp_path / "home", tmp_path)
    doc = json.loads(proc.stdout[: proc.stdout.index("MODULES ")])
    assert doc["claims"]["sub"] == "user_1" and doc["access_token_format"] == "JWT" and doc["problems"] == []


def test_logout_without_a_revocation_endpoint_sends_nothing_and_forgets(tmp_path):
    path = store_login(tmp_path / "home")
    proc, modules = run_cli(["logout"], tmp_path / "home", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert loaded(modules, HEAVY) == []
    assert "the AS offers no revocation endpoint" in proc.stdout and "stored tokens deleted" in proc.stdout
    assert not path.exists()
    proc, modules = run_cli(["logout", "--all", "--json"], tmp_path / "home", tmp_path)
    assert proc.returncode == 0 and loaded(modules, HEAVY) == []
    assert "No stored logins." in proc.stdout


def test_logout_with_a_revocation_endpoint_still_asks_the_as(tmp_path):
    """The light path is only for nothing to send: an AS with a revocation endpoint gets the request
    (here nobody listens on port 9: the token is reported not revoked and forgotten anyway)."""
    path = store_login(tmp_path / "home", {"issuer": ISSUER, "token_endpoint": ISSUER + "/token", "revocation_endpoint": "http://127.0.0.1:9/revoke"})
    proc, modules = run_cli(["logout", "--timeout", "2"], tmp_path / "home", tmp_path)
    assert "httpx" in modules
    assert proc.returncode == 1 and "could not reach the AS" in proc.stdout
    assert not path.exists()


def test_init_no_check_writes_without_the_http_stack(tmp_path):
    out = tmp_path / "x.env"
    args = ["init", "--authkit-domain", "https://acme.authkit.app", "--base-url", "https://mcp.example.com", "--path", "/api/mcp", "--scopes", "", "--no-check", "--output", str(out)]
    proc, modules = run_cli(args, tmp_path / "home", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert loaded(modules, HEAVY) == []
    assert "FASTMCP_SERVER_AUTH_AUTHKITPROVIDER_AUTHKIT_DOMAIN=https://acme.authkit.app" in out.read_text()
    assert proc.stdout.startswith(f"wrote {out}")


def test_subpackages_are_plain():
    """Issue #21: a subpackage's __init__ is its docstring only; names are imported from the module that
    defines them, so importing a package loads nothing else (no lazy re-exports to learn)."""
    code = "import sys\nimport authkit_mcp_cli.client, authkit_mcp_cli.oauth, authkit_mcp_cli.client.grants, authkit_mcp_cli.server.local_as\nprint(sorted(m for m in sys.modules if m.startswith(('authkit_mcp_cli.client.', 'authkit_mcp_cli.oauth.', 'authkit_mcp_cli.server.local_as.')) and m != 'authkit_mcp_cli.client.grants'))\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "[]", proc.stdout + proc.stderr
    for package in ("client", "oauth", "client/grants", "server/local_as", "checks", "reports", "commands", "agent", "seams"):
        init = Path(__file__).resolve().parents[2] / "src" / "authkit_mcp_cli" / package / "__init__.py"
        body = [n for n in ast.parse(init.read_text()).body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
        assert body == [] or all(isinstance(n, ast.ImportFrom) and n.module == "__future__" for n in body), package


def test_option_values_typer_refused_are_still_refused(tmp_path):
    """commands._coercion passes through only what typer's adapter would return unchanged."""
    from typer.testing import CliRunner

    from authkit_mcp_cli.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["logout", "--timeout", "soon"], env={"ATOMS_AUTH_HOME": str(tmp_path)})
    assert result.exit_code == 2 and "--timeout" in result.output and "valid number" in result.output
    result = runner.invoke(app, ["logout", "--timeout", "0"], env={"ATOMS_AUTH_HOME": str(tmp_path)})
    assert result.exit_code == 2 and "--timeout" in result.output  # min=0.1
    result = runner.invoke(app, ["logout", "--timeout", "2.5", "--json"], env={"ATOMS_AUTH_HOME": str(tmp_path)})
    assert result.exit_code == 0 and json.loads(result.output)["ok"] is True
    # a Literal choice: exactly one of its strings passes as it is; anything else still goes to typer's check
    result = runner.invoke(app, ["doctor", "--list-checks", "--format", "JSON"])
    assert result.exit_code == 2 and "'JSON' is not one of" in result.output
    result = runner.invoke(app, ["doctor", "--list-checks", "--format", "json"])
    assert result.exit_code == 0 and json.loads(result.output)["checks"]


def test_forget_leaves_a_login_whose_as_can_revoke_to_logout(tmp_path):
    """forget() is only for nothing to send: a stored record naming a revocation endpoint (as re-read
    under the lock) is left for logout(), which asks the AS (RFC 7009)."""
    from authkit_mcp_cli.client.logout import forget
    from authkit_mcp_cli.commands._client import LocalContext

    store = Store(tmp_path / "home")
    path = store_login(tmp_path / "home")
    local = LocalContext(store)
    (stale,) = [Session.from_record(d) for _, d in store.all_tokens()]
    store_login(tmp_path / "home", {"issuer": ISSUER, "token_endpoint": ISSUER + "/token", "revocation_endpoint": ISSUER + "/revoke"})  # another process logged in again
    assert forget(local, stale) is None and path.exists()
    store_login(tmp_path / "home")
    result = forget(local, stale)
    assert result is not None and result.ok and result.forgotten and not path.exists()
    assert [r.outcome for r in result.revocations] == ["not-possible", "not-possible"]  # refresh token first (RFC 7009 §2.1)


def test_plain_lines_style_only_a_terminal_and_escape_controls(monkeypatch):
    import io

    from authkit_mcp_cli.commands._render import print_line

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    for name in ("NO_COLOR", "FORCE_COLOR", "TERM"):
        monkeypatch.delenv(name, raising=False)
    out = Tty()
    print_line("name  a\x1b[2Jb", bold=4, stream=out)
    assert out.getvalue() == "\x1b[1mname\x1b[0m  a\\x1b[2Jb\n"  # a remote's ESC is shown, never obeyed
    for env in ({"NO_COLOR": "1"}, {"TERM": "dumb"}):
        with monkeypatch.context() as m:
            for k, v in env.items():
                m.setenv(k, v)
            out = Tty()
            print_line("name  x", bold=4, stream=out)
            assert out.getvalue() == "name  x\n"
    pipe = io.StringIO()
    print_line("name  x", bold=4, stream=pipe)
    assert pipe.getvalue() == "name  x\n"
    monkeypatch.setenv("FORCE_COLOR", "1")
    pipe = io.StringIO()
    print_line("name  x", bold=4, stream=pipe)
    assert pipe.getvalue().startswith("\x1b[1mname")


def test_the_http_client_is_built_only_when_used():
    import asyncio

    from authkit_mcp_cli.commands._client import client_context
    from authkit_mcp_cli.commands.options import HttpOptions

    async def unused():
        async with client_context(HttpOptions(timeout=5), quiet=True) as ctx:
            return ctx.client

    lazy = asyncio.run(unused())
    assert lazy._client is None  # nothing sent: no transport, no TLS context

    async def used():
        async with client_context(HttpOptions(timeout=5), quiet=True) as ctx:
            assert ctx.client.timeout.read == 5  # any attribute builds the httpx client
            return ctx.client

    lazy = asyncio.run(used())
    assert lazy._client is not None and lazy._client.is_closed
