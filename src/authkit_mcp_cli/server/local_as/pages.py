"""HTML of the development AS: the sign-in/consent page and error pages.

Every interpolated value goes through ``html.escape``; pages carry a strict
CSP and refuse framing (clickjacking), and say DEVELOPMENT prominently. The
only CSP source taken from a client is its redirect URI's origin, rebuilt from
validated scheme, host and port (redirect_uris.csp_source), never copied.
"""

from __future__ import annotations

from html import escape

from starlette.responses import HTMLResponse

from authkit_mcp_cli.server.local_as.provider import DEV_USER, AuthorizationRequest
from authkit_mcp_cli.server.local_as.redirect_uris import csp_source

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    # same-origin, not no-referrer: with no-referrer a form POST carries `Origin: null` (Fetch
    # §3.1 "serializing a request origin"), and the decision needs serve's own Origin
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;background:#f4f4f6;margin:0;color:#1c1c21}
.banner{background:#b3261e;color:#fff;padding:.6rem 1rem;font-weight:600;text-align:center;letter-spacing:.02em}
main{max-width:30rem;margin:3rem auto;background:#fff;border-radius:12px;padding:2rem;box-shadow:0 2px 12px rgba(0,0,0,.08)}
h1{font-size:1.3rem;margin:0 0 1rem} dl{display:grid;grid-template-columns:max-content 1fr;gap:.4rem 1rem;margin:1rem 0}
dt{color:#5d5d66} dd{margin:0;word-break:break-all} code{background:#f0f0f3;padding:.1rem .3rem;border-radius:4px}
.actions{display:flex;gap:.8rem;margin-top:1.5rem} button{flex:1;padding:.7rem;font-size:1rem;border-radius:8px;border:1px solid #c9c9d1;cursor:pointer}
button.approve{background:#1d4ed8;color:#fff;border-color:#1d4ed8} .note{color:#5d5d66;font-size:.85rem;margin-top:1.5rem}
.error{color:#b3261e}
"""


def _page(title: str, body: str, status: int = 200, *, form_target: str | None = None) -> HTMLResponse:
    html = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width,initial-scale=1'>"
        f"<title>{escape(title)} · atoms-auth development server</title><style>{STYLE}</style></head><body>"
        "<div class=banner>DEVELOPMENT authorization server (atoms-auth) — not for production</div>"
        f"<main>{body}</main></body></html>"
    )
    headers = dict(SECURITY_HEADERS)
    source = csp_source(form_target) if form_target else None
    if source:
        # form-action also governs the redirect that follows the POST (Chromium enforces it):
        # allow the client's redirect URI origin, and nothing else (issue 14 item 4).
        headers["Content-Security-Policy"] = headers["Content-Security-Policy"].replace("form-action 'self'", f"form-action 'self' {source}")
    return HTMLResponse(html, status_code=status, headers=headers)


def decision_form(action: str, **hidden: str) -> str:
    """The Deny / Approve form of the consent and device pages (every value escaped), and the page's note."""
    fields = "".join(f'<input type=hidden name={escape(name)} value="{escape(value)}">\n' for name, value in hidden.items())
    return f"""<form method=post action="{escape(action)}">
{fields}<div class=actions>
<button type=submit name=decision value=deny id=deny>Deny</button>
<button type=submit name=decision value=approve id=approve class=approve>Approve</button>
</div>
</form>
<p class=note>This page is served by <code>atoms-auth serve</code>'s in-memory development
authorization server. Every sign-in is the local developer account; nothing is checked.</p>
"""


def consent_page(req: AuthorizationRequest, action: str) -> HTMLResponse:
    client = req.client
    name = client.client_name or client.client_id
    source = csp_source(req.redirect_uri)
    redirect_host = source.split("://", 1)[-1] if source and "://" in source else req.redirect_uri
    scopes = " ".join(f"<code>{escape(s)}</code>" for s in req.scopes) or "<em>none</em>"
    body = f"""
<h1>Sign in to the local MCP server</h1>
<p><strong>{escape(name)}</strong> wants to access <code>{escape(req.resource)}</code> as
<strong>{escape(str(DEV_USER['email']))}</strong>.</p>
<dl>
<dt>Client</dt><dd>{escape(name)}{' (metadata document)' if client.metadata_document else ''}</dd>
<dt>Client ID</dt><dd><code>{escape(client.client_id)}</code></dd>
<dt>Returns to</dt><dd><code>{escape(redirect_host)}</code></dd>
<dt>Scopes</dt><dd>{scopes}</dd>
</dl>
{decision_form(action, request_id=req.id, csrf=req.csrf)}"""
    return _page("Sign in", body, form_target=req.redirect_uri)


def error_page(title: str, message: str, status: int = 400) -> HTMLResponse:
    body = f"<h1 class=error>{escape(title)}</h1><p>{escape(message)}</p><p class=note>Return to your MCP client and start again.</p>"
    return _page(title, body, status)
