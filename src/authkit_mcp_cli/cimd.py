"""Client ID Metadata Documents (MCP 2026-07-28 Client Registration;
draft-ietf-oauth-client-id-metadata-document): building one, and the rules a
hosted one must follow. Shared by ``register --cimd-url/--check`` and the
development AS."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from authkit_mcp_cli.urls import is_loopback_host

SHARED_SECRET_METHODS = frozenset({"client_secret_basic", "client_secret_post", "client_secret_jwt"})


def is_client_id_url(value: str, *, allow_loopback_http: bool = False) -> bool:
    """An https URL with a path (not just '/'), no fragment: a valid CIMD client_id."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    secure = parts.scheme == "https" or (allow_loopback_http and parts.scheme == "http" and is_loopback_host(parts.hostname))
    return secure and bool(parts.hostname) and parts.path not in ("", "/") and not parts.fragment


def build_document(client_id_url: str, *, client_name: str, redirect_uris: list[str], scope: str | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "client_id": client_id_url,
        "client_name": client_name,
        "redirect_uris": redirect_uris,
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "application_type": "native",
    }
    if scope:
        doc["scope"] = scope
    return doc


def document_problems(client_id_url: str, doc: Any, *, allow_loopback_http: bool = False) -> list[str]:
    """Every rule the document breaks, in plain words; empty when it is valid."""
    problems: list[str] = []
    if not is_client_id_url(client_id_url, allow_loopback_http=allow_loopback_http):
        problems.append(f"the URL {client_id_url} is not an https URL with a path, so it cannot be a client_id")
    if not isinstance(doc, dict):
        return [*problems, "the document is not a JSON object"]
    if doc.get("client_id") != client_id_url:
        problems.append(f"client_id is {doc.get('client_id')!r}, not the document's own URL {client_id_url}")
    if not isinstance(doc.get("client_name"), str) or not doc["client_name"].strip():
        problems.append("client_name is missing (the AS shows it on the consent screen)")
    uris = doc.get("redirect_uris")
    if not isinstance(uris, list) or not uris or not all(isinstance(u, str) for u in uris):
        problems.append("redirect_uris is missing or not a non-empty array of strings")
    method = doc.get("token_endpoint_auth_method", "none")
    if method in SHARED_SECRET_METHODS:
        problems.append(f"token_endpoint_auth_method {method} needs a shared secret, which a metadata document cannot have (use none or private_key_jwt)")
    if "client_secret" in doc:
        problems.append("the document contains a client_secret: remove it, the document is public")
    return problems
