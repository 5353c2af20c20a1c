from __future__ import annotations

import pytest

from peers.asgi import serve_asgi
from peers.oidc_as import PeerMissing, run_oidc_as
from peers.sdk_server import build_sdk_app


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
