"""The device authorization grant (RFC 8628) at the development AS: the device
authorization endpoint (§3.1, §3.2), user codes from an unambiguous alphabet
(§6.1), the decision the verification page records, and the polling answers
of the token endpoint (§3.4, §3.5: authorization_pending, slow_down,
access_denied, expired_token)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from authkit_mcp_cli.oauth.grant_types import DEVICE_CODE
from authkit_mcp_cli.server.local_as.model import Client, OAuthError
from authkit_mcp_cli.server.local_as.stores import MAX_DEVICE_CODES, BoundedStore, RateLimiter

USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"  # RFC 8628 §6.1: no vowels, no digits (20^8 codes)
USER_CODE_LENGTH = 8
DEVICE_CODE_TTL = 600  # seconds (expires_in)
INTERVAL = 5  # seconds between polls (§3.2's default)
SLOW_DOWN_STEP = 5  # §3.5: every slow_down adds 5 seconds
POLL_SLACK = 0.2  # a poll this much early is still on time (timer jitter); more is slow_down (§3.5)
MAX_FAILED_LOOKUPS = 50  # wrong user codes a minute from one browser session (or from the address without one)
MAX_FAILED_LOOKUPS_PER_ADDRESS = 500  # wrong codes a minute from one address, whatever its sessions (§5.1 brute force)
MAX_LOCKOUT_KEYS = 1000  # sessions and addresses remembered (least recently used out first)
DEVICE_PATH = "/oauth2/device"


class Issuer(Protocol):
    """What the device grant needs of the development AS (provider.LocalAuthorizationServer)."""

    issuer: str
    resource: str

    def grant_scopes(self, client: Client, requested: str | None) -> list[str]: ...

    def _issue(self, client: Client, scopes: list[str], resource: str, family: str, *, nonce: str | None, with_id_token: bool, keep_scopes: list[str] | None = None, subject: str | None = None, refresh: bool = True, jkt: str | None = None) -> dict[str, Any]: ...


@dataclass
class DeviceGrant:
    device_code: str
    user_code: str
    client: Client
    scopes: list[str]
    resource: str
    expires_at: float
    interval: float
    last_poll: float
    csrf: str  # the verification page's form token (also set as a SameSite cookie)
    status: Literal["pending", "approved", "denied"] = "pending"

    @property
    def expired(self) -> bool:
        return self.expires_at < time.time()


class LockedOut(Exception):
    """Too many wrong user codes from this browser session or address in the last minute."""


class WrongCodeLimit:
    """The wrong-code lockout (RFC 8628 §5.1: user codes can be guessed, so attempts are limited).

    Counted per browser session and address, never globally: a session is the device page's
    own cookie (device_page.py), and requests without one (every request another web site makes
    the browser send: the cookie is SameSite) share one count per address. So a page that sends
    wrong codes locks out only itself, and the user's browser, with its session, keeps working.
    A client that collects fresh sessions to guess on (a script, not a web page) is held by the
    per-address ceiling. Both counts are sliding one-minute windows in capped stores.
    """

    def __init__(self) -> None:
        self.sessions = RateLimiter(MAX_FAILED_LOOKUPS, 60, cap=MAX_LOCKOUT_KEYS)
        self.addresses = RateLimiter(MAX_FAILED_LOOKUPS_PER_ADDRESS, 60, cap=MAX_LOCKOUT_KEYS)

    def check(self, address: str, session: str | None) -> None:
        if self.sessions.full(f"{address} {session or '-'}") or self.addresses.full(address):
            raise LockedOut

    def count(self, address: str, session: str | None) -> None:
        self.sessions.add(f"{address} {session or '-'}")
        self.addresses.add(address)


def new_user_code() -> str:
    code = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))
    return f"{code[:4]}-{code[4:]}"


def normalize_user_code(value: str) -> str:
    """What the user typed, as stored: upper case, the separator and spaces ignored (§6.1)."""
    letters = "".join(c for c in value.upper() if c in USER_CODE_ALPHABET)[:USER_CODE_LENGTH]
    return f"{letters[:4]}-{letters[4:]}" if len(letters) == USER_CODE_LENGTH else ""


class DeviceFlow:
    def __init__(self, las: Issuer) -> None:
        self.las = las
        self.grants: BoundedStore[str, DeviceGrant] = BoundedStore(MAX_DEVICE_CODES)
        self.by_user_code: BoundedStore[str, str] = BoundedStore(MAX_DEVICE_CODES)
        self.wrong_codes = WrongCodeLimit()

    @property
    def verification_uri(self) -> str:
        return self.las.issuer + DEVICE_PATH

    def authorize(self, client: Client, form: dict[str, str]) -> dict[str, Any]:
        """The device authorization response (§3.2) for an authenticated client."""
        if DEVICE_CODE not in client.grant_types:
            raise OAuthError("unauthorized_client", f"this client is not registered for the device grant ({DEVICE_CODE})")
        resource = form.get("resource") or self.las.resource
        if resource != self.las.resource:
            raise OAuthError("invalid_target", f"this development server only issues tokens for {self.las.resource}")
        scopes = self.las.grant_scopes(client, form.get("scope"))
        now = time.time()
        for code, old in self.grants.items():  # expired requests go (the store is capped besides)
            if old.expires_at < now - 60:
                self.grants.pop(code)
                self.by_user_code.pop(old.user_code)
        user_code = new_user_code()
        while user_code in self.by_user_code:
            user_code = new_user_code()
        grant = DeviceGrant(secrets.token_urlsafe(32), user_code, client, scopes, resource, now + DEVICE_CODE_TTL, INTERVAL, now, secrets.token_urlsafe(24))
        self.grants[grant.device_code] = grant
        self.by_user_code[user_code] = grant.device_code
        return {
            "device_code": grant.device_code,
            "user_code": user_code,
            "verification_uri": self.verification_uri,
            "verification_uri_complete": f"{self.verification_uri}?user_code={user_code}",
            "expires_in": DEVICE_CODE_TTL,
            "interval": INTERVAL,
        }

    def find(self, user_code: str, address: str, session: str | None) -> DeviceGrant | None:
        """The pending grant a typed user code names; None (counted against the session and the
        address) when there is none; LockedOut, without looking, when either has had too many."""
        self.wrong_codes.check(address, session)
        device_code = self.by_user_code.get(normalize_user_code(user_code))
        grant = self.grants.get(device_code) if device_code else None
        if grant is None or grant.expired or grant.status != "pending":
            self.wrong_codes.count(address, session)
            return None
        return grant

    def decide(self, grant: DeviceGrant, approve: bool) -> None:
        grant.status = "approved" if approve else "denied"
        self.by_user_code.pop(grant.user_code)  # a user code is used once

    def token(self, client: Client, form: dict[str, str], jkt: str | None) -> dict[str, Any]:
        """The token endpoint's answer to a poll (§3.4, §3.5)."""
        if DEVICE_CODE not in client.grant_types:
            raise OAuthError("unauthorized_client", "this client is not registered for the device grant")
        grant = self.grants.get(form.get("device_code") or "")
        if grant is None or grant.client.client_id != client.client_id:
            raise OAuthError("invalid_grant", "unknown device_code")
        if grant.expired:
            self.grants.pop(grant.device_code)
            raise OAuthError("expired_token", "the device code has expired; start the device authorization again")
        if grant.status == "denied":
            self.grants.pop(grant.device_code)
            raise OAuthError("access_denied", "the user denied the request")
        if grant.status == "approved":
            self.grants.pop(grant.device_code)  # one token response per device code
            return self.las._issue(client, grant.scopes, grant.resource, secrets.token_urlsafe(12), nonce=None, with_id_token=False, jkt=jkt)
        now = time.time()
        early = now - grant.last_poll < grant.interval - POLL_SLACK
        grant.last_poll = now
        if early:  # §3.5: slow_down, and the interval grows by 5 s for this and every later poll
            grant.interval += SLOW_DOWN_STEP
            raise OAuthError("slow_down", f"polling too fast: wait {grant.interval:g} s between requests")
        raise OAuthError("authorization_pending", "the user has not approved the request yet")
