"""HTTP side of the device flow (RFC 8628) at the development AS: the device
authorization endpoint (§3.1) and the verification page (§3.3) where the user
enters the code, sees which client asks for what, and approves or denies.

The page looks like the consent page (pages._page: every value escaped, strict
CSP, no framing) and is protected like its form: a CSRF token in the form that
must equal an HttpOnly SameSite=Lax cookie set with the page, and a decision
whose Origin or Sec-Fetch-Site is another site's is refused (RFC 9700 §4.7).
The page asks the user to compare the code with the device's (§5.4). With
auto-approve (demos, tests) opening the complete URI approves, as the consent
page does."""

from __future__ import annotations

import hashlib
import hmac
from html import escape
from urllib.parse import parse_qsl, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from authkit_mcp_cli.capped import MAX_FORM_BYTES, BodyTooLarge, read_capped
from authkit_mcp_cli.server.local_as.device import DEVICE_CODE_TTL, DEVICE_PATH, DeviceGrant
from authkit_mcp_cli.server.local_as.model import DEV_USER, OAuthError
from authkit_mcp_cli.server.local_as.pages import _page, decision_form
from authkit_mcp_cli.server.local_as.provider import LocalAuthorizationServer

AUTHORIZATION_PATH = "/oauth2/device_authorization"
COOKIE = "atoms_auth_device"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def device_routes(las: LocalAuthorizationServer) -> list[Route]:
    async def device_authorization(request: Request) -> Response:
        form = await _read_form(request)
        try:
            return JSONResponse(las.device_authorization(form, request.headers.get("authorization")), headers=NO_STORE)
        except OAuthError as exc:
            headers = dict(NO_STORE)
            if exc.status == 401:
                headers["WWW-Authenticate"] = 'Basic realm="atoms-auth development server"'
            return JSONResponse(exc.body(), status_code=exc.status, headers=headers)

    async def page(request: Request) -> Response:
        typed = request.query_params.get("user_code")
        if not typed:
            return entry_page()
        grant = las.device.find(typed)
        if grant is None:
            return entry_page("That code is unknown, used or expired. Check the code your device shows and try again.", status=400)
        if las.auto_approve:
            las.device.decide(grant, True)
            return result_page(grant, approved=True)
        response = confirm_page(grant)
        response.set_cookie(cookie_name(grant), grant.csrf, max_age=DEVICE_CODE_TTL, path=DEVICE_PATH, httponly=True, samesite="lax", secure=las.issuer.startswith("https:"))
        return response

    async def decision(request: Request) -> Response:
        form = await _read_form(request)
        refusal = _cross_site(request, las.issuer)
        grant = las.device.find(form.get("user_code", "")) if refusal is None else None
        if refusal is None and grant is None:
            refusal = "that code is unknown, used or expired"
        if grant is not None and not (_same(form.get("csrf"), grant.csrf) and _same(request.cookies.get(cookie_name(grant)), grant.csrf)):
            refusal, grant = "this browser was not shown the verification page for this code (the form's token or its cookie is missing)", None
        if grant is None:
            return _page("Decision refused", f"<h1 class=error>Decision refused</h1><p>{escape(refusal or '')}.</p><p class=note>Open the verification page again and enter the code your device shows.</p>", 403)
        las.device.decide(grant, form.get("decision") == "approve")
        response = result_page(grant, approved=form.get("decision") == "approve")
        response.delete_cookie(cookie_name(grant), path=DEVICE_PATH, httponly=True, samesite="lax")
        return response

    return [
        Route(AUTHORIZATION_PATH, device_authorization, methods=["POST"]),
        Route(DEVICE_PATH, page, methods=["GET"]),
        Route(DEVICE_PATH, decision, methods=["POST"]),
    ]


def cookie_name(grant: DeviceGrant) -> str:
    """One cookie per pending device request, so two verification pages open at once do not clash."""
    return COOKIE + "_" + hashlib.sha256(grant.csrf.encode()).hexdigest()[:16]


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def _cross_site(request: Request, issuer: str) -> str | None:
    """Why a decision request did not come from this server's own page, or None (RFC 9700 §4.7)."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return f"the decision came from another site (Sec-Fetch-Site: {fetch_site[:20]})"
    origin = request.headers.get("origin")
    own = {_origin(issuer), f"{request.url.scheme}://{request.url.netloc}"}
    if origin is not None and origin not in own:
        return "the decision came from another origin than this server's"
    return None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def entry_page(problem: str | None = None, status: int = 200) -> HTMLResponse:
    note = f"<p class=error>{escape(problem)}</p>" if problem else ""
    body = f"""
<h1>Connect a device</h1>
<p>Enter the code your device shows (for example <code>atoms-auth login --grant device-code</code>).</p>
{note}
<form method=get action="{escape(DEVICE_PATH)}">
<dl><dt><label for=user_code>Code</label></dt>
<dd><input id=user_code name=user_code autocomplete=off autocapitalize=characters spellcheck=false maxlength=20 placeholder="BCDF-GHJK" required></dd></dl>
<div class=actions><button type=submit id=continue class=approve>Continue</button></div>
</form>
<p class=note>Served by <code>atoms-auth serve</code>'s in-memory development authorization server.</p>
"""
    return _page("Connect a device", body, status)


def confirm_page(grant: DeviceGrant) -> HTMLResponse:
    client = grant.client
    name = client.client_name or client.client_id
    scopes = " ".join(f"<code>{escape(s)}</code>" for s in grant.scopes) or "<em>none</em>"
    body = f"""
<h1>Approve a device</h1>
<p><strong>{escape(name)}</strong> wants to access <code>{escape(grant.resource)}</code> as
<strong>{escape(str(DEV_USER['email']))}</strong>.</p>
<dl>
<dt>Code</dt><dd><code id=shown_code>{escape(grant.user_code)}</code></dd>
<dt>Client</dt><dd>{escape(name)}</dd>
<dt>Client ID</dt><dd><code>{escape(client.client_id)}</code></dd>
<dt>Scopes</dt><dd>{scopes}</dd>
</dl>
<p>Approve only if your device shows this same code. If you did not start this, deny.</p>
{decision_form(DEVICE_PATH, user_code=grant.user_code, csrf=grant.csrf)}"""
    return _page("Approve a device", body)


def result_page(grant: DeviceGrant, *, approved: bool) -> HTMLResponse:
    if approved:
        body = f"<h1 id=result>Device approved</h1><p>The device with code <code>{escape(grant.user_code)}</code> is now signed in. Return to it; you can close this page.</p>"
    else:
        body = f"<h1 id=result class=error>Request denied</h1><p>The device with code <code>{escape(grant.user_code)}</code> was not signed in.</p>"
    return _page("Device approved" if approved else "Request denied", body)


async def _read_form(request: Request) -> dict[str, str]:
    try:
        body = await read_capped(request.stream(), MAX_FORM_BYTES)
    except BodyTooLarge:
        return {}
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))

