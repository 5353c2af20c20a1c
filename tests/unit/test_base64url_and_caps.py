"""The small shared helpers of issue #21 item 8: base64url once, bodies read under a cap once, the
extension grant URNs once (pinned on the source, so a sixth copy fails here)."""

from __future__ import annotations

import asyncio
import binascii
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from authkit_mcp_cli import base64url
from authkit_mcp_cli.capped import BodyTooLarge, kib, read_capped

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "authkit_mcp_cli"
# server/dpop_proof.py keeps its own decode until the DPoP proof checker is rewritten (issue #21 item 3)
NOT_YET: set[str] = set()


def test_base64url_has_no_padding_and_round_trips():
    for data in (b"", b"f", b"fo", b"foo", b"\xfb\xff\xfe"):
        text = base64url.encode(data)
        assert "=" not in text and "+" not in text and "/" not in text
        assert base64url.decode(text) == base64url.decode(text, strict=True) == data
    assert base64url.encode(b"\xfb\xff") == "-_8"  # RFC 4648 §5's alphabet


def test_strict_decoding_refuses_what_the_lenient_one_skips():
    assert base64url.decode("Zm9v!") == b"foo"  # skipped, as base64.urlsafe_b64decode does
    with pytest.raises(binascii.Error):
        base64url.decode("Zm9v!", strict=True)


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def test_read_capped_stops_at_the_cap_and_keeps_what_came_before():
    assert asyncio.run(read_capped(_chunks(b"ab", b"cd"), 4)) == b"abcd"
    with pytest.raises(BodyTooLarge) as raised:
        asyncio.run(read_capped(_chunks(b"ab", b"cd", b"e"), 4))
    assert raised.value.head == b"abcd" and raised.value.limit == 4 and isinstance(raised.value, ValueError)


def test_the_cap_is_named_in_whole_kib_and_the_error_says_what_happened():
    assert kib(1024 * 1024) == "1024 KiB" and kib(1536) == "1 KiB"  # whole KiB, never "1.5 KiB"
    refused = BodyTooLarge(2048)
    assert str(refused) == "the body is larger than 2 KiB (stopped reading)" and refused.head == b""
    assert str(BodyTooLarge(2048, b"ab", "the JWKS is too large")) == "the JWKS is too large"


def _sources() -> dict[str, str]:
    return {str(p.relative_to(PACKAGE)): p.read_text(encoding="utf-8") for p in PACKAGE.rglob("*.py")}


def test_one_base64url_helper():
    users = {name for name, text in _sources().items() if re.search(r"urlsafe_b64(en|de)code|altchars=b\"-_\"", text)}
    assert users - NOT_YET == {"base64url.py"}


def test_one_home_for_the_grant_urns_and_the_body_loop():
    sources = _sources()
    assert {name for name, text in sources.items() if "urn:ietf:params:oauth:grant-type:" in text} == {"oauth/grant_types.py"}
    # a hand-written "read chunks, stop past the cap" loop outside capped.py (transport.py streams, it does not buffer)
    loops = {name for name, text in sources.items() if re.search(r"async for chunk in .*(aiter_bytes|aiter_raw|request\.stream)\(\)", text)}
    assert loops == set()
