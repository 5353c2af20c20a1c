"""serve's development AS fetching Client ID Metadata Documents from a real
loopback host (issue 14 item 2): refused by default (the document host sees
no request), fetched with allow_private_cimd (``serve --allow-private-cimd``),
kept as long as its Cache-Control allows, and a closed port reads exactly
like an open one that answers 404."""

from __future__ import annotations

import base64
import hashlib
import json
import socket

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from authkit_mcp_cli.server.local_as.cimd import FETCH_FAILED
from peers.asgi import serve_asgi
from peers.serve_app import serve_app

pytestmark = pytest.mark.integration
REDIRECT = "http://127.0.0.1:3000/cb"


def document_host(hits: list[str]):
    def factory(base: str) -> Starlette:
        async def document(request: Request) -> Response:
            hits.append(request.url.path)
            if request.url.path == "/missing.json":
                return Response("not here", status_code=404, media_type="text/html")
            body = {"client_id": f"{base}{request.url.path}", "client_name": "Loopback CIMD", "redirect_uris": [REDIRECT]}
            return Response(json.dumps(body), media_type="application/json", headers={"Cache-Control": "max-age=600"})

        return Starlette(routes=[Route("/{name}.json", document)])

    return serve_asgi(factory)


def authorize(issuer: str, resource: str, client_id: str) -> httpx.Response:
    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT, "code_challenge": challenge, "code_challenge_method": "S256", "state": "s", "resource": resource, "scope": "mcp:tools"}
    return httpx.get(f"{issuer}/oauth2/authorize", params=params, follow_redirects=False)


def test_loopback_documents_are_refused_by_default():
    hits: list[str] = []
    with document_host(hits) as docs, serve_app() as (info, _):
        answer = authorize(info.issuer, info.mcp_url, f"{docs}/client.json")
    assert answer.status_code == 400 and FETCH_FAILED in answer.text
    assert hits == []  # refused before any connection


def test_allowed_loopback_documents_are_fetched_and_cached():
    hits: list[str] = []
    with document_host(hits) as docs, serve_app(allow_private_cimd=True) as (info, _):
        for _ in range(3):
            answer = authorize(info.issuer, info.mcp_url, f"{docs}/client.json")
            assert answer.status_code == 302 and answer.headers["location"].startswith(REDIRECT + "?code="), answer.text[:300]
    assert hits == ["/client.json"]  # max-age=600: one fetch


def test_a_closed_port_and_an_open_one_read_the_same():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    hits: list[str] = []
    with document_host(hits) as docs, serve_app(allow_private_cimd=True) as (info, _):
        pages = [authorize(info.issuer, info.mcp_url, url) for url in (f"http://127.0.0.1:{closed}/client.json", f"{docs}/missing.json")]
    assert hits == ["/missing.json"]
    assert [p.status_code for p in pages] == [400, 400]
    assert pages[0].text.replace(str(closed), "PORT") == pages[1].text.replace(docs.rsplit(":", 1)[1], "PORT")
    assert "refused" not in pages[0].text.lower() and "404" not in pages[1].text
