"""The official conformance suite's server-side authorization checks, replayed against serve.

Read from github.com/modelcontextprotocol/conformance (none of its code is copied here):
- ``auth-token-audience-validation`` (PR #386, branch claude/issue-78-token-audience-validation,
  src/scenarios/server/auth-token-audience.ts): an RS256 mock AS mints ``typ: at+jwt`` tokens; each
  probe is ``initialize`` (2025-11-25) or ``server/discover`` with ``_meta`` (2026-07-28); only the
  HTTP status is judged (401 for each rejection, 2xx for the valid token);
- ``auth/dpop-server-validation`` (PR #395, src/scenarios/server/auth/dpop.ts, SEP-1932): ES256
  DPoP-bound tokens (``cnf.jkt``) and crafted proofs; a rejection passes only as 401 *and* a ``DPoP``
  challenge in WWW-Authenticate, and a ``use_dpop_nonce`` answer to a probe carrying the held nonce
  makes the check untestable (here: a failure); a nonce-requiring server is driven through the
  handshake first and every later proof carries the nonce (RFC 9449 §9);
- ``sep-2350-server-scope-challenge`` (PR #481 / issue #480; not in the stored snapshot of the
  repository, read from the pull request's description): ``tools/call``, ``resources/read`` (static
  and template) and ``prompts/get`` with a low token get HTTP 403, ``Bearer error="insufficient_scope"``
  with ``scope`` and ``resource_metadata``, the operation's complete scope set in one challenge
  (``sep-2350-server-single-challenge``), and a retry with the full token succeeds.

Each check runs against serve in both modes (the SDK's sessions and ``--stateless``) and on both
wires (2026-07-28, one self-describing request; 2025-11-25, the ``initialize`` handshake). serve
trusts an AS whose keys the test holds (tests/peers/key_as.py), as in ``serve --authkit-domain``;
for the scope challenge serve also has the development AS's step-up operations (``admin_echo``, as a
tool, a resource template and a prompt, needs ``mcp:admin`` on top of the endpoint's ``mcp:tools``),
as in local mode.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from authkit_mcp_cli.challenge import Challenge, parse_www_authenticate
from authkit_mcp_cli.oauth.dpop import DpopKey, ath
from authkit_mcp_cli.server.app import ServeInfo, build_app
from authkit_mcp_cli.server.config import resolve_serve_config
from authkit_mcp_cli.server.dpop_proof import NONCE_ENV
from peers.asgi import serve_asgi
from peers.key_as import KeyAS

pytestmark = pytest.mark.integration

LEGACY = "2025-11-25"
MODERN = "2026-07-28"
WIRES = (MODERN, LEGACY)
MODES = ("session", "stateless")
ENDPOINT_SCOPE = "mcp:tools"
ADMIN_SCOPE = "mcp:admin"
LOW_SCOPE = "mcp:conformance:baseline"  # the suite's low token: valid, with none of the operation's scopes
CLIENT_INFO = {"name": "conformance-server-auth", "version": "1.0.0"}


# --- serve, the AS, and the wire ------------------------------------------------------------------


@pytest.fixture(scope="module")
def key_as() -> Iterator[KeyAS]:
    authority = KeyAS()
    authority.add_key("k1")  # RS256, as the suite's mock AS
    with serve_asgi(authority.app):
        yield authority


@contextlib.contextmanager
def _serve(issuer: str, *, stateless: bool, nonce: bool = False) -> Iterator[ServeInfo]:
    cfg = resolve_serve_config({}, host="127.0.0.1", port=0, path=None, base_url=None, authkit_domain=issuer, required_scopes=ENDPOINT_SCOPE, auto_approve=False, allowed_hosts=[], stateless=stateless, workers=1)
    cfg = dataclasses.replace(cfg, admin_scope=ADMIN_SCOPE)  # the step-up tool, as in local mode
    built: dict[str, Any] = {}

    def factory(base: str) -> Any:
        if nonce:
            os.environ[NONCE_ENV] = "1"  # read when serve builds its guard
        try:
            built["app"], built["info"] = build_app(cfg, int(base.rsplit(":", 1)[1]))
        finally:
            os.environ.pop(NONCE_ENV, None)
        return built["app"]

    with serve_asgi(factory):
        yield built["info"]


@dataclasses.dataclass
class World:
    key_as: KeyAS
    info: ServeInfo
    mode: str
    nonce: bool = False


@pytest.fixture(scope="module", params=MODES)
def world(key_as: KeyAS, request: pytest.FixtureRequest) -> Iterator[World]:
    with _serve(key_as.issuer, stateless=request.param == "stateless") as info:
        yield World(key_as, info, request.param)


@pytest.fixture(scope="module", params=[(m, n) for m in MODES for n in (False, True)], ids=lambda p: f"{p[0]}-{'nonce' if p[1] else 'no-nonce'}")
def dpop_world(key_as: KeyAS, request: pytest.FixtureRequest) -> Iterator[World]:
    mode, nonce = request.param
    with _serve(key_as.issuer, stateless=mode == "stateless", nonce=nonce) as info:
        yield World(key_as, info, mode, nonce)


@pytest.fixture(params=WIRES)
def wire(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _meta() -> dict[str, Any]:
    return {"io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientInfo": CLIENT_INFO, "io.modelcontextprotocol/clientCapabilities": {}}


def message(wire: str, method: str, params: dict[str, Any] | None = None, *, id: int = 1) -> tuple[dict[str, Any], dict[str, str]]:
    """A JSON-RPC request and its HTTP headers on this wire (2026-07-28: ``_meta`` and the
    Mcp-Method / Mcp-Name headers of SEP-2243; 2025-11-25: the version header after initialize)."""
    params = dict(params or {})
    headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    if wire == MODERN:
        params["_meta"] = _meta()
        headers["mcp-protocol-version"] = MODERN
        headers["mcp-method"] = method
        name = params.get("name") or params.get("uri")
        if isinstance(name, str):
            headers["mcp-name"] = name
    elif method != "initialize":
        headers["mcp-protocol-version"] = LEGACY
    return {"jsonrpc": "2.0", "id": id, "method": method, "params": params}, headers


def probe(wire: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The suite's probe: any server of this version takes it without prior setup."""
    if wire == MODERN:
        return message(wire, "server/discover")
    return message(wire, "initialize", {"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": CLIENT_INFO})


