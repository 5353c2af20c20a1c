#!/usr/bin/env python3
"""serve's authenticated MCP throughput against the floor of its stack and the
integration guide's stack.

All three servers guard /api/mcp for the same AS (a loopback AS whose keys this
script holds), run stateless, and get the same load from a separate process:
wrk (Debian's package; C, so the load generator does not starve the server
on a 2-core machine) with C connections sending authenticated tools/list
for S seconds.
The floor (floor_app.py) is a bare ASGI app on serve's uvicorn + httptools +
uvloop that verifies the same RS256 token with the same cached key and answers
a fixed tools/list: no framework, no SDK. The guide's stack is FastMCP's
AuthKitProvider, installed by this script into benchmarks/.venv-fastmcp.
Targets (issue #16 §3, 16 connections): serve's requests per second at least
0.5x the floor's and 4x the guide stack's, and a p99 no worse than those ratios
imply (at most 2x the floor's p99, at most 1/4 of the guide stack's). Also
reports each server's resident memory after the run.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))

from peers.asgi import serve_asgi  # noqa: E402
from peers.key_as import KeyAS  # noqa: E402

BASELINE_VENV = HERE / ".venv-fastmcp"
FASTMCP = "fastmcp==4.2.3"
FLOOR_TARGET = 0.5
BASELINE_TARGET = 4.0


def baseline_python() -> Path:
    python = BASELINE_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(BASELINE_VENV)], check=True)
    probe = subprocess.run([str(python), "-c", "import fastmcp"], capture_output=True)
    if probe.returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", FASTMCP], check=True)
    return python


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2025-11-25"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
"""

# The same request on the 2026-07-28 wire: no handshake, the envelope in params._meta, the method in a
# header. The SDK answers it on its single-exchange path (no per-request task group or memory streams).
WRK_SCRIPT_MODERN = """
wrk.method = "POST"
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"wrk","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2026-07-28"
wrk.headers["Mcp-Method"] = "tools/list"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
"""


