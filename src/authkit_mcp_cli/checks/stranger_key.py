"""The stranger's RSA key doctor signs its forged tokens with (``server_probes.forged_tokens``)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey


class StrangerKey:
    """The stranger's RSA key the forged tokens are signed with: one per doctor run (shared by
    the servers of ``doctor --server A --server B``), made in a thread the first time a
    forged-token probe asks, so it is ready by the time the JWKS answers."""

    def __init__(self) -> None:
        self._future: asyncio.Future[RSAPrivateKey] | None = None

    def get(self) -> asyncio.Future[RSAPrivateKey]:
        if self._future is None:
            self._future = asyncio.get_running_loop().run_in_executor(None, _fresh_key)
        return self._future

    async def settle(self) -> None:
        if self._future is not None:
            await asyncio.gather(self._future, return_exceptions=True)


def _fresh_key() -> RSAPrivateKey:
    from authkit_mcp_cli import forged_tokens  # cryptography: imported only when forged tokens are wanted

    return forged_tokens.fresh_key()