def post(url: str, body: dict[str, Any], headers: dict[str, str], *, auth: str | None = None, proofs: list[str] | None = None) -> httpx.Response:
    pairs = list(headers.items())
    if auth is not None:
        pairs.append(("authorization", auth))
    pairs.extend(("dpop", p) for p in proofs or [])
    return httpx.post(url, content=json.dumps(body), headers=pairs, timeout=10)


def send_probe(info: ServeInfo, wire: str, *, auth: str | None = None, proofs: list[str] | None = None) -> httpx.Response:
    body, headers = probe(wire)
    return post(info.mcp_url, body, headers, auth=auth, proofs=proofs)


def rpc(response: httpx.Response) -> dict[str, Any]:
    """The JSON-RPC message of a JSON or an SSE answer."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        for line in response.text.splitlines():
            if line.startswith("data:") and line[5:].strip():
                return dict(json.loads(line[5:]))
        raise AssertionError(f"no message in the stream: {response.text!r}")
    return dict(response.json())


def assert_probe_served(response: httpx.Response, wire: str) -> None:
    assert 200 <= response.status_code < 300, (response.status_code, response.text)
    result = rpc(response)["result"]
    if wire == MODERN:
        assert MODERN in result["supportedVersions"]
    else:
        assert result["protocolVersion"] == LEGACY


def challenges(response: httpx.Response) -> dict[str, Challenge]:
    return {ch.scheme.lower(): ch for ch in parse_www_authenticate(response.headers.get_list("www-authenticate"))}


# --- the suites' setup contract -----------------------------------------------------------------


@pytest.fixture(scope="module", params=MODES)
def contract_world(request: pytest.FixtureRequest) -> Iterator[World]:
    """serve as the suite's scenarios ask to launch it: trusting one AS, expecting its own URL as the
    audience, requiring no scope for initialize / server/discover (``serve --authkit-domain`` without
    ``--required-scopes``); the AS holds one ES256 key, so a token without ``kid`` names it unambiguously."""
    authority = KeyAS()
    authority.add_key("only", kind="ec")
    with serve_asgi(authority.app):
        cfg = resolve_serve_config({}, host="127.0.0.1", port=0, path=None, base_url=None, authkit_domain=authority.issuer, required_scopes=None, auto_approve=False, allowed_hosts=[], stateless=request.param == "stateless", workers=1)
        built: dict[str, Any] = {}

        def factory(base: str) -> Any:
            built["app"], built["info"] = build_app(cfg, int(base.rsplit(":", 1)[1]))
            return built["app"]

        with serve_asgi(factory):
            yield World(authority, built["info"], request.param)


def test_the_suites_own_tokens_are_served(contract_world: World, wire: str) -> None:
    """The tokens' claims and headers as the drafts mint them: the audience scenario's (``typ: at+jwt``,
    a kid, ``client_id``, ``jti``, no ``scope``; its RS256 is covered above, here the AS's one key signs)
    as Bearer, and the DPoP scenario's (``mintDpopBoundToken``:
    ES256, no ``kid``, no ``scope``, ``cnf.jkt``) with a proof. One difference of setup, not of
    protocol: the DPoP draft hands the issuer's private JWK to the server through the environment
    (``DPOP_ISSUER_PRIVATE_JWK``), while serve takes keys only from the AS's ``jwks_uri`` (RFC 8414
    §2, RFC 9068 §4); serve is right to, so the issuer here publishes that key."""
    authority, info = contract_world.key_as, contract_world.info
    key = authority.keys["only"]
    now = int(time.time())
    audience_token = jwt.encode(
        {"client_id": "mcp-conformance-client", "iss": authority.issuer, "sub": "mcp-conformance-user", "jti": secrets.token_hex(8), "iat": now, "exp": now + 300, "aud": info.resource},
        key,
        algorithm="ES256",
        headers={"kid": "only", "typ": "at+jwt"},
    )
    assert_probe_served(send_probe(info, wire, auth=f"Bearer {audience_token}"), wire)
    dpop_key = DpopKey.generate()
    bound = jwt.encode({"cnf": {"jkt": dpop_key.thumbprint()}, "iss": authority.issuer, "aud": info.resource, "sub": "conformance-test-subject", "iat": now, "exp": now + 3600}, key, algorithm="ES256", headers={"typ": "at+jwt"})
    assert "kid" not in jwt.get_unverified_header(bound)
    response = send_probe(info, wire, auth=f"DPoP {bound}", proofs=[craft(dpop_key, "POST", info.mcp_url, token=bound)])
    assert_probe_served(response, wire)


# --- auth-token-audience-validation (PR #386) -----------------------------------------------------


def _at_jwt(key_as: KeyAS, claims: dict[str, Any], kid: str = "k1", key: Any = None) -> str:
    """As the suite's mock AS signs: RS256, ``typ: at+jwt``, its own kid."""
    return jwt.encode(claims, key or key_as.keys[kid], algorithm="RS256", headers={"kid": kid, "typ": "at+jwt"})