def _ms(value: str) -> float:
    number = float(re.match(r"[\d.]+", value).group())
    return number * {"us": 0.001, "ms": 1.0, "s": 1000.0}[re.search(r"(us|ms|s)$", value).group(1)]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (/proc/PID/stat utime, stime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_load(url: str, token: str, concurrency: int, seconds: float, script: Path, pid: int | None = None) -> dict:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is missing: install Debian's wrk (make bench and make test do).")
    env = {**os.environ, "BENCH_TOKEN": token}
    subprocess.run([wrk, "-t1", "-c2", "-d1s", "-s", str(script), url], capture_output=True, check=True, env=env)  # warm-up
    cpu_before = cpu_seconds(pid) if pid else 0.0
    out = subprocess.run([wrk, "-t1", f"-c{concurrency}", f"-d{seconds}s", "--latency", "-s", str(script), url], capture_output=True, text=True, check=True, env=env).stdout
    cpu_used = cpu_seconds(pid) - cpu_before if pid else 0.0
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non_2xx.group(1)) if non_2xx else 0) + (sum(int(g) for g in socket_errors.groups()) if socket_errors else 0)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return {
        # the server's CPU per answered request: steadier than req/s on a machine others share
        "cpu_us": round(cpu_used / max(requests, 1) * 1e6),
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": round(_ms(re.search(r"\s50%\s+(\S+)", out).group(1)), 2),
        "p99_ms": round(_ms(re.search(r"\s99%\s+(\S+)", out).group(1)), 2),
        "requests": requests,
        "errors": errors,
        "error_kinds": {"non_2xx": non_2xx.group(1) if non_2xx else 0},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--smoke", action="store_true", help="2 clients for 1 s each, no verdict")
    args = parser.parse_args()
    concurrency, seconds = (2, 1) if args.smoke else (args.concurrency, int(args.seconds))
    key_as = KeyAS()
    key_as.add_key("k1")
    results = {}
    legacy, modern = Path(tempfile.mkstemp(suffix=".lua")[1]), Path(tempfile.mkstemp(suffix=".lua")[1])
    legacy.write_text(WRK_SCRIPT)
    modern.write_text(WRK_SCRIPT_MODERN)
    with serve_asgi(key_as.app) as issuer:
        serve_command = lambda port: [str(Path(sys.executable).parent / "atoms-auth"), "serve", "--port", str(port), "--authkit-domain", issuer, "--stateless", "--log-level", "warning"]  # noqa: E731
        runs = {  # name -> (command for a port, wrk script)
            "floor (bare ASGI)": (lambda port: [sys.executable, str(HERE / "floor_app.py"), issuer, str(port)], legacy),
            "serve, 2025-11-25 wire": (serve_command, legacy),
            "serve, 2026-07-28 wire": (serve_command, modern),
            "FastMCP AuthKitProvider": (lambda port: [str(baseline_python()), str(HERE / "baseline_fastmcp.py"), issuer, str(port)], legacy),
        }
        for name, (command, script) in runs.items():
            port = free_port()
            proc = subprocess.Popen(command(port), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env={**os.environ, "NO_COLOR": "1"})
            try:
                wait_listening(port, proc)
                url = f"http://127.0.0.1:{port}/api/mcp"
                token = key_as.token(key_as.claims(url, scope="", exp=int(time.time()) + 3600))
                result = run_load(url, token, concurrency, seconds, script, pid=proc.pid)
                result["rss_mb"] = round(rss_mb(proc.pid), 1)
                results[name] = result
            finally:
                proc.terminate()
                proc.wait(15)
    for name, r in results.items():
        print(f"{name:<24} {r['rps']:>8.1f} req/s  p50 {r['p50_ms']:>7.1f} ms  p99 {r['p99_ms']:>7.1f} ms  errors {r['errors']}  cpu {r['cpu_us']} us/req  rss {r['rss_mb']} MB")
    floor, base = results["floor (bare ASGI)"], results["FastMCP AuthKitProvider"]
    if any(r["errors"] for r in results.values()):
        print("errors: " + ", ".join(f"{name} {r['error_kinds']}" for name, r in results.items()))
        return 1
    verdicts = []
    for wire in ("2025-11-25", "2026-07-28"):
        ours = results[f"serve, {wire} wire"]
        of_floor, of_base = ours["rps"] / floor["rps"], ours["rps"] / base["rps"]
        # p99 no worse than the throughput ratios imply: at 0.5x the floor's rate, at most 2x its p99
        p99_bound = min(floor["p99_ms"] / FLOOR_TARGET, base["p99_ms"] / BASELINE_TARGET)
        met = of_floor >= FLOOR_TARGET and of_base >= BASELINE_TARGET and ours["p99_ms"] <= p99_bound
        verdicts.append(met)
        print(f"{wire} wire: {of_floor:.2f}x the floor (target >= {FLOOR_TARGET}), {of_base:.2f}x the guide's stack (target >= {BASELINE_TARGET}), p99 {ours['p99_ms']} ms (bound {p99_bound:.1f} ms), CPU {ours['cpu_us']} us/request (floor {floor['cpu_us']}): {'met' if met else 'MISSED'}")
    legacy_ratio = results["serve, 2025-11-25 wire"]["rps"] / floor["rps"]
    modern_ratio = results["serve, 2026-07-28 wire"]["rps"] / floor["rps"]
    print(f"ratio: serve {legacy_ratio:.2f}x (2025-11-25 wire) and {modern_ratio:.2f}x (2026-07-28 wire) the floor, {results['serve, 2025-11-25 wire']['rps'] / base['rps']:.2f}x the guide's stack: {'met' if all(verdicts) else 'MISSED'}")
    return 0 if args.smoke or all(verdicts) else 1

if __name__ == "__main__":
    sys.exit(main())
