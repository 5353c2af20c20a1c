"""The extension grants' ``grant_type`` URNs, once: the client's requests, the development AS and
doctor's grant checks name them from here (RFC 6749 §4.5: an extension grant is an absolute URI)."""

from __future__ import annotations

__all__ = ["DEVICE_CODE", "JWT_BEARER", "TOKEN_EXCHANGE"]

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"  # RFC 7523 §2.1
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"  # RFC 8693 §2.1
DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"  # RFC 8628 §3.4
