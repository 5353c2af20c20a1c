#!/usr/bin/env python3
"""doctor against a stack where every HTTP response is delayed by D.

serve (with its development AS) runs on loopback behind a delaying ASGI
layer; doctor runs in-process (its own wall time, not Python's start-up).
The dependency chain is challenge/PRM -> AS metadata -> JWKS -> forged
tokens, so the target is (depth + 1) x D with depth 4: every independent
probe must overlap. Prints requests made, the measured depth, and the ratio
of the wall time to the bound."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from authkit_mcp_cli.checks import CATALOGUE
from authkit_mcp_cli.config import Target
from authkit_mcp_cli.doctor import diagnose
from authkit_mcp_cli.server.app import build_app
from authkit_mcp_cli.server.config import LOCAL_ADMIN_SCOPE, LOCAL_REQUIRED_SCOPES, ServeConfig

CRITICAL_PATH = 4  # challenge/PRM, AS metadata, JWKS, forged tokens


class Delay:
    """Delays every HTTP response by ``seconds`` (the network's round trip, simulated)."""

    def __init__(self, app, seconds: float) -> None:
        self.app, self.seconds = app, seconds

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            await asyncio.sleep(self.seconds)
        await self.app(scope, receive, send)


def serve_delayed(delay: float):
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--delay", type=float, default=0.2, help="seconds added to every response (D)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="one run with D = 20 ms, no verdict")
    args = parser.parse_args()
    delay, runs = (0.02, 1) if args.smoke else (args.delay, args.runs)
    server, thread, info = serve_delayed(delay)
    try:
        times, requests = [], 0
        for _ in range(runs):
            started = time.perf_counter()
            diagnosis = asyncio.run(diagnose(Target(server_url=info.mcp_url, authkit_domain=None), list(CATALOGUE), timeout=10))
            times.append(time.perf_counter() - started)
            requests = diagnosis.evidence.request_count
            bad = [r.check.id for r in diagnosis.results if r.status.value in ("fail", "error")]
            if bad:
                print(f"doctor found failures: {bad}")
                return 1
    finally:
        server.should_exit = True
        thread.join(5)
    best = min(times)
    bound = (CRITICAL_PATH + 1) * delay
    print(f"D = {delay * 1000:.0f} ms; requests: {requests}; sequential would take >= {requests * delay:.2f} s")
    print(f"doctor wall time: best {best:.3f} s of {runs}; measured depth: {best / delay:.2f} round trips (critical path {CRITICAL_PATH})")
    ratio = best / bound
    print(f"ratio: {ratio:.2f} of the bound (depth + 1) x D = {bound:.2f} s (target <= 1.0)")
    return 0 if args.smoke or ratio <= 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
