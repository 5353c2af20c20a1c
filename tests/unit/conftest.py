"""Unit tests make no real DNS query (issue #28 item 6): a name other than ``localhost`` looked up
by any unit test fails it, even when the code under test swallowed the lookup's failure."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator

import pytest

LOOPBACK_NAMES = {"localhost", "localhost.", ""}


def _is_allowed(host: object) -> bool:
    if host is None:
        return True
    name = host.decode("ascii", "replace") if isinstance(host, bytes) else str(host)
    if name.lower() in LOOPBACK_NAMES:
        return True
    try:
        ipaddress.ip_address(name.split("%", 1)[0])  # an address literal: no query
    except ValueError:
        return False
    return True


@pytest.fixture(autouse=True)
def _no_dns(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    asked: list[str] = []
    real_getaddrinfo, real_gethostbyname = socket.getaddrinfo, socket.gethostbyname

    def getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not _is_allowed(host):
            asked.append(str(host))
            raise socket.gaierror(socket.EAI_NONAME, f"unit tests make no DNS query ({host!r})")
        return real_getaddrinfo(host, *args, **kwargs)

    def gethostbyname(host):  # type: ignore[no-untyped-def]
        if not _is_allowed(host):
            asked.append(str(host))
            raise socket.gaierror(socket.EAI_NONAME, f"unit tests make no DNS query ({host!r})")
        return real_gethostbyname(host)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "gethostbyname", gethostbyname)
    yield asked
    if asked:
        pytest.fail(f"this unit test looked up {sorted(set(asked))} in DNS; use 127.0.0.1 or localhost, or stub the resolver")
