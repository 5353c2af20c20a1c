"""serve's DPoP replay and nonce state across workers and instances (issue 20
§3; RFC 9449 §11.1 replay, §9 nonces), against a real redis-server started
here on an ephemeral loopback port and serve run as the CLI runs it:

- ``--workers 2 --store``: one captured proof, sent again and again, is
  accepted exactly once whichever worker answers;
- two serve instances on one store (one public URL, as behind a proxy): a
  proof accepted by one is refused by the other, and a nonce one issues the
  other accepts;
- the store killed: DPoP requests are refused (503, the reason in the log),
  never served unchecked, and Bearer requests still work;
- without a store, the in-memory one when full refuses new proofs and still
  refuses replays of the old ones (it never evicts a live entry).

redis-server is Debian's package (``make system-prerequisites`` installs it):
missing, these tests fail on CI and skip elsewhere."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import pytest

from authkit_mcp_cli.challenge import parse_www_authenticate
from authkit_mcp_cli.oauth.dpop import DpopKey, proof
from authkit_mcp_cli.server.dpop_proof import NONCE_ENV
from authkit_mcp_cli.server.dpop_store import MemoryReplayStore
from peers.asgi import serve_asgi
from peers.key_as import KeyAS
from peers.redis_server import RedisServer, run_redis
from peers.serve_app import serve_app
from peers.streams import LineReader

pytestmark = pytest.mark.integration

MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
INIT = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})


def need_redis() -> None:
    if shutil.which("redis-server") is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server (Debian package redis-server) is missing on CI")
        pytest.skip("redis-server (Debian package redis-server) is not installed")


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    need_redis()
    with run_redis() as server:
        yield server


@pytest.fixture(scope="module")
def key_as() -> Iterator[KeyAS]:
    key_as = KeyAS()
    key_as.add_key("k1")
    with serve_asgi(key_as.app):
        yield key_as


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_serve(key_as: KeyAS, *args: str, workers: int = 1, nonce: bool = False) -> Iterator[tuple[str, LineReader]]:
    """serve as a subprocess in AuthKit mode for ``key_as``; yields (MCP URL from the banner, its log)."""
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop(NONCE_ENV, None)
    if nonce:
        env[NONCE_ENV] = "1"
    command = [sys.executable, "-m", "authkit_mcp_cli", "serve", "--authkit-domain", key_as.issuer, "--required-scopes", "mcp:tools", "--workers", str(workers), *args]
    if "--port" not in args:
        command += ["--port", "0"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    log = LineReader(proc.stderr)
    try:
        if not log.wait_for(r"(?s)" + r"Application startup complete.*" * workers, timeout=60):
            raise AssertionError(f"serve did not start: {log.text}")
        url = re.search(r"MCP endpoint\s+(\S+)", log.text)
        assert url, log.text
        yield url.group(1), log
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def bound_token(key_as: KeyAS, resource: str, key: DpopKey) -> str:
    return key_as.token(key_as.claims(resource, cnf={"jkt": key.thumbprint()}))


def send(url: str, auth: str, proofs: list[str] = ()) -> httpx.Response:
    headers = [*MCP_HEADERS.items(), ("Authorization", auth), *(("DPoP", p) for p in proofs)]
    with httpx.Client(timeout=10) as client:  # a new connection each time: any worker may answer
        return client.post(url, headers=headers, content=INIT)


def dpop_error(response: httpx.Response) -> tuple[str | None, str]:
    for ch in parse_www_authenticate(response.headers.get_list("www-authenticate")):
        if ch.scheme.lower() == "dpop":
            return ch.get("error"), ch.get("error_description") or ""
    return None, ""


def test_with_two_workers_and_a_store_a_captured_proof_is_accepted_exactly_once(key_as, redis):
    with running_serve(key_as, "--store", redis.url, workers=2) as (url, log):
        assert "DPoP replay store    redis://127.0.0.1" in log.text and "per worker" not in log.text
        key = DpopKey.generate()
        token = bound_token(key_as, url, key)
        captured = proof(key, "POST", url, access_token=token)
        with ThreadPoolExecutor(max_workers=10) as pool:  # at once, on separate connections: the claim must be atomic
            answers = list(pool.map(lambda _: send(url, f"DPoP {token}", [captured]), range(20)))
        assert [r.status_code for r in answers].count(200) == 1, [(r.status_code, dpop_error(r)) for r in answers]
        refused = [dpop_error(r) for r in answers if r.status_code != 200]
        assert all(error == "invalid_dpop_proof" and "already used" in why for error, why in refused), refused
        fresh = proof(key, "POST", url, access_token=token)  # a new proof from the key holder still works
        assert send(url, f"DPoP {token}", [fresh]).status_code == 200


def test_two_instances_on_one_store_share_replays_and_nonces(key_as, redis):
    public = f"http://127.0.0.1:{free_port()}"  # the one public URL both stand behind, as behind a proxy
    ports = free_port(), free_port()
    with running_serve(key_as, "--store", redis.url, "--base-url", public, "--port", str(ports[0]), nonce=True) as (resource, _), running_serve(key_as, "--store", redis.url, "--base-url", public, "--port", str(ports[1]), nonce=True):
        first, second = (resource.replace(public, f"http://127.0.0.1:{p}") for p in ports)
        key = DpopKey.generate()
        token = bound_token(key_as, resource, key)
        # a nonce issued by the first instance (§9: use_dpop_nonce with a DPoP-Nonce header) ...
        asked = send(first, f"DPoP {token}", [proof(key, "POST", resource, access_token=token)])
        assert asked.status_code == 401 and dpop_error(asked)[0] == "use_dpop_nonce", asked.text
        nonce = asked.headers["dpop-nonce"]
        # ... is accepted by the second
        made = proof(key, "POST", resource, access_token=token, nonce=nonce)
        assert send(second, f"DPoP {token}", [made]).status_code == 200
        # and the proof the second accepted is refused by the first, and by the second again
        for instance in (first, second):
            replay = send(instance, f"DPoP {token}", [made])
            assert replay.status_code == 401 and "already used" in dpop_error(replay)[1], replay.text


def test_with_the_store_down_dpop_is_refused_and_bearer_still_works_and_it_recovers(key_as, redis):
    with running_serve(key_as, "--store", redis.url) as (url, log):
        key = DpopKey.generate()
        token = bound_token(key_as, url, key)
        assert send(url, f"DPoP {token}", [proof(key, "POST", url, access_token=token)]).status_code == 200
        redis.stop()
        refused = send(url, f"DPoP {token}", [proof(key, "POST", url, access_token=token)])
        assert refused.status_code == 503, refused.text  # fail closed: never served unchecked
        assert refused.headers.get("retry-after") and refused.json()["error"] == "temporarily_unavailable"
        assert log.wait_for(r"DPoP request refused with 503: the replay store cannot be reached \(.+\)", timeout=10), log.text
        plain = key_as.token(key_as.claims(url))
        assert send(url, f"Bearer {plain}").status_code == 200  # Bearer tokens never touch the store
        redis.restart()  # back (empty): serve connects again by itself
        assert send(url, f"DPoP {token}", [proof(key, "POST", url, access_token=token)]).status_code == 200


def test_the_in_memory_store_when_full_refuses_new_proofs_and_still_refuses_replays(key_as):
    with serve_app(authkit_domain=key_as.issuer, required_scopes="mcp:tools", auto_approve=False) as (info, app):
        app.endpoint.proofs.store = MemoryReplayStore(cap=3)  # the guard's store, made small
        key = DpopKey.generate()
        token = bound_token(key_as, info.resource, key)
        accepted = [proof(key, "POST", info.mcp_url, access_token=token) for _ in range(3)]
        for made in accepted:
            assert send(info.mcp_url, f"DPoP {token}", [made]).status_code == 200
        full = send(info.mcp_url, f"DPoP {token}", [proof(key, "POST", info.mcp_url, access_token=token)])
        assert full.status_code == 401 and "refuses new ones" in dpop_error(full)[1], full.text
        for made in accepted:  # nothing was evicted to make room: every replay is still caught
            replay = send(info.mcp_url, f"DPoP {token}", [made])
            assert replay.status_code == 401 and "already used" in dpop_error(replay)[1], replay.text


def test_without_a_store_several_workers_say_replay_protection_is_per_worker(key_as):
    with running_serve(key_as, workers=2) as (_, log):
        assert re.search(r"DPoP replay store\s+per worker: each of the 2 workers remembers only the proofs it saw", log.text), log.text


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://127.0.0.1:6379/0", "the scheme must be redis:// or rediss://"),
        ("redis:///0", "names no host"),
        ("redis://127.0.0.1:99999/0", "not a valid URL"),
        ("redis://127.0.0.1:6379/zero", "must be a database number"),
    ],
)
def test_a_bad_store_url_is_a_usage_error(key_as, url, words):
    proc = subprocess.run([sys.executable, "-m", "authkit_mcp_cli", "serve", "--authkit-domain", key_as.issuer, "--store", url], capture_output=True, text=True, timeout=60, env={**os.environ, "NO_COLOR": "1"})
    assert proc.returncode == 2, proc.stderr
    assert words in proc.stderr and "Traceback" not in proc.stderr


def test_a_store_password_never_reaches_the_banner(key_as, redis):
    secret_url = redis.url.replace("redis://", "redis://:hunter2secret@")
    with running_serve(key_as, "--store", secret_url) as (_, log):
        assert "hunter2secret" not in log.text and f"DPoP replay store    {redis.url}" in log.text


def test_the_store_client_against_redis(redis):
    """server/resp_client.py and RedisReplayStore on a real server: the atomic claim under concurrency,
    TTLs, one nonce key for everyone, error replies, and a refused connection as StoreUnavailable."""
    import asyncio

    from authkit_mcp_cli.server.dpop_store import RedisReplayStore, StoreUnavailable
    from authkit_mcp_cli.server.resp_client import RespClient, RespError

    async def scenario() -> None:
        first, second = RedisReplayStore(redis.url), RedisReplayStore(redis.url)
        try:
            claims = await asyncio.gather(*(store.first_use("k", ttl=30, now=0) for store in (first, second) for _ in range(50)))
            assert claims.count(True) == 1  # 100 concurrent claims over two pipelined connections: one wins
            assert await first.nonce_key() == await second.nonce_key()
            raw = RespClient(redis.url, timeout=2)
            assert 28 <= await raw.command("TTL", "atoms-auth:dpop:k") <= 30
            with pytest.raises(RespError, match="wrong number of arguments|unknown command"):
                await raw.command("GET")
            assert await raw.command("PING") == b"PONG"  # the connection survives an error reply
            await raw.aclose()
        finally:
            await first.aclose()
            await second.aclose()
        nobody = RedisReplayStore(f"redis://127.0.0.1:{free_port()}/0")
        with pytest.raises(StoreUnavailable, match="cannot connect"):
            await nobody.first_use("k", ttl=1, now=0)
        await nobody.aclose()

    asyncio.run(scenario())
