#!/usr/bin/env python3
"""A bounded load generator for serve: N concurrent clients send authenticated
MCP tools/list requests for S seconds, then it prints one JSON line with
requests, errors, status counts, requests per second and latency percentiles.

    load.py URL TOKEN [--concurrency 50] [--seconds 20]

Used by the load test and by benchmarks/; only ever pointed at loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from urllib.parse import urlsplit

import httpx

BODY = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}).encode()


async def worker(client: httpx.AsyncClient, url: str, headers: dict[str, str], deadline: float, latencies: list[float], statuses: Counter, errors: Counter) -> None:
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            response = await client.post(url, headers=headers, content=BODY)
            statuses[response.status_code] += 1
            if response.status_code != 200 or b'"tools"' not in response.content:
                errors[f"HTTP {response.status_code}"] += 1
        except httpx.HTTPError as exc:
            errors[type(exc).__name__] += 1
        latencies.append((time.perf_counter() - started) * 1000)


async def run(url: str, token: str, concurrency: int, seconds: float) -> dict:
    host = urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("load.py only targets loopback")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}
    latencies: list[float] = []
    statuses: Counter = Counter()
    errors: Counter = Counter()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        started = time.monotonic()
        deadline = started + seconds
        await asyncio.gather(*(worker(client, url, headers, deadline, latencies, statuses, errors) for _ in range(concurrency)))
        elapsed = time.monotonic() - started
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(len(latencies) * p))], 2) if latencies else 0.0

    return {
        "requests": len(latencies),
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "statuses": {str(k): v for k, v in statuses.items()},
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "seconds": round(elapsed, 2),
        "concurrency": concurrency,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("token")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.url, args.token, args.concurrency, args.seconds))))


if __name__ == "__main__":
    main()