def _rejected_401(response: httpx.Response, words: str) -> None:
    assert response.status_code == 401, (response.status_code, response.text)
    bearer = challenges(response)["bearer"]
    assert bearer.get("error") == "invalid_token", response.headers.get_list("www-authenticate")
    assert words in (bearer.get("error_description") or ""), bearer.get("error_description")


def test_auth_unauthenticated_request_rejected(world: World, wire: str) -> None:
    """No token: 401 (MCP 2026-07-28 authorization, "Access Token Privilege Restriction"), with the
    bare challenge a client starts discovery from: resource_metadata and no error code (RFC 6750
    §3.1, RFC 9728 §5.1). The suite records the header but judges only the status."""
    response = send_probe(world.info, wire)
    assert response.status_code == 401
    bearer = challenges(response)["bearer"]
    assert bearer.get("error") is None and bearer.get("resource_metadata") == world.info.prm_url


def test_auth_valid_audience_token_accepted(world: World, wire: str) -> None:
    """The baseline: trusted signature, this server's canonical URI as ``aud`` (RFC 8707 §2), unexpired."""
    token = _at_jwt(world.key_as, world.key_as.claims(world.info.resource, scope=ENDPOINT_SCOPE))
    assert_probe_served(send_probe(world.info, wire, auth=f"Bearer {token}"), wire)


def test_auth_wrong_audience_token_rejected(world: World, wire: str) -> None:
    """aud names another resource: 401 (MCP 2026-07-28 "Token Audience Binding and Validation", RFC 8707)."""
    token = _at_jwt(world.key_as, world.key_as.claims("https://another-resource.example.com/mcp"))
    _rejected_401(send_probe(world.info, wire, auth=f"Bearer {token}"), "is not this resource")


def test_auth_missing_audience_token_rejected(world: World, wire: str) -> None:
    """No aud at all: 401; a server MUST reject tokens that do not name it in the audience."""
    token = _at_jwt(world.key_as, world.key_as.claims(world.info.resource, aud=None))
    _rejected_401(send_probe(world.info, wire, auth=f"Bearer {token}"), "audience None is not this resource")


