#!/usr/bin/env python3
"""Start-up, in one run, side by side (best of N rounds; each round runs every
command once, so drift on a shared machine hits them alike; the minimum is the
least noisy estimate of the cost itself).

1. `atoms-auth --help` and `--version` against the framework's floor,
   `python -c "import typer, rich.console"`. Target: within 1.3x.
2. Local commands against `atoms-auth --help` (issue #16 item 2), target
   within 1.3x each: `token show` (a stored login this script writes through
   the library's store API into a temporary ATOMS_AUTH_HOME), `logout` of a
   login whose AS metadata has no revocation endpoint (written again before
   each run, untimed), `init --no-check` with every flag and no terminal, and
   `doctor --list-checks`.
3. `call` with a stored token against a local MCP server (`atoms-auth serve
   --stateless` for a loopback AS whose keys this script holds) against a
   script that imports the MCP client modules call uses (the SDK's Client,
   its streamable HTTP transport, httpx2) and makes the same request: one
   tools/list, same wire mode. Target: within 1.2x.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))
from serve_throughput import free_port, wait_listening  # noqa: E402  (one copy of the port helpers, as memory.py)

BIN = Path(sys.executable).parent
ATOMS_AUTH = str(BIN / "atoms-auth")
FLOOR_TARGET = 1.3  # --help and --version against typer + rich
LOCAL_TARGET = 1.3  # local commands against --help
CALL_TARGET = 1.2  # call against the bare SDK client doing the same request

# What `call` imports to talk to the server, and the same request: the reference for target 3.
SDK_CALL = """
import sys
import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

async def main(url, token):
    async with httpx2.AsyncClient(headers={"Authorization": "Bearer " + token}, follow_redirects=True) as http:
        async with Client(streamable_http_client(url, http_client=http), mode="auto") as client:
            tools = (await client.list_tools()).tools
    for tool in tools:
        print(tool.name, tool.description)

anyio.run(main, sys.argv[1], sys.argv[2])
"""


class Timed:
    """A command, and what must happen (untimed) before each run of it."""

    def __init__(self, cmd: list[str], *, env: dict[str, str] | None = None, before: Callable[[], None] | None = None) -> None:
        self.cmd, self.env, self.before = cmd, env, before
        self.best = float("inf")

    def run(self) -> None:
        if self.before:
            self.before()
        started = time.perf_counter()
        proc = subprocess.run(self.cmd, stdin=subprocess.DEVNULL, capture_output=True, env=self.env)
        elapsed = time.perf_counter() - started
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(self.cmd)} failed ({proc.returncode}): {proc.stdout.decode()[-500:]}{proc.stderr.decode()[-1500:]}")
        self.best = min(self.best, elapsed)


def rounds(timed: dict[str, Timed], runs: int) -> None:
    for _ in range(runs):
        for t in timed.values():
            t.run()


def store_login(home: Path, *, issuer: str, resource: str, token: str, metadata: dict | None = None) -> None:
    """A stored login, written as `login` writes one: the library's store API."""
    from authkit_mcp_cli.client.session import Session
    from authkit_mcp_cli.oauth.client_auth import ClientRegistration
    from authkit_mcp_cli.oauth.token import Tokens
    from authkit_mcp_cli.store import Store

    session = Session(resource, resource, issuer, metadata or {"issuer": issuer, "token_endpoint": issuer + "/token"}, ClientRegistration("bench-client"), Tokens(token, "Bearer", time.time() + 3600, refresh_token="bench-refresh"))
    Store(home).save_tokens(issuer, resource, session.to_record())


