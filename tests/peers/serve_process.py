"""`serve` from the real CLI as a subprocess, for tests that measure it from
outside: its MCP endpoint once it answers, and its memory (with its workers)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peers.streams import LineReader


@dataclass
class ServeProcess:
    proc: subprocess.Popen[Any]
    mcp_url: str
    stderr: LineReader

    def rss_mb(self) -> float:
        """Resident memory of serve and its worker processes, in MiB."""
        return sum(rss_mb(pid) for pid in [self.proc.pid, *children(self.proc.pid)])


@contextmanager
def serve_cli(cwd: Path, *args: str) -> Iterator[ServeProcess]:
    """``atoms-auth serve --port 0 *args``, yielded once its endpoint answers; terminated on exit."""
    argv = [sys.executable, "-m", "authkit_mcp_cli", "serve", "--port", "0", "--log-level", "warning", *args]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd, env={**os.environ, "NO_COLOR": "1"})
    try:
        stderr = LineReader(proc.stderr)  # type: ignore[arg-type]
        found = stderr.wait_for(r"MCP endpoint\s+(\S+)", timeout=60)
        assert found, f"serve did not start: {stderr.text}"
        mcp_url = found.group(1)
        host, port = mcp_url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
        wait_listening(host, int(port))  # workers start after the banner
        yield ServeProcess(proc, mcp_url, stderr)
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def wait_listening(host: str, port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=5) as sock:
                sock.sendall(f"GET /.well-known/oauth-protected-resource HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
                if sock.recv(100).startswith(b"HTTP/1.1 200 "):
                    return
        except OSError:
            pass
        assert time.monotonic() < deadline, "serve never answered"
        time.sleep(0.2)


def flood(sock: socket.socket, block: bytes, total: int, *, seconds: float) -> tuple[int, bytes]:
    """Send ``block`` until ``total`` bytes or ``seconds`` have gone (a server closing on us ends it), then read
    what came back until the server closes; returns (bytes sent, the answer)."""
    started, sent, answer = time.monotonic(), 0, b""
    try:
        while sent < total and time.monotonic() - started < seconds:
            sock.sendall(block)
            sent += len(block)
    except (BrokenPipeError, ConnectionResetError):
        pass
    try:
        while chunk := sock.recv(65536):
            answer += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    return sent, answer
