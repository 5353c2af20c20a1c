"""A real redis-server (Debian's package) on an ephemeral loopback port, no
persistence, for the tests and the benchmark of serve's shared DPoP store.
On CI a missing binary is a failure, elsewhere a skip (the caller decides)."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass


class RedisMissing(RuntimeError):
    pass


@dataclass
class RedisServer:
    url: str
    port: int
    proc: subprocess.Popen

    def restart(self, timeout: float = 20) -> None:
        """Stop, then start again on the same port, empty (no persistence)."""
        self.stop()
        self.proc = subprocess.Popen(self.proc.args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while not _answers(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start again on port {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextlib.contextmanager
def run_redis(timeout: float = 20) -> Iterator[RedisServer]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RedisMissing("redis-server is not installed (Debian package redis-server; make system-prerequisites installs it)")
    with tempfile.TemporaryDirectory(prefix="atoms-auth-redis-") as workdir:
        for _ in range(5):  # the port is free when picked; another process may take it first
            port = _free_port()
            args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir, "--protected-mode", "yes"]
            proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            server = RedisServer(url=f"redis://127.0.0.1:{port}/0", port=port, proc=proc)
            deadline = time.monotonic() + timeout
            while proc.poll() is None and time.monotonic() < deadline and not _answers(port):
                time.sleep(0.05)
            if proc.poll() is None and _answers(port):
                try:
                    yield server
                finally:
                    server.stop()
                return
            server.stop()
        raise RuntimeError("redis-server did not start on a free loopback port")