def unsigned_jwt(claims: dict) -> str:
    """A JWT-shaped token: token show decodes its claims for display, unverified."""
    import base64
    import json

    def part(doc: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(doc).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def local_commands(tmp: Path, env: dict[str, str]) -> dict[str, Timed]:
    issuer, resource = "https://auth.example.com", "https://mcp.example.com/api/mcp"
    token = unsigned_jwt({"iss": issuer, "aud": resource, "sub": "user_1", "scope": "mcp:tools", "exp": int(time.time()) + 3600})
    shown, gone = tmp / "home-show", tmp / "home-logout"
    store_login(shown, issuer=issuer, resource=resource, token=token)
    env_file = tmp / "bench.env"
    init = [ATOMS_AUTH, "init", "--authkit-domain", "https://bench.authkit.app", "--base-url", "https://mcp.example.com", "--path", "/api/mcp", "--scopes", "", "--no-check", "--output", str(env_file)]
    return {
        "token show": Timed([ATOMS_AUTH, "token", "show"], env={**env, "ATOMS_AUTH_HOME": str(shown)}),
        "logout (no revocation endpoint)": Timed([ATOMS_AUTH, "logout"], env={**env, "ATOMS_AUTH_HOME": str(gone)}, before=lambda: store_login(gone, issuer=issuer, resource=resource, token=token)),
        "init --no-check": Timed(init, env=env, before=lambda: env_file.unlink(missing_ok=True)),
        "doctor --list-checks": Timed([ATOMS_AUTH, "doctor", "--list-checks"], env=env),
    }


def call_commands(tmp: Path, env: dict[str, str], runs: int) -> dict[str, float]:
    """target 3: `atoms-auth call` with a stored token, and the bare SDK client, against one serve."""
    from peers.asgi import serve_asgi
    from peers.key_as import KeyAS

    key_as = KeyAS()
    key_as.add_key("k1")
    with serve_asgi(key_as.app) as issuer:
        port = free_port()
        proc = subprocess.Popen([ATOMS_AUTH, "serve", "--port", str(port), "--authkit-domain", issuer, "--stateless", "--log-level", "warning"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        try:
            wait_listening(port, proc)
            url = f"http://127.0.0.1:{port}/api/mcp"
            token = key_as.token(key_as.claims(url, scope="", exp=int(time.time()) + 3600))
            home = tmp / "home-call"
            store_login(home, issuer=issuer, resource=url, token=token, metadata={"issuer": issuer, "token_endpoint": issuer + "/oauth2/token"})
            script = tmp / "sdk_call.py"
            script.write_text(SDK_CALL)
            timed = {
                "SDK client, one tools/list": Timed([sys.executable, str(script), url, token], env=env),
                "atoms-auth call (stored token)": Timed([ATOMS_AUTH, "call", "--server", url], env={**env, "ATOMS_AUTH_HOME": str(home)}),
            }
            for t in timed.values():
                t.run()  # warm-up: the server's first request loads its JWKS
            rounds(timed, runs)
            return {name: t.best for name, t in timed.items()}
        finally:
            proc.terminate()
            proc.wait(15)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--smoke", action="store_true", help="3 runs, no verdict")
    args = parser.parse_args()
    runs = 3 if args.smoke else args.runs
    with tempfile.TemporaryDirectory(prefix="atoms-auth-bench-") as tmpdir:
        tmp = Path(tmpdir)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ATOMS_AUTH_", "FASTMCP_", "WORKOS_"))}
        env.update(NO_COLOR="1", HOME=str(tmp))  # nothing from the user's environment, .env or store
        timed = {
            "floor (import typer, rich.console)": Timed([sys.executable, "-c", "import typer, rich.console"], env=env),
            "--help": Timed([ATOMS_AUTH, "--help"], env=env),
            "--version": Timed([ATOMS_AUTH, "--version"], env=env),
            **local_commands(tmp, env),
        }
        cwd = os.getcwd()
        os.chdir(tmp)  # no .env of the checkout's
        try:
            rounds(timed, runs)
        finally:
            os.chdir(cwd)
        called = call_commands(tmp, env, runs)
    best = {name: t.best for name, t in timed.items()}
    for name, seconds in {**best, **called}.items():
        print(f"{name:<36} {seconds * 1000:7.1f} ms")
    floor, help_ = best["floor (import typer, rich.console)"], best["--help"]
    ratios = {"--help/--version vs floor": (max(help_, best["--version"]) / floor, FLOOR_TARGET)}
    for name in ("token show", "logout (no revocation endpoint)", "init --no-check", "doctor --list-checks"):
        ratios[f"{name} vs --help"] = (best[name] / help_, LOCAL_TARGET)
    ratios["call vs SDK client"] = (called["atoms-auth call (stored token)"] / called["SDK client, one tools/list"], CALL_TARGET)
    for name, (ratio, target) in ratios.items():
        print(f"{name:<44} {ratio:5.2f} (target <= {target}){'' if ratio <= target else '  MISSED'}")
    met = all(ratio <= target for ratio, target in ratios.values())
    print("ratio: " + ", ".join(f"{name} {ratio:.2f}" for name, (ratio, _) in ratios.items()) + f": {'met' if met else 'MISSED'}")
    return 0 if args.smoke or met else 1


if __name__ == "__main__":
    sys.exit(main())
