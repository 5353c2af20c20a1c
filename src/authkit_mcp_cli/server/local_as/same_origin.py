"""Whether a form post to the development AS's pages came from serve's own page
(RFC 9700 §4.7): the one rule of the consent decision and the device decision.

The origin compared is serve's configured one (the issuer: ``--base-url``, or
the address it listens on), never the request's ``Host``: a page under a DNS
name rebound to 127.0.0.1 is same-origin with itself, sends its own name as
both ``Host`` and ``Origin``, and would pass a comparison with the request.
"""

from __future__ import annotations

from starlette.requests import Request


def cross_site_refusal(request: Request, own_origin: str | None) -> str | None:
    """Why ``request`` did not come from a page of ``own_origin``, or None.

    ``Sec-Fetch-Site`` other than same-origin (or none: typed by the user) is another site's;
    an ``Origin`` other than serve's own (``null`` included) is another origin's. A request with
    neither header (not a browser, or a very old one) passes here; the page's cookie is still needed."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return f"the decision came from another site (Sec-Fetch-Site: {fetch_site[:20]})"
    origin = request.headers.get("origin")
    if origin is not None and origin != own_origin:
        return "the decision came from another origin than this server's"
    return None