def test_auth_expired_token_rejected(world: World, wire: str) -> None:
    """Expired ten minutes ago (iat an hour before that, as the suite mints it): 401 ("Invalid or
    expired tokens MUST receive a HTTP 401 response"; serve's 30 s leeway is far inside the margin)."""
    now = int(time.time())
    token = _at_jwt(world.key_as, world.key_as.claims(world.info.resource, iat=now - 600 - 3600, exp=now - 600))
    _rejected_401(send_probe(world.info, wire, auth=f"Bearer {token}"), "expired")


def test_auth_untrusted_token_rejected(world: World, wire: str) -> None:
    """Signed by a key the AS never published, under the published key's kid (as the suite does): 401."""
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = _at_jwt(world.key_as, world.key_as.claims(world.info.resource), key=stranger)
    _rejected_401(send_probe(world.info, wire, auth=f"Bearer {token}"), "signature is invalid")


# --- auth/dpop-server-validation (PR #395, SEP-1932) ---------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(obj: dict[str, Any]) -> str:
    return _b64(json.dumps(obj, separators=(",", ":")).encode())


def craft(
    key: DpopKey,
    htm: str,
    htu: str,
    *,
    token: str | None = None,
    nonce: str | None = None,
    iat: int | None = None,
    omit: tuple[str, ...] = (),
    typ: str = "dpop+jwt",
    ath_override: str | None = None,
    private_jwk: bool = False,
    tamper: bool = False,
    unsigned: bool = False,
    symmetric: bool = False,
) -> str:
    """A DPoP proof with the suite's knobs (its buildDpopProof, src/scenarios/client/auth/helpers/dpopProof.ts)."""
    claims: dict[str, Any] = {"jti": secrets.token_urlsafe(16), "htm": htm, "htu": htu, "iat": int(time.time()) if iat is None else iat}
    if ath_override is not None:
        claims["ath"] = ath_override
    elif token is not None:
        claims["ath"] = ath(token)
    if nonce is not None:
        claims["nonce"] = nonce
    for name in omit:
        claims.pop(name, None)
    alg = "none" if unsigned else "HS256" if symmetric else "ES256"
    header: dict[str, Any] = {"alg": alg, "typ": typ}
    if "jwk" not in omit:
        header["jwk"] = key.private_jwk if private_jwk else key.public_jwk
    signing_input = f"{_segment(header)}.{_segment(claims)}"
    if unsigned:
        return signing_input + "."
    if symmetric:
        return f"{signing_input}.{_b64(hmac.new(secrets.token_bytes(32), signing_input.encode(), hashlib.sha256).digest())}"
    signed = jwt.encode(claims, key.private_key(), algorithm="ES256", headers={k: v for k, v in header.items() if k != "alg"})
    if tamper:  # the suite's corruptSegment: the signature's first character changed
        head, body, sig = signed.split(".")
        signed = f"{head}.{body}.{'B' if sig[0] == 'A' else 'A'}{sig[1:]}"
    return signed


@dataclasses.dataclass
class DpopClient:
    """The suite's DPoP client: one key, one bound token, the newest DPoP-Nonce held (RFC 9449 §8.2)."""

    world: World
    wire: str
    key: DpopKey = dataclasses.field(default_factory=DpopKey.generate)
    nonce: str | None = None

    def bound_token(self, *, jkt: str | None = None, aud: str | None = None) -> str:
        claims = self.world.key_as.claims(aud or self.world.info.resource, cnf={"jkt": jkt or self.key.thumbprint()})
        return self.world.key_as.token(claims)

    def proof(self, token: str | None, **knobs: Any) -> str:
        knobs.setdefault("nonce", self.nonce)
        htm = knobs.pop("htm", "POST")
        htu = knobs.pop("htu", self.world.info.mcp_url)
        return craft(self.key, htm, htu, token=token, **knobs)

    def send(self, auth: str, proofs: list[str] | None) -> httpx.Response:
        response = send_probe(self.world.info, self.wire, auth=auth, proofs=proofs)
        if response.headers.get("dpop-nonce"):
            self.nonce = response.headers["dpop-nonce"]
        return response

    def accept_valid(self, token: str) -> httpx.Response:
        """A valid request, through the nonce handshake when the server asks for one (RFC 9449 §9)."""
        first = self.send(f"DPoP {token}", [self.proof(token)])
        if first.status_code == 401 and "use_dpop_nonce" in first.headers.get("www-authenticate", ""):
            return self.send(f"DPoP {token}", [self.proof(token)])
        return first


