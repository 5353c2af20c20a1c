"""Child-process peers (Node and other virtualenvs) for tests: start one with
its output in a file (a full pipe would block it), wait until it answers,
stop it for sure. Shared by ts_example.py and fastmcp_peer.py."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import httpx


class PeerProcess:
    """A started child process whose stdout and stderr go to one temporary file."""

    def __init__(self, argv: Sequence[str], *, cwd: Path | str | None = None, env: dict[str, str] | None = None) -> None:
        self.argv = list(argv)
        self._log = tempfile.NamedTemporaryFile(mode="w+", prefix="peer-", suffix=".log", delete=False)  # closed in stop()
        self.log_path = Path(self._log.name)
        self.proc = subprocess.Popen(self.argv, cwd=cwd, env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT, text=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def output(self) -> str:
        """Everything the process printed so far (stdout and stderr interleaved)."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def failure(self, what: str) -> RuntimeError:
        status = "running" if self.alive() else f"exited with {self.proc.returncode}"
        return RuntimeError(f"{what} ({' '.join(self.argv[-3:])}, {status}); its output:\n{self.output()[-3000:]}")

    def wait_json_line(self, key: str, timeout: float) -> dict:
        """The first line of output that is a JSON object holding ``key``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.output().splitlines():
                if line.startswith("{"):
                    try:
                        data = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(data, dict) and key in data:
                        return data
            if not self.alive():
                break
            time.sleep(0.05)
        raise self.failure("the peer did not print its ready line")

    def wait_http_ok(self, urls: Sequence[str], timeout: float) -> None:
        """Wait until every URL answers a GET with 200."""
        deadline = time.monotonic() + timeout
        pending = list(urls)
        with httpx.Client(timeout=2) as client:
            while pending and time.monotonic() < deadline:
                if not self.alive():
                    break
                try:
                    if client.get(pending[0]).status_code == 200:
                        pending.pop(0)
                        continue
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
        if pending:
            raise self.failure(f"the peer did not answer {pending[0]}")

    def stop(self, timeout: float = 5) -> None:
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)
        self._log.close()

    def remove_log(self) -> None:
        self.log_path.unlink(missing_ok=True)


def free_ports(count: int) -> list[int]:
    """Distinct ports that were free a moment ago (for programs that cannot bind port 0 and tell)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()
