#!/usr/bin/env python3
"""doctor with ten servers against doctor with one (issue 16 item 1).

Ten serve stacks (each with its development AS, on its own loopback port),
every response delayed by D (default 300 ms), run in one event loop in a
thread of this process. `atoms-auth doctor --json --server A ... --server J`
diagnoses all ten at once over one client, in its own process (start-up
counted), against `atoms-auth doctor --json --server A`. Best of N each,
alternating. Prints the requests, both wall times, and on the last line the
ratio ten / one (target <= 1.5).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import threading
import time

from doctor_latency import Delay, failures, run_doctor

from authkit_mcp_cli.server.app import build_app
from authkit_mcp_cli.server.config import LOCAL_ADMIN_SCOPE, LOCAL_REQUIRED_SCOPES, ServeConfig

TARGET = 1.5


def serve_many(count: int, delay: float):
    """``count`` delayed serve stacks in one event loop on a thread: (their MCP URLs, a stop function)."""
    import uvicorn

    servers, urls = [], []
    for _ in range(count):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        app, info = build_app(ServeConfig(port=0, required_scopes=LOCAL_REQUIRED_SCOPES, admin_scope=LOCAL_ADMIN_SCOPE), port)
        servers.append((uvicorn.Server(uvicorn.Config(Delay(app, delay), log_level="error", lifespan="on")), sock))
        urls.append(info.mcp_url)

    async def run_all() -> None:
        await asyncio.gather(*(server.serve(sockets=[sock]) for server, sock in servers))

    thread = threading.Thread(target=asyncio.run, args=(run_all(),), daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not all(server.started for server, _ in servers):
        if time.monotonic() > deadline:
            raise SystemExit("the servers did not start")
        time.sleep(0.01)

    def stop() -> None:
        for server, _ in servers:
            server.should_exit = True
        thread.join(10)

    return urls, stop


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--delay", type=float, default=0.3, help="seconds added to every response (D)")
    parser.add_argument("--servers", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="three servers, D = 20 ms, one run each, no verdict")
    args = parser.parse_args()
    delay, count, runs = (0.02, 3, 1) if args.smoke else (args.delay, args.servers, args.runs)
    urls, stop = serve_many(count, delay)
    one, many, requests = [], [], 0
    try:
        for _ in range(runs):  # alternating, so a busy moment of the machine hits both
            wall, doc = run_doctor(urls[:1])
            one.append(wall)
            if bad := failures(doc):
                print(f"doctor found failures: {bad}")
                return 1
            wall, doc = run_doctor(urls)
            many.append(wall)
            if len(doc.get("reports", [])) != count or (bad := failures(doc)):
                print(f"doctor with {count} servers: {len(doc.get('reports', []))} reports, failures {failures(doc)}")
                return 1
            requests = sum(r.get("requests", 0) for r in doc["reports"])
    finally:
        stop()
    best_one, best_many = min(one), min(many)
    print(f"D = {delay * 1000:.0f} ms; {count} servers, {requests} requests in one run")
    print(f"doctor, one server: best {best_one:.3f} s of {runs} (all: {', '.join(f'{t:.2f}' for t in one)})")
    print(f"doctor, {count} servers: best {best_many:.3f} s of {runs} (all: {', '.join(f'{t:.2f}' for t in many)})")
    ratio = best_many / best_one
    print(f"ratio: {ratio:.2f} ({count} servers / one; target <= {TARGET})")
    return 0 if args.smoke or ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