@pytest.fixture
def dpop(dpop_world: World, wire: str) -> tuple[DpopClient, str]:
    """A client whose baseline request was served (the suite gates every rejection check on it)."""
    client = DpopClient(dpop_world, wire)
    token = client.bound_token()
    assert_probe_served(client.accept_valid(token), wire)
    if dpop_world.nonce:
        assert client.nonce, "a nonce-requiring serve handed out a DPoP-Nonce"
    return client, token


def properly_rejected(response: httpx.Response, error: str) -> None:
    """The suite's bar (401 and a DPoP challenge, not a nonce re-challenge), and serve's error code."""
    assert response.status_code == 401, (response.status_code, response.text)
    found = challenges(response)
    assert "dpop" in found, response.headers.get_list("www-authenticate")
    assert found["dpop"].get("error") != "use_dpop_nonce", "the held nonce was refused: the defect was not what was judged"
    errors = {ch.get("error") for ch in found.values()} - {None}
    assert error in errors, (error, response.headers.get_list("www-authenticate"))


def test_sep_1932_server_validate_proof_accepts_valid_proof(dpop: tuple[DpopClient, str]) -> None:
    """AcceptsValidProof: a bound token (``cnf.jkt``) with ``Authorization: DPoP`` and a fresh proof is
    served; the fixture already sent one, and a second with a new jti is served too."""
    client, token = dpop
    response = client.send(f"DPoP {token}", [client.proof(token)])
    assert_probe_served(response, client.wire)


PROOF_DEFECTS: dict[str, dict[str, Any]] = {
    "tampered-signature": {"tamper": True},
    "missing-jti": {"omit": ("jti",)},
    "wrong-typ": {"typ": "jwt"},
    "htu-mismatch": {"htu": "https://wrong.example.com/mcp"},
    "htm-mismatch": {"htm": "GET"},
    "private-key-in-jwk": {"private_jwk": True},
    "wrong-ath": {"ath_override": "not-the-right-hash"},
    "missing-htm": {"omit": ("htm",)},
    "missing-htu": {"omit": ("htu",)},
    "missing-iat": {"omit": ("iat",)},
    "missing-jwk": {"omit": ("jwk",)},
}


@pytest.mark.parametrize("case", sorted(PROOF_DEFECTS))
def test_sep_1932_server_validate_proof_rejects(dpop: tuple[DpopClient, str], case: str) -> None:
    """Every RFC 9449 §4.3 rejection the suite crafts (its RejectsTamperedSignature, RejectsMissingJti,
    RejectsWrongTyp, RejectsHtuMismatch, RejectsHtmMismatch, RejectsPrivateKeyInJwk, RejectsWrongAth,
    RejectsMissingHtm/Htu/Iat/Jwk): 401 with ``DPoP error="invalid_dpop_proof"`` (§7.1)."""
    client, token = dpop
    properly_rejected(client.send(f"DPoP {token}", [client.proof(token, **PROOF_DEFECTS[case])]), "invalid_dpop_proof")


def test_sep_1932_server_validate_proof_rejects_ath_absent(dpop: tuple[DpopClient, str]) -> None:
    """RejectsAthAbsent: a token is presented, its proof has no ``ath`` (RFC 9449 §4.3 step 12a)."""
    client, token = dpop
    properly_rejected(client.send(f"DPoP {token}", [client.proof(None)]), "invalid_dpop_proof")


def test_sep_1932_server_validate_proof_rejects_duplicate_dpop_header(dpop: tuple[DpopClient, str]) -> None:
    """RejectsDuplicateDpopHeader: two DPoP headers, each a valid proof (RFC 9449 §4.3 step 1)."""
    client, token = dpop
    properly_rejected(client.send(f"DPoP {token}", [client.proof(token), client.proof(token)]), "invalid_dpop_proof")


def test_sep_1932_server_validate_proof_rejects_malformed_proof(dpop: tuple[DpopClient, str]) -> None:
    """RejectsMalformedProof: the DPoP header is not a JWT (RFC 9449 §4.3 step 2)."""
    client, token = dpop
    properly_rejected(client.send(f"DPoP {token}", ["this-is-not-a-jwt"]), "invalid_dpop_proof")


