"""HTTP endpoints of the development AS at AuthKit's paths."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from authkit_mcp_cli.capped import BodyTooLarge
from authkit_mcp_cli.server.local_as.bodies import disconnect_is_not_an_error, load_client_metadata, read_body, read_form
from authkit_mcp_cli.server.local_as.cimd import MetadataDocumentFetcher, is_metadata_url
from authkit_mcp_cli.server.local_as.device_page import device_routes
from authkit_mcp_cli.server.local_as.model import PENDING_TTL
from authkit_mcp_cli.server.local_as.pages import consent_page, error_page
from authkit_mcp_cli.server.local_as.provider import AuthorizationRequest, Client, LocalAuthorizationServer, OAuthError
from authkit_mcp_cli.server.local_as.redirect_uris import origin_of, trusted_for_redirect
from authkit_mcp_cli.server.local_as.same_origin import cross_site_refusal

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
AUTHORIZE_PATH = "/oauth2/authorize"
DECISION_PATH = AUTHORIZE_PATH + "/decision"
# The endpoints other origins may call from a browser (CORS): metadata, keys, registration,
# token and revocation. Everything else (authorize, the consent decision, any page a user
# interacts with, such as a device verification page) gets no CORS headers (issue 14 item 1).
CORS_PATHS = (
    "/.well-known/oauth-authorization-server",
    "/.well-known/openid-configuration",
    "/oauth2/jwks",
    "/oauth2/register",
    "/oauth2/token",
    "/oauth2/revoke",
    "/oauth2/device_authorization",  # called by the client, like the token endpoint; the page (/oauth2/device) stays out
)
CONSENT_COOKIE = "atoms_auth_consent_"


class ConsentBinding:
    """Ties a consent decision to the browser that was shown the consent page.

    The page sets an HttpOnly, SameSite=Lax cookie scoped to the authorize path whose
    value is an HMAC of the pending request's id; the decision needs it, and refuses an
    Origin other than serve's own or a Sec-Fetch-Site other than same-origin
    (same_origin.cross_site_refusal, RFC 9700 §4.7; oidc-provider binds its interactions
    the same way). Nothing is stored per request.
    """

    def __init__(self, issuer: str) -> None:
        self._key = secrets.token_bytes(32)
        self.origin = origin_of(issuer)

    def _mac(self, label: str, request_id: str) -> str:
        return hmac.new(self._key, f"{label}:{request_id}".encode(), hashlib.sha256).hexdigest()

    def cookie_name(self, request_id: str) -> str:
        return CONSENT_COOKIE + self._mac("name", request_id)[:16]  # one per pending request: parallel sign-ins coexist

    def set_cookie(self, response: Response, request_id: str) -> None:
        response.set_cookie(self.cookie_name(request_id), self._mac("value", request_id), max_age=PENDING_TTL, path=AUTHORIZE_PATH, httponly=True, samesite="lax", secure=self.origin is not None and self.origin.startswith("https:"))

    def clear_cookie(self, response: Response, request_id: str) -> None:
        response.delete_cookie(self.cookie_name(request_id), path=AUTHORIZE_PATH, httponly=True, samesite="lax")

    def refusal(self, request: Request, request_id: str) -> str | None:
        """Why this decision request is not the consent page's own, or None."""
        refusal = cross_site_refusal(request, self.origin)
        if refusal is not None:
            return refusal
        cookie = request.cookies.get(self.cookie_name(request_id)) if request_id else None
        if not cookie or not hmac.compare_digest(cookie, self._mac("value", request_id)):
            return "this browser was not shown the consent page for this sign-in (its cookie is missing)"
        return None


