#!/usr/bin/env python3
"""serve's shared DPoP store (issue 20 §3): two serve instances behind a
round-robin HAProxy (Debian's package; its configuration written to a
temporary directory, loopback only) and one redis-server, all on loopback.

Checks, then measures:
- one proof replayed 100 times through the proxy (both instances answering)
  is accepted exactly once;
- a nonce issued by one instance is accepted by the other (RFC 9449 §9);
- DPoP throughput through the proxy with ``--store`` is at least 0.8x the
  same two instances without it (each then keeps its own replay set). The
  load is wrk (C, so it does not starve the servers on a small machine)
  sending authenticated ``tools/list`` with a fresh proof on every request,
  from a list made before the run; the run is bounded by time and by the
  list (a proof used twice would be refused, and errors fail the run).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

import httpx  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature  # noqa: E402
from serve_throughput import free_port, wait_listening  # noqa: E402

from authkit_mcp_cli.oauth.dpop import DpopKey, proof  # noqa: E402
from peers.asgi import serve_asgi  # noqa: E402
from peers.key_as import KeyAS  # noqa: E402
from peers.redis_server import run_redis  # noqa: E402

TARGET = 0.8
REPLAYS = 100
PATH = "/api/mcp"
BODY = '{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}'
HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}
SBIN = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])

# A fresh proof on every request: wrk's request() takes the next line of the proof file.
WRK_SCRIPT = """
local proofs, i = {}, 0
init = function(args)
  for line in io.lines(os.getenv("BENCH_PROOFS")) do proofs[#proofs + 1] = line end
end
request = function()
  i = i + 1
  local headers = {}
  for k, v in pairs(wrk.headers) do headers[k] = v end
  headers["DPoP"] = proofs[i] or "exhausted"
  return wrk.format("POST", nil, headers, '{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}')
end
"""

HAPROXY_CONFIG = """
global
  maxconn 2000
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend mcp
  bind 127.0.0.1:{port}
  default_backend serve
backend serve
  balance roundrobin
  http-response set-header X-Served-By %[srv_name]
  server first 127.0.0.1:{first}
  server second 127.0.0.1:{second}
"""


def need(binary: str) -> str:
    found = shutil.which(binary, path=SBIN)
    if found is None:
        raise SystemExit(f"{binary} is missing: install Debian's {binary if binary != 'redis-server' else 'redis-server'} package (make bench does).")
    return found


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def many_proofs(key: DpopKey, url: str, token: str, count: int) -> list[str]:
    """``count`` proofs for POST ``url`` with ``token`` (RFC 9449 §4.2), signed straight with the key
    (the same bytes as oauth.dpop.proof, made fast enough to fill a load run)."""
    private = key.private_key()
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    head = b64(json.dumps({"typ": "dpop+jwt", "alg": "ES256", "jwk": key.public_jwk}, separators=(",", ":")).encode())
    ath = b64(hashlib.sha256(token.encode()).digest())
    iat, out = int(time.time()), []
    for _ in range(count):
        claims = b64(json.dumps({"jti": uuid.uuid4().hex, "htm": "POST", "htu": url, "iat": iat, "ath": ath}, separators=(",", ":")).encode())
        r, s = decode_dss_signature(private.sign(f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256())))
        out.append(f"{head}.{claims}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}")
    return out


@contextlib.contextmanager
def two_behind_haproxy(issuer: str, store: str | None, *, nonce: bool) -> Iterator[tuple[str, list[str]]]:
    """Two serve instances with one public URL, the proxy's; yields (public MCP URL, the instances' own MCP URLs)."""
    proxy_port, ports = free_port(), [free_port(), free_port()]
    public = f"http://127.0.0.1:{proxy_port}"
    env = {**os.environ, "NO_COLOR": "1", "ATOMS_AUTH_SERVE_DPOP_NONCE": "1" if nonce else "0"}
    command = [str(Path(sys.executable).parent / "atoms-auth"), "serve", "--authkit-domain", issuer, "--base-url", public, "--stateless", "--log-level", "warning", *(["--store", store] if store else [])]
    procs: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="atoms-auth-haproxy-") as tmp:
        config = Path(tmp) / "haproxy.cfg"
        config.write_text(HAPROXY_CONFIG.format(port=proxy_port, first=ports[0], second=ports[1]))
        try:
            for port in ports:
                procs.append(subprocess.Popen([*command, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env))
            for port, proc in zip(ports, procs, strict=True):
                wait_listening(port, proc)
            procs.append(subprocess.Popen([need("haproxy"), "-f", str(config), "-db"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
            wait_listening(proxy_port, procs[-1])
            yield public + PATH, [f"http://127.0.0.1:{p}{PATH}" for p in ports]
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()


def post(client: httpx.Client, url: str, token: str, dpop: str) -> httpx.Response:
    return client.post(url, headers={**HEADERS, "Authorization": f"DPoP {token}", "DPoP": dpop}, content=BODY)


def check_replays_and_nonces(key_as: KeyAS, issuer: str, store: str, replays: int) -> tuple[bool, str]:
    with two_behind_haproxy(issuer, store, nonce=True) as (url, instances), httpx.Client(timeout=10) as client:
        key = DpopKey.generate()
        token = key_as.token(key_as.claims(url, exp=int(time.time()) + 3600, cnf={"jkt": key.thumbprint()}))
        asked = post(client, instances[0], token, proof(key, "POST", url, access_token=token))
        nonce = asked.headers.get("dpop-nonce", "")
        # the nonce the first instance issued, used at the second
        at_other = post(client, instances[1], token, proof(key, "POST", url, access_token=token, nonce=nonce))
        nonce_ok = asked.status_code == 401 and bool(nonce) and at_other.status_code == 200
        captured = proof(key, "POST", url, access_token=token, nonce=nonce)
        answers = [post(client, url, token, captured) for _ in range(replays)]
        accepted = sum(r.status_code == 200 for r in answers)
        backends = {r.headers.get("x-served-by") for r in answers}
        replay_ok = accepted == 1 and backends == {"first", "second"}
        print(f"one proof sent {replays} times through the proxy: accepted {accepted} time(s), answered by {sorted(b or '?' for b in backends)}: {'met' if replay_ok else 'MISSED'}")
        print(f"a nonce from the first instance at the second: HTTP {at_other.status_code}: {'met' if nonce_ok else 'MISSED'}")
        return replay_ok and nonce_ok, f"accepted {accepted}/{replays}"


def throughput(key_as: KeyAS, issuer: str, store: str | None, *, concurrency: int, seconds: float, proofs: int, script: Path) -> dict:
    wrk = need("wrk")
    with two_behind_haproxy(issuer, store, nonce=False) as (url, _), tempfile.TemporaryDirectory() as tmp:
        key = DpopKey.generate()
        token = key_as.token(key_as.claims(url, scope="", exp=int(time.time()) + 3600, cnf={"jkt": key.thumbprint()}))
        env = {**os.environ, "BENCH_PROOFS": str(Path(tmp) / "warm")}
        Path(env["BENCH_PROOFS"]).write_text("\n".join(many_proofs(key, url, token, 2000)) + "\n")
        headers = [f"-H{k}: {v}" for k, v in {**HEADERS, "Authorization": f"DPoP {token}"}.items()]
        subprocess.run([wrk, "-t1", "-c2", "-d1s", "-s", str(script), *headers, url], capture_output=True, env=env)  # warm-up
        env["BENCH_PROOFS"] = str(Path(tmp) / "run")
        Path(env["BENCH_PROOFS"]).write_text("\n".join(many_proofs(key, url, token, proofs)) + "\n")
        out = subprocess.run([wrk, "-t1", f"-c{concurrency}", f"-d{seconds}s", "-s", str(script), *headers, url], capture_output=True, text=True, check=True, env=env).stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "requests": requests, "errors": errors, "proofs": proofs}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--rounds", type=int, default=2, help="load runs of each kind, alternated; the best counts")
    parser.add_argument("--smoke", action="store_true", help="10 replays, 2 clients for 1 s, no verdict")
    args = parser.parse_args()
    replays, concurrency, seconds, proofs, rounds = (10, 2, 1, 4000, 1) if args.smoke else (REPLAYS, args.concurrency, int(args.seconds), 60_000, args.rounds)
    for binary in ("redis-server", "haproxy", "wrk"):
        need(binary)
    script = Path(tempfile.mkstemp(suffix=".lua")[1])
    script.write_text(WRK_SCRIPT)
    key_as = KeyAS()
    key_as.add_key("k1")
    try:
        with serve_asgi(key_as.app) as issuer, run_redis() as redis:
            checks_ok, _ = check_replays_and_nonces(key_as, issuer, redis.url, replays)
            results: dict[str, dict] = {}
            for _ in range(rounds):  # alternated, the best of each kept: the machine may be shared
                for name, store in (("with --store (Redis)", redis.url), ("without (per instance)", None)):
                    run = throughput(key_as, issuer, store, concurrency=concurrency, seconds=seconds, proofs=proofs, script=script)
                    best = results.get(name)
                    results[name] = run if best is None or run["rps"] > best["rps"] else {**best, "errors": best["errors"] + run["errors"]}
    finally:
        script.unlink(missing_ok=True)
    for name, r in results.items():
        print(f"DPoP tools/list through HAProxy, {name:<24} {r['rps']:>8.1f} req/s  {r['requests']} requests  non-2xx {r['errors']}")
    errors = any(r["errors"] or r["requests"] >= r["proofs"] for r in results.values())
    if errors:
        print("errors: a request was refused or the proof list ran out (raise it or shorten --seconds)")
    ratio = results["with --store (Redis)"]["rps"] / results["without (per instance)"]["rps"]
    met = checks_ok and not errors and ratio >= TARGET
    print(f"ratio: {ratio:.2f}x the throughput without the store (target >= {TARGET}); replay accepted once and nonces shared: {'yes' if checks_ok else 'NO'}: {'met' if met else 'MISSED'}")
    return 0 if args.smoke and checks_ok else 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