def test_sep_1932_server_validate_proof_rejects_bearer_scheme(dpop: tuple[DpopClient, str]) -> None:
    """RejectsBearerScheme, the Bearer downgrade: a bound token sent as ``Bearer`` (with a proof).
    The suite takes any non-2xx and says no DPoP challenge is needed; serve answers 401
    ``Bearer error="invalid_token"`` and still offers the DPoP scheme. Both agree with RFC 9449 §7.2
    (a bound token MUST NOT be accepted as a bearer token); serve's answer is the stronger one, since
    RFC 6750 §3.1 makes an unusable token an ``invalid_token`` 401, not some other 4xx."""
    client, token = dpop
    response = client.send(f"Bearer {token}", [client.proof(token)])
    assert response.status_code == 401
    found = challenges(response)
    assert found["bearer"].get("error") == "invalid_token" and "dpop" in found
    assert "bound to a DPoP key" in (found["bearer"].get("error_description") or "")


def test_sep_1932_server_validate_proof_rejects_cnf_jkt_mismatch(dpop: tuple[DpopClient, str]) -> None:
    """RejectsCnfJktMismatch, the bound-key mismatch: the token is bound to a foreign key, the proof
    is signed by ours (RFC 9449 §4.3 step 12b / §7)."""
    client, _ = dpop
    foreign = client.bound_token(jkt=DpopKey.generate().thumbprint())
    response = client.send(f"DPoP {foreign}", [client.proof(foreign)])
    properly_rejected(response, "invalid_dpop_proof")
    assert "cnf.jkt" in (challenges(response)["dpop"].get("error_description") or "")


@pytest.mark.parametrize("label,delta", [("stale", -303), ("future", 303)])
def test_sep_1932_server_iat_window(dpop: tuple[DpopClient, str], label: str, delta: int) -> None:
    """RejectsStaleIat / RejectsFutureIat: iat 303 s either side of now: both reject. The draft probes
    only outside the window. serve's window is ±60 s, not SEP-1932's ±5 minutes: RFC 9449 §4.3 step 11
    and §11.1 leave the window to the server and SEP-1932 says the server MUST verify ``iat`` is
    *within* ±5 minutes, a bound serve keeps; but a client whose clock is 2 minutes off is refused
    by serve where a 5-minute server would serve it (serve's remedy is the nonce, §9)."""
    client, token = dpop
    response = client.send(f"DPoP {token}", [client.proof(token, iat=int(time.time()) + delta)])
    properly_rejected(response, "invalid_dpop_proof")


@pytest.mark.parametrize("label", ["none", "symmetric"])
def test_sep_1932_asymmetric_alg_only(dpop: tuple[DpopClient, str], label: str) -> None:
    """RejectsAlgNone / RejectsAlgSymmetric: ``alg: none`` and HS256 proofs (RFC 9449 §11.6, SEP-1932)."""
    client, token = dpop
    knobs = {"unsigned": True} if label == "none" else {"symmetric": True}
    properly_rejected(client.send(f"DPoP {token}", [client.proof(token, **knobs)]), "invalid_dpop_proof")


def test_sep_1932_server_audience_validation(dpop: tuple[DpopClient, str]) -> None:
    """RejectsWrongAudience: a bound token for another resource, with a valid proof: 401 with
    ``invalid_token`` in both challenges ("MCP servers MUST continue to validate that access tokens
    were specifically issued for them, even when DPoP is used", RFC 8707)."""
    client, _ = dpop
    other = client.bound_token(aud="https://not-this-server.example.com/mcp")
    response = client.send(f"DPoP {other}", [client.proof(other)])
    properly_rejected(response, "invalid_token")
    assert challenges(response)["dpop"].get("error") == "invalid_token"


def test_sep_1932_server_reject_401(dpop: tuple[DpopClient, str]) -> None:
    """RejectsWith401Challenge: on a failed validation (a tampered signature), 401 with a
    ``WWW-Authenticate: DPoP`` challenge carrying ``error`` and ``algs`` (RFC 9449 §7.1)."""
    client, token = dpop
    response = client.send(f"DPoP {token}", [client.proof(token, tamper=True)])
    properly_rejected(response, "invalid_dpop_proof")
    algs = (challenges(response)["dpop"].get("algs") or "").split()
    assert "ES256" in algs and "none" not in algs and not any(a.startswith("HS") for a in algs)


