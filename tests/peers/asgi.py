"""Run an ASGI app with uvicorn on an ephemeral loopback port, in a thread."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn


@contextlib.contextmanager
def serve_asgi(app_factory: Callable[[str], Any], *, host: str = "127.0.0.1") -> Iterator[str]:
    """Yield the base URL (http://127.0.0.1:PORT) while the app is served.

    ``app_factory(base_url)`` builds the app once the port is known, since
    servers put their own URL into metadata.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    base_url = f"http://{host}:{port}"
    config = uvicorn.Config(app_factory(base_url), log_level="warning", lifespan="on", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start within 10 s")
        time.sleep(0.01)
    try:
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()
