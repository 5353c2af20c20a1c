from __future__ import annotations

import pytest

from peers.asgi import serve_asgi
from peers.fastmcp_peer import run_fastmcp_peer
from peers.oidc_as import PeerMissing, run_oidc_as
from peers.sdk_server import build_sdk_app
from peers.ts_example import run_ts_example


@pytest.fixture(scope="session")
def oidc_issuer():
    """A real, independently written AS (oidc-provider) on loopback.

    A missing Node peer is a failure, not a skip: `make test` installs it.
    """
    try:
        with run_oidc_as() as issuer:
            yield issuer
    except PeerMissing as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def sdk_server(oidc_issuer):
    """The mcp SDK's own resource server, guarding /api/mcp for oidc-provider's tokens."""
    with serve_asgi(lambda base: build_sdk_app(oidc_issuer, base)) as base:
        yield base + "/api/mcp"


@pytest.fixture
def ts_example():
    """The TypeScript SDK's example OAuth server. Function-scoped: tests restart it (about 0.5 s a start)."""
    try:
        with run_ts_example() as peer:
            yield peer
    except PeerMissing as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def fastmcp_peer():
    """FastMCP's in-memory OAuth provider (its own virtualenv; about 1 s to start), shared by a module's tests."""
    try:
        with run_fastmcp_peer() as peer:
            yield peer
    except PeerMissing as exc:
        pytest.fail(str(exc))