def build_routes(las: LocalAuthorizationServer, fetcher: MetadataDocumentFetcher | None = None) -> list[Route]:
    fetcher = fetcher or MetadataDocumentFetcher()
    binding = ConsentBinding(las.issuer)

    async def oauth_metadata(request: Request) -> Response:
        return JSONResponse(las.metadata())

    async def openid_configuration(request: Request) -> Response:
        return JSONResponse(las.openid_configuration())

    async def jwks(request: Request) -> Response:
        return JSONResponse(las.jwks(), headers={"Cache-Control": "public, max-age=300"})

    async def register(request: Request) -> Response:
        try:
            body = load_client_metadata(await read_body(request), "the registration request")
            client = las.register(body, request.client.host if request.client else None)  # rate-limited per address
        except BodyTooLarge as exc:
            return _error(OAuthError("invalid_client_metadata", f"the registration request is refused: {exc}"))
        except OAuthError as exc:
            return _error(exc)
        return JSONResponse(client.registration_response(), status_code=201, headers=NO_STORE)

    async def find_client(client_id: str) -> Client:
        if is_metadata_url(client_id):  # the fetcher's cache keeps it as long as HTTP allows, then fetches again
            client = await fetcher.fetch(client_id)
            las.add_metadata_document_client(client)
            return client
        registered = las.clients.get(client_id)
        if registered is not None:
            return registered
        raise OAuthError("invalid_client", f"unknown client_id {client_id!r}: register it first (dynamic client registration) or use a metadata document URL")

    async def authorize(request: Request) -> Response:
        # Until the client and redirect URI are verified, every error is a page here, never a
        # redirect (RFC 6749 §4.1.2.1, RFC 9700 §4.11.2): no open redirector.
        repeated = sorted({k for k, _ in request.query_params.multi_items() if len(request.query_params.getlist(k)) > 1})
        if repeated:
            return error_page("Invalid request", f"parameters sent more than once: {', '.join(repeated)} (RFC 6749 §3.1).")
        params = dict(request.query_params)
        client_id, redirect_uri = params.get("client_id"), params.get("redirect_uri")
        if not client_id:
            return error_page("Invalid request", "client_id is missing.")
        try:
            client = await find_client(client_id)
        except OAuthError as exc:
            return error_page("Unknown client", f"{exc.error}: {exc.description}")
        if not redirect_uri and len(client.redirect_uris) == 1:
            redirect_uri = params["redirect_uri"] = client.redirect_uris[0]
        if not redirect_uri or not las.redirect_uri_allowed(client, redirect_uri):
            # Never redirect to an unregistered URI (OAuth 2.1 §4.1.2.1): show the error here.
            return error_page("Invalid redirect URI", f"{redirect_uri or '(none)'} is not registered for this client.")
        trusted = trusted_for_redirect(client, redirect_uri)
        try:
            pending = las.start_authorization(client, params)
        except OAuthError as exc:
            if not trusted:
                # open registration: a registered https URI is anyone's, so no automatic redirect there
                return error_page("Invalid authorization request", f"{exc.error}: {exc.description}")
            return RedirectResponse(las.redirect(redirect_uri, {"error": exc.error, "error_description": exc.description, "state": params.get("state")}), status_code=302)
        if las.auto_approve and trusted:
            las.take_pending(pending.id, pending.csrf)
            return RedirectResponse(las.approve(pending), status_code=302)
        page = consent_page(pending, DECISION_PATH)
        binding.set_cookie(page, pending.id)
        return page

    async def decision(request: Request) -> Response:
        form = await read_form(request)
        request_id = form.get("request_id", "")
        refusal = binding.refusal(request, request_id)
        if refusal is not None:
            # checked before the pending request is taken: a forged decision cannot burn the user's sign-in
            return error_page("Decision refused", refusal + ". Approve or deny on the page this server showed you.", status=403)
        try:
            pending: AuthorizationRequest = las.take_pending(request_id, form.get("csrf", ""))
        except OAuthError as exc:
            return error_page("Sign-in expired", exc.description)
        target = las.approve(pending) if form.get("decision") == "approve" else las.deny(pending)
        response = RedirectResponse(target, status_code=303)
        binding.clear_cookie(response, request_id)
        return response

    async def token(request: Request) -> Response:
        form = await read_form(request)
        try:
            return JSONResponse(las.token(form, request.headers.get("authorization"), single_dpop_header(request)), headers=NO_STORE)
        except OAuthError as exc:
            return _error(exc)

    async def revoke(request: Request) -> Response:
        form = await read_form(request)
        try:
            las.revoke(form, request.headers.get("authorization"))
        except OAuthError as exc:
            return _error(exc)
        return Response(status_code=200, headers=NO_STORE)

    return [
        Route("/.well-known/oauth-authorization-server", oauth_metadata, methods=["GET"]),
        Route("/.well-known/openid-configuration", openid_configuration, methods=["GET"]),
        Route("/oauth2/jwks", jwks, methods=["GET"]),
        Route("/oauth2/register", disconnect_is_not_an_error(register), methods=["POST"]),
        Route(AUTHORIZE_PATH, authorize, methods=["GET"]),
        Route(DECISION_PATH, disconnect_is_not_an_error(decision), methods=["POST"]),
        Route("/oauth2/token", disconnect_is_not_an_error(token), methods=["POST"]),
        Route("/oauth2/revoke", disconnect_is_not_an_error(revoke), methods=["POST"]),
        *device_routes(las),
    ]


def single_dpop_header(request: Request) -> str | None:
    """The request's one DPoP proof, or None; two or more are refused (RFC 9449 §4.3 item 1)."""
    proofs = request.headers.getlist("dpop")
    if len(proofs) > 1:
        raise OAuthError("invalid_dpop_proof", f"the request carries {len(proofs)} DPoP headers: send exactly one proof (RFC 9449 §4.3)")
    return proofs[0] if proofs else None


def _error(exc: OAuthError) -> JSONResponse:
    headers = dict(NO_STORE)
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="atoms-auth development server"'
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)
