"""Run `serve` with uvicorn: bind first (so --port 0 works and the public URL
is known before the app is built), print the banner, serve until Ctrl-C.

Several workers share the bound socket; each builds its own app from the
same configuration (AuthKit mode only: the development AS is in-memory).

Every uvicorn here speaks HTTP/1.1 through the guarded httptools protocol
(limits.py: request head and trailer size, head and body deadlines) and, for the CLI, logs
through one handler in one format (logs.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from typing import Any

import uvicorn

from authkit_mcp_cli.server.app import ServeInfo, build_app
from authkit_mcp_cli.server.config import ServeConfig
from authkit_mcp_cli.server.limits import apply_limits
from authkit_mcp_cli.server.logs import AccessLog, configure

CONFIG_ENV = "ATOMS_AUTH_SERVE_CONFIG"


def uvicorn_config(app: Any, cfg: ServeConfig, **options: Any) -> uvicorn.Config:
    """A uvicorn Config with serve's fixed choices and the request limits (head, trailers, deadlines).

    X-Forwarded-For and -Proto are believed only from the proxies named with
    --forwarded-allow-ips: uvicorn's own default trusts 127.0.0.1 (or $FORWARDED_ALLOW_IPS),
    so any local client could name itself any address (the development AS's per-address limits,
    the access log). The Config travels to every worker."""
    proxies = list(cfg.forwarded_allow_ips)
    config = uvicorn.Config(app, server_header=False, proxy_headers=bool(proxies), forwarded_allow_ips=proxies, **options)
    return apply_limits(config, max_header_bytes=cfg.max_header_bytes, header_timeout=cfg.header_timeout, body_timeout=cfg.body_timeout)


def bind(cfg: ServeConfig) -> socket.socket:
    family = socket.AF_INET6 if ":" in cfg.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit this: without it Nagle holds the body behind the headers until
    # the client's delayed ACK (~40 ms a response; uvicorn sets it only on sockets it binds).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((cfg.host, cfg.port))
    sock.set_inheritable(True)
    return sock


def app_from_environment():
    """uvicorn factory for worker processes."""
    raw = json.loads(os.environ[CONFIG_ENV])
    fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in raw["config"].items()}
    cfg = ServeConfig(**fields)
    app, _ = build_app(cfg, raw["port"])
    return AccessLog(app)


@contextlib.contextmanager
def asgi_in_thread(app_factory: Callable[[str], Any], *, host: str = "127.0.0.1", port: int = 0, cfg: ServeConfig | None = None) -> Iterator[str]:
    """Serve ``app_factory(base_url)`` with uvicorn on a background thread; yield the base URL.

    The socket is bound first, so the app can name its own URL (demo, tests, benchmarks).
    ``cfg`` supplies the request-head limits (the defaults otherwise).
    """
    cfg = cfg or ServeConfig(host=host, port=port)
    sock = bind(ServeConfig(host=host, port=port))
    base_url = f"http://{host}:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn_config(app_factory(base_url), cfg, log_level="error", timeout_graceful_shutdown=2, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="atoms-auth-asgi", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("the embedded server did not start")
        time.sleep(0.01)
    try:
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextlib.contextmanager
def serve_in_thread(cfg: ServeConfig) -> Iterator[ServeInfo]:
    """Run serve in this process on a background thread (demo, tests); stops on exit."""
    built: dict[str, ServeInfo] = {}

    def factory(base_url: str):
        app, built["info"] = build_app(cfg, int(base_url.rsplit(":", 1)[1]))
        return app

    with asgi_in_thread(factory, host=cfg.host, port=cfg.port, cfg=cfg):
        yield built["info"]


def serve(cfg: ServeConfig, *, on_ready: Callable[[ServeInfo], None], log_level: str = "info", log_format: str = "text") -> None:
    # before anything logs, and before the MCP SDK's basicConfig would install its own handler
    log_config = configure(log_level, log_format)
    sock = bind(cfg)
    port = sock.getsockname()[1]
    options: dict[str, Any] = {"log_config": log_config, "log_level": log_level, "access_log": False, "timeout_graceful_shutdown": 3}
    if cfg.workers > 1:
        os.environ[CONFIG_ENV] = json.dumps({"config": asdict(cfg), "port": port})
        _, info = build_app(cfg, port)  # for the banner only
        on_ready(info)
        from uvicorn.supervisors import Multiprocess

        config = uvicorn_config("authkit_mcp_cli.server.runner:app_from_environment", cfg, factory=True, workers=cfg.workers, **options)
        Multiprocess(config, sockets=[sock]).run()
        return
    app, info = build_app(cfg, port)
    on_ready(info)
    server = uvicorn.Server(uvicorn_config(AccessLog(app), cfg, **options))
    server.run(sockets=[sock])
