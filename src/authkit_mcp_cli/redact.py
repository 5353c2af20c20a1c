"""Keep secrets out of output and traces.

What counts as a secret (design.md): Authorization and cookie values,
access/refresh/ID tokens, client secrets, authorization codes, PKCE code
verifiers, and registration access tokens. A redacted value keeps a short
fingerprint so two traces can still be compared.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from authkit_mcp_cli import base64url

SECRET_FIELDS = frozenset(
    {
        "access_token",
        "refresh_token",
        "id_token",
        "client_secret",
        "code",
        "code_verifier",
        "device_code",  # RFC 8628 §3.2: whoever holds it can poll for the tokens
        "registration_access_token",
        "assertion",
        "client_assertion",
        "subject_token",
        "token",
        "password",
    }
)
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})


def fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def mask(value: str) -> str:
    return f"[redacted len={len(value)} sha256:{fingerprint(value)}]"


# Headers whose value is a URL: an authorization response redirect carries the code in it.
URL_HEADERS = frozenset({"location", "content-location"})


def redact_header(name: str, value: str) -> str:
    if name.lower() in URL_HEADERS:
        return redact_url(value)
    if name.lower() not in SECRET_HEADERS:
        return value
    scheme, _, rest = value.partition(" ")
    if name.lower() in ("authorization", "proxy-authorization") and rest:
        return f"{scheme} {mask(rest)}"
    return mask(value)


def redact_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k, redact_header(k, v)) for k, v in headers]


def redact_url(url: str) -> str:
    """The URL with secret parameters masked, in the query and in a query-shaped fragment (implicit-style responses)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    query, fragment = _redact_pairs(parts.query), _redact_pairs(parts.fragment)
    if query == parts.query and fragment == parts.fragment:
        return url
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, fragment))


def _redact_pairs(text: str) -> str:
    if "=" not in text:
        return text
    pairs = parse_qsl(text, keep_blank_values=True)
    if not any(k in SECRET_FIELDS for k, _ in pairs):
        return text
    return urlencode([(k, mask(v) if k in SECRET_FIELDS else v) for k, v in pairs])


def redact_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (mask(v) if k in SECRET_FIELDS and isinstance(v, str) else redact_json(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_json(v) for v in value]
    return value


def redact_body(body: bytes, content_type: str | None) -> str:
    """A body as text with secret fields masked (JSON or form-encoded)."""
    text = body.decode("utf-8", "replace")
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype == "application/x-www-form-urlencoded" or (not ctype and "=" in text and "{" not in text):
        pairs = parse_qsl(text, keep_blank_values=True)
        if pairs:
            return urlencode([(k, mask(v) if k in SECRET_FIELDS else v) for k, v in pairs])
    if ctype == "text/event-stream":  # MCP over SSE: each data line may be a JSON-RPC message
        return "\n".join(_redact_sse_line(line) for line in text.split("\n"))
    try:
        data = json.loads(text)
    except ValueError:
        return text
    return json.dumps(redact_json(data), ensure_ascii=False)


def _redact_sse_line(line: str) -> str:
    if not line.startswith("data:"):
        return line
    try:
        return "data: " + json.dumps(redact_json(json.loads(line[5:])), ensure_ascii=False)
    except ValueError:
        return line


def decode_jwt_unverified(token: str) -> dict[str, Any] | None:
    """Header and claims of a compact JWS, for display only (never trust them)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        header = json.loads(base64url.decode(parts[0]))
        claims = json.loads(base64url.decode(parts[1]))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return None
    return {"header": header, "claims": claims}


