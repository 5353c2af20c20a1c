"""HTTP endpoints of the development AS at AuthKit's paths."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from authkit_mcp_cli.server.local_as.cimd import MetadataDocumentFetcher, is_metadata_url
from authkit_mcp_cli.server.local_as.pages import consent_page, error_page
from authkit_mcp_cli.server.local_as.provider import Client, LocalAuthorizationServer, OAuthError

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
MAX_FORM_BYTES = 64 * 1024
DECISION_PATH = "/oauth2/authorize/decision"


def build_routes(las: LocalAuthorizationServer) -> list[Route]:
    fetcher = MetadataDocumentFetcher()

    async def oauth_metadata(request: Request) -> Response:
        return JSONResponse(las.metadata())

    async def openid_configuration(request: Request) -> Response:
        return JSONResponse(las.openid_configuration())

    async def jwks(request: Request) -> Response:
        return JSONResponse(las.jwks(), headers={"Cache-Control": "public, max-age=300"})

    async def register(request: Request) -> Response:
        try:
            body = json.loads(await _read_body(request))
        except ValueError:
            return _error(OAuthError("invalid_client_metadata", "the body is not JSON"))
        try:
            client = las.register(body)
        except OAuthError as exc:
            return _error(exc)
        return JSONResponse(client.registration_response(), status_code=201, headers=NO_STORE)

    async def find_client(client_id: str) -> Client:
        client = las.clients.get(client_id)
        if client is not None:
            return client
        if is_metadata_url(client_id):
            client = await fetcher.fetch(client_id)
            las.add_metadata_document_client(client)
            return client
        raise OAuthError("invalid_client", f"unknown client_id {client_id!r}: register it first (dynamic client registration) or use a metadata document URL")

    async def authorize(request: Request) -> Response:
        params = dict(request.query_params)
        client_id, redirect_uri = params.get("client_id"), params.get("redirect_uri")
        if not client_id:
            return error_page("Invalid request", "client_id is missing.")
        try:
            client = await find_client(client_id)
        except OAuthError as exc:
            return error_page("Unknown client", exc.description)
        if not redirect_uri and len(client.redirect_uris) == 1:
            redirect_uri = params["redirect_uri"] = client.redirect_uris[0]
        if not redirect_uri or not las.redirect_uri_allowed(client, redirect_uri):
            # Never redirect to an unregistered URI (OAuth 2.1 §4.1.2.1): show the error here.
            return error_page("Invalid redirect URI", f"{redirect_uri or '(none)'} is not registered for this client. Registered: {', '.join(client.redirect_uris)}")
        try:
            pending = las.start_authorization(client, params)
        except OAuthError as exc:
            return RedirectResponse(las.redirect(redirect_uri, {"error": exc.error, "error_description": exc.description, "state": params.get("state")}), status_code=302)
        if las.auto_approve:
            las.take_pending(pending.id, pending.csrf)
            return RedirectResponse(las.approve(pending), status_code=302)
        return consent_page(pending, DECISION_PATH)

    async def decision(request: Request) -> Response:
        form = await _read_form(request)
        try:
            pending = las.take_pending(form.get("request_id", ""), form.get("csrf", ""))
        except OAuthError as exc:
            return error_page("Sign-in expired", exc.description)
        target = las.approve(pending) if form.get("decision") == "approve" else las.deny(pending)
        return RedirectResponse(target, status_code=303)

    async def token(request: Request) -> Response:
        form = await _read_form(request)
        try:
            return JSONResponse(las.token(form, request.headers.get("authorization")), headers=NO_STORE)
        except OAuthError as exc:
            return _error(exc)

    async def revoke(request: Request) -> Response:
        form = await _read_form(request)
        try:
            las.revoke(form, request.headers.get("authorization"))
        except OAuthError as exc:
            return _error(exc)
        return Response(status_code=200, headers=NO_STORE)

    return [
        Route("/.well-known/oauth-authorization-server", oauth_metadata, methods=["GET"]),
        Route("/.well-known/openid-configuration", openid_configuration, methods=["GET"]),
        Route("/oauth2/jwks", jwks, methods=["GET"]),
        Route("/oauth2/register", register, methods=["POST"]),
        Route("/oauth2/authorize", authorize, methods=["GET"]),
        Route(DECISION_PATH, decision, methods=["POST"]),
        Route("/oauth2/token", token, methods=["POST"]),
        Route("/oauth2/revoke", revoke, methods=["POST"]),
    ]


async def _read_body(request: Request) -> bytes:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise ValueError("body too large")
    return body


async def _read_form(request: Request) -> dict[str, str]:
    try:
        raw = await _read_body(request)
    except ValueError:
        return {}
    return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))


def _error(exc: OAuthError) -> JSONResponse:
    headers = dict(NO_STORE)
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="atoms-auth development server"'
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)
