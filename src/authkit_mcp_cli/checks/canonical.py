"""One cause, one finding: the URL typed for the server against the server's
canonical one (its protected-resource metadata's ``resource``; MCP 2026-07-28
Authorization: Canonical Server URI). When they differ only in ways that name
the same endpoint (a trailing slash, ``localhost`` vs ``127.0.0.1``, a default
port written out, letter case of scheme or host), doctor says so once
(``server.url``) and checks the server at its canonical URL, instead of
reporting every probe of the typed URL and telling the owner to change a
``resource`` that is already right."""

from __future__ import annotations

from urllib.parse import urlsplit

LOOPBACK_NAMES = {"localhost": "loopback", "127.0.0.1": "loopback", "::1": "loopback"}
DEFAULT_PORTS = {"http": 80, "https": 443}


def _parts(url: str) -> tuple[str, str, int | None, str, str, str] | None:
    try:
        p = urlsplit(url)
        port = p.port
    except ValueError:
        return None
    scheme, host = p.scheme.lower(), (p.hostname or "").lower()
    return scheme, host, port if port is not None else DEFAULT_PORTS.get(scheme), p.path, p.query, p.fragment


def differences(typed: str, canonical: str) -> list[str] | None:
    """How ``typed`` differs from ``canonical`` when both name the same endpoint
    (None when they name different things, or when ``canonical`` itself has a
    trailing slash, which is the server's finding, prm.resource's)."""
    a, b = _parts(typed), _parts(canonical)
    if a is None or b is None or typed == canonical:
        return None
    (s1, h1, p1, path1, q1, f1), (s2, h2, p2, path2, q2, f2) = a, b
    if path2.endswith("/") or (s1, p1, q1, f1) != (s2, p2, q2, f2) or path1.rstrip("/") != path2:
        return None
    if LOOPBACK_NAMES.get(h1, h1) != LOOPBACK_NAMES.get(h2, h2):
        return None
    found = []
    if path1 != path2:
        found.append("a trailing slash")
    if h1 != h2:
        found.append(f"{h1} vs {h2}")
    t, c = urlsplit(typed), urlsplit(canonical)
    if (t.port is None) != (c.port is None):
        found.append(f"the default port :{p1} written out")
    raw_t, raw_c = (u.netloc.rsplit(":", 1)[0] if u.port else u.netloc for u in (t, c))
    if t.scheme != c.scheme or (raw_t != raw_c and raw_t.lower() == raw_c.lower()):
        found.append("letter case")
    return found or None
