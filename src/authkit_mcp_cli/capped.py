"""Bodies read under a size cap, once, and the caps themselves (issue 14 item 8; issue #21 item 8).

A remote decides how much it sends; every body this package buffers is read chunk by chunk and
refused past its cap, never read whole first (decoded chunks, so the cap also stops a compression
bomb, unless the caller hands in raw chunks and refuses compression itself, as the CIMD fetch does).
The MCP SDK's responses stream through ``transport.py``, which counts them against
:data:`MAX_MCP_BODY_BYTES` as they pass.
"""

from __future__ import annotations

from collections.abc import AsyncIterable

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_CLIENT_METADATA_BYTES",
    "MAX_FORM_BYTES",
    "MAX_MCP_BODY_BYTES",
    "MAX_SERVED_DOCUMENT_BYTES",
    "BodyTooLarge",
    "read_capped",
]

# the client: any OAuth answer (metadata, JWKS, token, registration) is far smaller
MAX_BODY_BYTES = 1024 * 1024
# the client: MCP responses carry tool results, which may be larger than any OAuth document
MAX_MCP_BODY_BYTES = 16 * 1024 * 1024
# serve: AS metadata and the JWK Set it fetches to verify tokens (a few KiB) must not fill its memory
MAX_SERVED_DOCUMENT_BYTES = 256 * 1024
# serve's development AS: a client ID metadata document, fetched from a URL anyone can name (SSRF)
MAX_CLIENT_METADATA_BYTES = 64 * 1024
# serve's development AS: a form or JSON request body (token, registration, consent, device pages)
MAX_FORM_BYTES = 64 * 1024


class BodyTooLarge(ValueError):
    """The body went past ``limit`` bytes; ``head`` holds what was read up to the cap."""

    def __init__(self, limit: int, head: bytes = b"", message: str | None = None) -> None:
        super().__init__(message or f"the body is larger than {kib(limit)} (stopped reading)")
        self.limit = limit
        self.head = head


def kib(limit: int) -> str:
    return f"{limit // 1024} KiB"


async def read_capped(chunks: AsyncIterable[bytes], limit: int) -> bytes:
    """The chunks joined; :class:`BodyTooLarge` as soon as they pass ``limit`` bytes."""
    body = bytearray()
    async for chunk in chunks:
        if len(body) + len(chunk) > limit:
            raise BodyTooLarge(limit, bytes(body))
        body.extend(chunk)
    return bytes(body)