def test_sep_1932_server_nonce(dpop_world: World, wire: str) -> None:
    """NonceFlow (SHOULD, RFC 9449 §9): a nonce-less proof gets 401 ``DPoP error="use_dpop_nonce"``
    with a ``DPoP-Nonce`` header, the retry carrying it is served, a wrong nonce is 401 with a DPoP
    challenge. The suite reports SKIPPED when the server asks for no nonce; serve asks only when
    ``ATOMS_AUTH_SERVE_DPOP_NONCE=1``, so without it this checks that no nonce is demanded."""
    client = DpopClient(dpop_world, wire)
    token = client.bound_token()
    first = client.send(f"DPoP {token}", [craft(client.key, "POST", dpop_world.info.mcp_url, token=token)])
    if not dpop_world.nonce:
        assert_probe_served(first, wire)
        assert "dpop-nonce" not in first.headers
        return
    assert first.status_code == 401
    (only,) = parse_www_authenticate(first.headers.get_list("www-authenticate"))  # alone, so a client reads its error
    assert only.scheme == "DPoP" and only.get("error") == "use_dpop_nonce"
    issued = first.headers["dpop-nonce"]
    retry = client.send(f"DPoP {token}", [craft(client.key, "POST", dpop_world.info.mcp_url, token=token, nonce=issued)])
    assert_probe_served(retry, wire)
    wrong = client.send(f"DPoP {token}", [craft(client.key, "POST", dpop_world.info.mcp_url, token=token, nonce="definitely-not-the-server-nonce")])
    assert wrong.status_code == 401 and challenges(wrong)["dpop"].get("error") == "use_dpop_nonce"
    assert wrong.headers.get("dpop-nonce"), "a refused nonce comes with one to use (RFC 9449 §9)"


# --- sep-2350-server-scope-challenge (PR #481) ----------------------------------------------------

# serve's operations and the complete scope set each needs: the endpoint's scope, plus the operation's
# (server/tools.py). The suite's draft names its own fixtures (test://static-text, the template
# test://template/{id}/data, test_simple_prompt); serve offers the same kinds under its own names,
# and a step-up variant of each (admin_echo needs mcp:admin).
OPERATIONS: dict[str, tuple[str, dict[str, Any], tuple[str, ...]]] = {
    "tools-call": ("tools/call", {"name": "admin_echo", "arguments": {"text": "stepped up"}}, (ENDPOINT_SCOPE, ADMIN_SCOPE)),
    "resources-read-static": ("resources/read", {"uri": "atoms-auth://whoami"}, (ENDPOINT_SCOPE,)),
    "resources-read-template": ("resources/read", {"uri": "atoms-auth://admin-echo/stepped%20up"}, (ENDPOINT_SCOPE, ADMIN_SCOPE)),
    "prompts-get": ("prompts/get", {"name": "whoami"}, (ENDPOINT_SCOPE,)),
    "prompts-get-step-up": ("prompts/get", {"name": "admin_echo", "arguments": {"text": "stepped up"}}, (ENDPOINT_SCOPE, ADMIN_SCOPE)),
}


def _low_token(world: World, scope: str = LOW_SCOPE) -> str:
    return world.key_as.token(world.key_as.claims(world.info.resource, scope=scope))


def _operation(world: World, wire: str, case: str, token: str) -> httpx.Response:
    """The operation alone: the guard judges it before any session exists (so on both wires alike)."""
    method, params, _ = OPERATIONS[case]
    body, headers = message(wire, method, params, id=7)
    return post(world.info.mcp_url, body, headers, auth=f"Bearer {token}")


def _insufficient_scope(response: httpx.Response) -> Challenge:
    assert response.status_code == 403, (response.status_code, response.text)
    bearer = challenges(response)["bearer"]
    assert bearer.get("error") == "insufficient_scope", response.headers.get_list("www-authenticate")
    return bearer


@pytest.mark.parametrize("case", sorted(OPERATIONS))
def test_sep_2350_server_scope_challenge_403(world: World, wire: str, case: str) -> None:
    """A valid token with only the suite's baseline scope: HTTP 403 (MCP 2026-07-28 "Runtime
    Insufficient Scope Errors"; RFC 6750 §3.1: insufficient_scope SHOULD be 403)."""
    _insufficient_scope(_operation(world, wire, case, _low_token(world)))


