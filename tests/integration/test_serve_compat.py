"""The guide's compatibility endpoints in AuthKit mode: raw forwarding, caching,
and a clean 502 when the AS is down, slow or answers garbage."""

from __future__ import annotations

import time

import httpx
import pytest

from authkit_mcp_cli.server.app import build_app
from authkit_mcp_cli.server.config import resolve_serve_config
from peers.asgi import serve_asgi
from peers.key_as import KeyAS

pytestmark = pytest.mark.integration


@pytest.fixture
def stack():
    key_as = KeyAS()
    key_as.add_key("k1")
    with serve_asgi(key_as.app) as as_base:
        cfg = resolve_serve_config({}, host="127.0.0.1", port=0, path=None, base_url=None, authkit_domain=as_base, required_scopes="", auto_approve=False, allowed_hosts=[], stateless=False, workers=1)
        with serve_asgi(lambda base: build_app(cfg, int(base.rsplit(":", 1)[1]))[0]) as base:
            yield key_as, as_base, base


def test_documents_are_forwarded_byte_for_byte_with_cors(stack):
    key_as, as_base, base = stack
    upstream = httpx.get(as_base + "/.well-known/oauth-authorization-server")
    response = httpx.get(base + "/.well-known/oauth-authorization-server", headers={"Origin": "http://localhost:6274"})
    assert response.status_code == 200
    assert response.content == upstream.content
    assert response.headers["access-control-allow-origin"] == "*"
    pre = httpx.options(base + "/.well-known/openid-configuration", headers={"Origin": "http://localhost:6274", "Access-Control-Request-Method": "GET"})
    assert pre.status_code == 200 and pre.headers["access-control-allow-origin"]
    assert httpx.options(base + "/.well-known/oauth-authorization-server").status_code == 204  # the guide's handler answers OPTIONS with 204


def test_cached_copy_survives_an_outage(stack):
    key_as, _, base = stack
    first = httpx.get(base + "/.well-known/oauth-authorization-server")
    key_as.down = True
    second = httpx.get(base + "/.well-known/oauth-authorization-server")
    assert second.status_code == 200 and second.content == first.content


@pytest.mark.parametrize("fault", ["down", "garbage", "slow"])
def test_as_trouble_gives_a_clean_502(stack, fault):
    key_as, _, base = stack
    if fault == "slow":
        key_as.delay = 6
    else:
        setattr(key_as, fault, True)
    started = time.monotonic()
    response = httpx.get(base + "/.well-known/oauth-authorization-server", timeout=20)
    assert response.status_code == 502
    body = response.json()
    assert body["error"] == "upstream_unavailable" and "could not be fetched" in body["error_description"]
    # the 502 for "slow" is itself the event (the AS answers at 6 s); the clock only bounds a hang, at 3x the 5 s deadline
    assert time.monotonic() - started < 15
    key_as.delay = 0
