#!/usr/bin/env python3
"""doctor against a stack where every HTTP response is delayed by D (default 300 ms).

serve (with its development AS, all on one origin) runs on loopback behind a
delaying ASGI layer; doctor runs as the user runs it, `atoms-auth doctor
--server URL --json` in its own process, so its start-up counts. The
dependency chain is challenge/PRM -> AS metadata -> JWKS -> forged tokens:
4 round trips, and the target is 5 x D (issue 16 item 1: one D for start-up
and everything that is not waiting). Prints the requests made, the measured
depth, when the forged-token probes started relative to the JWKS answer (from
doctor's --trace), and on the last line the ratio of the best wall time to 5 x D.

On this stack serve's AS metadata URL is also the server's compatibility
endpoint, which doctor requests at once, so the measured depth is about 3.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from authkit_mcp_cli.server.app import build_app
from authkit_mcp_cli.server.config import LOCAL_ADMIN_SCOPE, LOCAL_REQUIRED_SCOPES, ServeConfig

CRITICAL_PATH = 4  # challenge/PRM, AS metadata, JWKS, forged tokens
BOUND_IN_D = 5  # the chain, plus one D for start-up and the rest
ATOMS = str(Path(sys.executable).parent / "atoms-auth")


class Delay:
    """Delays every HTTP response by ``seconds`` (the network's round trip, simulated)."""

    def __init__(self, app, seconds: float) -> None:
        self.app, self.seconds = app, seconds

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            await asyncio.sleep(self.seconds)
        await self.app(scope, receive, send)


def serve_delayed(delay: float):
    """serve's app with its development AS on a free loopback port, every response delayed; (server, thread, info)."""
    import socket
    import threading

    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app, info = build_app(ServeConfig(port=0, required_scopes=LOCAL_REQUIRED_SCOPES, admin_scope=LOCAL_ADMIN_SCOPE), port)
    server = uvicorn.Server(uvicorn.Config(Delay(app, delay), log_level="error", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    return server, thread, info


def run_doctor(urls: list[str], trace: Path | None = None) -> tuple[float, dict]:
    """One `atoms-auth doctor --json` run, process start included: (wall seconds, its JSON)."""
    argv = [ATOMS, "doctor", "--json", *(a for url in urls for a in ("--server", url))]
    if trace:
        argv += ["--trace", str(trace)]
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    wall = time.perf_counter() - started
    try:
        doc = json.loads(proc.stdout)
    except ValueError:
        raise SystemExit(f"doctor printed no JSON (exit {proc.returncode}): {proc.stdout[-500:]} {proc.stderr[-2000:]}") from None
    return wall, doc


def failures(doc: dict) -> list[str]:
    reports = doc.get("reports", [doc])
    return [r["id"] for rep in reports for r in rep["results"] if r["status"] in ("fail", "error")]


def spans(trace: Path) -> tuple[tuple[float, float], list[tuple[float, float]]]:
    """From doctor's trace: (the JWKS exchange, the forged-token exchanges), each (started, ended) in seconds."""
    entries = [json.loads(line) for line in trace.read_text().splitlines()]

    def span(e: dict) -> tuple[float, float]:
        return datetime.fromisoformat(e["started"]).timestamp(), datetime.fromisoformat(e["ended"]).timestamp()

    jwks = next(span(e) for e in entries if e["url"].endswith("/jwks"))
    forged = [span(e) for e in entries if any(j.get("where") == "authorization header" for j in e.get("jwts", []))]
    return jwks, forged


def forged_after_jwks(trace: Path) -> str:
    jwks, forged = spans(trace)
    starts = sorted(s for s, _ in forged)
    return f"forged-token probes: {len(forged)}; the first left {(starts[0] - jwks[1]) * 1000:.0f} ms after the JWKS answer, the last {(starts[-1] - starts[0]) * 1000:.0f} ms after the first"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--delay", type=float, default=0.3, help="seconds added to every response (D)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="one run with D = 20 ms, no verdict")
    args = parser.parse_args()
    delay, runs = (0.02, 1) if args.smoke else (args.delay, args.runs)
    server, thread, info = serve_delayed(delay)
    trace = Path(tempfile.mkdtemp()) / "trace.jsonl"
    try:
        times, requests = [], 0
        for n in range(runs):
            wall, doc = run_doctor([info.mcp_url], trace if n == 0 else None)
            times.append(wall)
            requests = doc.get("requests", 0)
            if bad := failures(doc):
                print(f"doctor found failures: {bad}")
                return 1
    finally:
        server.should_exit = True
        thread.join(5)
    best = min(times)
    bound = BOUND_IN_D * delay
    print(f"D = {delay * 1000:.0f} ms; requests: {requests}; sequential would take >= {requests * delay:.2f} s")
    print(forged_after_jwks(trace))
    print(f"doctor wall time (process start included): best {best:.3f} s of {runs} (all: {', '.join(f'{t:.2f}' for t in times)}); {best / delay:.2f} x D (critical path {CRITICAL_PATH} round trips)")
    ratio = best / bound
    print(f"ratio: {ratio:.2f} of {BOUND_IN_D} x D = {bound:.2f} s (target <= 1.0)")
    return 0 if args.smoke or ratio <= 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