@pytest.mark.parametrize("case", sorted(OPERATIONS))
def test_sep_2350_server_scope_challenge_www_authenticate(world: World, wire: str, case: str) -> None:
    """The 403's challenge: ``Bearer error="insufficient_scope"``, ``scope`` and ``resource_metadata``
    (RFC 6750 §3, RFC 9728 §5.1), with an ``error_description`` naming what is missing."""
    bearer = _insufficient_scope(_operation(world, wire, case, _low_token(world)))
    assert bearer.get("resource_metadata") == world.info.prm_url
    assert bearer.get("scope")
    assert "scope" in (bearer.get("error_description") or "")


@pytest.mark.parametrize("granted", [LOW_SCOPE, ENDPOINT_SCOPE], ids=["baseline-token", "endpoint-scope-token"])
@pytest.mark.parametrize("case", sorted(OPERATIONS))
def test_sep_2350_server_single_challenge(world: World, wire: str, case: str, granted: str) -> None:
    """One challenge, with every scope the operation needs (SEP-2350 in MCP 2026-07-28: "servers SHOULD
    include all scopes required for the current operation in a single challenge"), and only those,
    not the union of what was granted before (RFC 6750 §3.1). For ``admin_echo`` that is
    ``mcp:tools mcp:admin`` whether the token lacks both or only ``mcp:admin``: serve used to name
    only ``mcp:tools`` first and ``mcp:admin`` on the next call, two rounds of consent (fixed in
    server/resource.py). The suite's draft reads the same rule; it has no ground truth of its own
    for serve, so the expected sets here are serve's configuration (PRM scopes_supported)."""
    _, _, needed = OPERATIONS[case]
    response = _operation(world, wire, case, _low_token(world, granted))
    if granted == ENDPOINT_SCOPE and needed == (ENDPOINT_SCOPE,):
        assert response.status_code != 403, "a token with the operation's scopes is not challenged"
        return
    bearer = _insufficient_scope(response)
    insufficient = [ch for ch in parse_www_authenticate(response.headers.get_list("www-authenticate")) if ch.get("error") == "insufficient_scope"]
    assert len(insufficient) == 1, response.headers.get_list("www-authenticate")
    assert set((bearer.get("scope") or "").split()) == set(needed)
    assert set(needed) <= set(httpx.get(world.info.prm_url, timeout=10).json()["scopes_supported"])


def _full_token_call(world: World, wire: str, case: str) -> dict[str, Any]:
    """The retry a client makes after re-authorizing for the challenged scopes: on 2025-11-25 through
    initialize (and, in session mode, its session); on 2026-07-28 in one request."""
    method, params, needed = OPERATIONS[case]
    auth = f"Bearer {_low_token(world, ' '.join(needed))}"
    extra: dict[str, str] = {}
    if wire == LEGACY:
        init_body, init_headers = probe(LEGACY)
        init = post(world.info.mcp_url, init_body, init_headers, auth=auth)
        assert init.status_code == 200, init.text
        if init.headers.get("mcp-session-id"):
            extra["mcp-session-id"] = init.headers["mcp-session-id"]
        note, note_headers = message(LEGACY, "notifications/initialized")
        note.pop("id")
        post(world.info.mcp_url, note, {**note_headers, **extra}, auth=auth)
    body, headers = message(wire, method, params, id=8)
    response = post(world.info.mcp_url, body, {**headers, **extra}, auth=auth)
    assert 200 <= response.status_code < 300, (response.status_code, response.text)
    answer = rpc(response)
    assert "error" not in answer, answer
    return dict(answer["result"])


@pytest.mark.parametrize("case", sorted(OPERATIONS))
def test_sep_2350_server_scope_challenge_retry(world: World, wire: str, case: str) -> None:
    """With a token carrying exactly the challenged scopes the operation succeeds, and answers
    what it is: the echoed text, or the verified token's own claims."""
    result = _full_token_call(world, wire, case)
    if case == "tools-call":
        assert result["content"][0]["text"] == "stepped up" and not result.get("isError")
    elif case.startswith("resources-read"):
        (content,) = result["contents"]
        assert content["uri"] == OPERATIONS[case][1]["uri"]
        if case == "resources-read-static":
            claims = json.loads(content["text"])
            assert content["mimeType"] == "application/json"
            assert claims["aud"] == world.info.resource and claims["scopes"] == [ENDPOINT_SCOPE]
        else:
            assert content["text"] == "stepped up"  # the template's {text}, percent-decoded
    else:
        (said,) = result["messages"]
        assert said["role"] == "user"
        if case == "prompts-get":
            assert world.info.resource in said["content"]["text"]
        else:
            assert said["content"]["text"] == "stepped up"
