"""serve under a bounded load from a separate process on loopback (50
concurrent clients, 20 s by default; ATOMS_AUTH_LOAD_SECONDS changes it):
zero errors, bounded memory growth, the JWKS endpoint going down mid-run
changes nothing for tokens with cached keys, and an AS outage only turns the
compatibility endpoints into 502s."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from peers.asgi import serve_asgi
from peers.key_as import KeyAS
from peers.streams import LineReader

LOAD = Path(__file__).resolve().parents[1] / "peers" / "load.py"
SECONDS = float(os.environ.get("ATOMS_AUTH_LOAD_SECONDS", "20"))
# the run, its own subprocess deadlines (SECONDS + 120, and startup), and margin
pytestmark = [pytest.mark.integration, pytest.mark.load, pytest.mark.timeout(int(SECONDS) * 3 + 300)]
MAX_RSS_GROWTH_MB = 60


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_serve_under_load_with_a_jwks_outage_mid_run(tmp_path):
    key_as = KeyAS()
    key_as.add_key("k1")
    with serve_asgi(key_as.app) as as_base:
        proc = subprocess.Popen([sys.executable, "-m", "authkit_mcp_cli", "serve", "--port", "0", "--authkit-domain", as_base, "--stateless", "--log-level", "warning"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env={**os.environ, "NO_COLOR": "1"})
        try:
            stderr = LineReader(proc.stderr)
            found = stderr.wait_for(r"Check it:\s+atoms-auth doctor --server (\S+)", timeout=60)
            assert found, f"serve did not start (exit {proc.poll()}): {stderr.text}"
            url = found.group(1)
            token = key_as.token(key_as.claims(url, scope="", exp=int(time.time()) + 3600))
            warm = subprocess.run([sys.executable, str(LOAD), url, token, "--concurrency", "4", "--seconds", "1"], capture_output=True, text=True, timeout=60)
            assert json.loads(warm.stdout)["errors"] == 0, warm.stdout
            rss_before = rss_mb(proc.pid)

            def outage():
                time.sleep(SECONDS / 3)
                key_as.down = True  # JWKS and metadata now answer 503

            threading.Thread(target=outage, daemon=True).start()
            load = subprocess.run([sys.executable, str(LOAD), url, token, "--concurrency", "50", "--seconds", str(SECONDS)], capture_output=True, text=True, timeout=SECONDS + 120)
            result = json.loads(load.stdout)
            rss_after = rss_mb(proc.pid)
            assert key_as.down
            compat = httpx.get(url.replace("/api/mcp", "/.well-known/oauth-authorization-server"), timeout=10)
            still = httpx.post(url, headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}, timeout=10)
        finally:
            proc.terminate()
            proc.communicate(timeout=15)
    (tmp_path / "load.json").write_text(json.dumps({**result, "rss_before_mb": rss_before, "rss_after_mb": rss_after}))
    assert result["errors"] == 0, result
    assert result["requests"] > 50 * 5  # every client kept working throughout
    assert rss_after - rss_before < MAX_RSS_GROWTH_MB, (rss_before, rss_after)
    assert compat.status_code == 502 and compat.json()["error"] == "upstream_unavailable"
    assert still.status_code == 200
