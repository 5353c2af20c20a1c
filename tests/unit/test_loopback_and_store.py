"""The loopback callback receiver and the credential store."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import stat

import httpx
import pytest

from authkit_mcp_cli.errors import AuthorizationDenied, ProtocolError
from authkit_mcp_cli.loopback import LoopbackReceiver, callback_params_from_url
from authkit_mcp_cli.oauth.callback import validate_callback
from authkit_mcp_cli.store import Store

ISSUER = "https://as.example.com"


def receiver(**kw):
    def validate(params):
        return validate_callback(params, expected_state="st", issuer=ISSUER, iss_advertised=True)

    return LoopbackReceiver(expected_state="st", validate=validate, **kw)


async def get(url):
    async with httpx.AsyncClient() as client:
        return await client.get(url)


def test_receives_the_code_and_ignores_strays():
    async def scenario():
        async with receiver() as rx:
            assert rx.redirect_uri.startswith("http://127.0.0.1:") and rx.redirect_uri.endswith("/oauth/callback")
            assert (await get(f"http://127.0.0.1:{rx.port}/favicon.ico")).status_code == 404
            wrong = await get(rx.redirect_uri + "?code=evil&state=forged&iss=" + ISSUER)
            assert wrong.status_code == 400 and "state mismatch" in wrong.text
            ok = await get(rx.redirect_uri + "?code=good&state=st&iss=" + ISSUER)
            assert ok.status_code == 200 and "Signed in" in ok.text
            replay = await get(rx.redirect_uri + "?code=again&state=st&iss=" + ISSUER)
            assert replay.status_code == 400 and "already finished" in replay.text
            return await rx.wait(1), rx.stray

    code, stray = asyncio.run(scenario())
    assert code == "good" and stray == 2


def test_listens_on_loopback_only():
    async def scenario():
        async with receiver() as rx:
            return [s.getsockname()[0] for s in rx._server.sockets]

    assert asyncio.run(scenario()) == ["127.0.0.1"]


def test_error_response_and_escaping():
    async def scenario():
        async with receiver() as rx:
            page = await get(rx.redirect_uri + "?error=access_denied&error_description=%3Cscript%3Ealert(1)%3C/script%3E&state=st&iss=" + ISSUER)
            with pytest.raises(AuthorizationDenied):
                await rx.wait(1)
            return page

    page = asyncio.run(scenario())
    assert page.status_code == 400 and "<script>" not in page.text and "&lt;script&gt;" in page.text


def test_iss_mismatch_is_refused_in_the_page_too():
    async def scenario():
        async with receiver() as rx:
            page = await get(rx.redirect_uri + "?code=c&state=st&iss=https://evil.example")
            with pytest.raises(ProtocolError):
                await rx.wait(1)
            return page

    assert "mix-up" in asyncio.run(scenario()).text


def test_timeout():
    async def scenario():
        async with receiver() as rx:
            await rx.wait(0.2)

    with pytest.raises(AuthorizationDenied, match="within 0.2 s") as info:
        asyncio.run(scenario())
    assert info.value.code == "login.callback-timeout"


def test_a_busy_port_is_a_usage_error_with_its_code():
    from authkit_mcp_cli.errors import UsageError

    async def scenario():
        async with receiver() as taken:
            async with receiver(port=taken.port):
                pass

    with pytest.raises(UsageError) as info:
        asyncio.run(scenario())
    assert info.value.code == "login.port-busy"


def test_two_logins_get_their_own_ports():
    async def scenario():
        async with receiver() as a, receiver() as b:
            return a.port, b.port

    a, b = asyncio.run(scenario())
    assert a != b


def test_pasted_redirect_url():
    assert callback_params_from_url(" http://127.0.0.1:3000/oauth/callback?code=x&state=y\n") == {"code": "x", "state": "y"}
    assert callback_params_from_url("code=x&state=y") == {"code": "x", "state": "y"}


# --- store ---------------------------------------------------------------------


def test_files_are_0600_in_0700_directories(tmp_path):
    store = Store(tmp_path / "home")
    path = store.save_tokens(ISSUER, "https://r", {"tokens": {"access_token": "secret"}})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "home").stat().st_mode) == 0o700
    assert store.load_tokens(ISSUER, "https://r")["tokens"]["access_token"] == "secret"
    assert store.load_tokens("https://other.example", "https://r") is None  # keyed by issuer


def test_loose_permissions_are_tightened_with_a_warning(tmp_path):
    warnings = []
    store = Store(tmp_path, warn=warnings.append)
    path = store.save_client(ISSUER, {"client_id": "c"})
    os.chmod(path, 0o644)
    assert store.load_client(ISSUER)["client_id"] == "c"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert any("readable by others" in w for w in warnings)


def test_corrupt_file_is_set_aside_not_replaced_silently(tmp_path):
    warnings = []
    store = Store(tmp_path, warn=warnings.append)
    path = store.save_client(ISSUER, {"client_id": "c"})
    path.write_text("{not json")
    assert store.load_client(ISSUER) is None
    aside = list(path.parent.glob(path.name + ".corrupt-*"))
    assert len(aside) == 1 and aside[0].read_text() == "{not json"
    assert any("moved to" in w for w in warnings)


def test_a_failed_write_leaves_the_old_file(tmp_path, monkeypatch):
    store = Store(tmp_path)
    path = store.save_client(ISSUER, {"client_id": "old"})

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        store.save_client(ISSUER, {"client_id": "new"})
    monkeypatch.undo()
    assert json.loads(path.read_text())["client_id"] == "old"
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def _hold_lock(home, ready, release):
    store = Store(home)
    with store.lock(store.token_path(ISSUER, "https://r")):
        ready.set()
        release.wait(10)


def test_lock_is_exclusive_across_processes(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_hold_lock, args=(tmp_path, ready, release))
    proc.start()
    try:
        assert ready.wait(20)
        store = Store(tmp_path)
        from authkit_mcp_cli.errors import UsageError

        with pytest.raises(UsageError, match="holds") as info:
            with store.lock(store.token_path(ISSUER, "https://r"), timeout=0.3):
                pass
        assert info.value.code == "store.locked"
    finally:
        release.set()
        proc.join(10)
    with store.lock(store.token_path(ISSUER, "https://r"), timeout=2):
        pass


def test_a_registration_the_store_cannot_keep_is_reported_with_its_client_id(tmp_path):
    """Issue #24 item 1: the AS has made the client; the error carries its id (the secret masked unless revealed)."""
    from authkit_mcp_cli.client.context import Context
    from authkit_mcp_cli.client.registration import save_registration
    from authkit_mcp_cli.error_codes import ErrorCode
    from authkit_mcp_cli.errors import UsageError
    from authkit_mcp_cli.oauth.client_auth import ClientRegistration
    from authkit_mcp_cli.store import Store

    home = tmp_path / "file-home"
    home.write_text("")
    ctx = Context(client=None, store=Store(home))  # type: ignore[arg-type]
    reg = ClientRegistration("client-123", "s3cr3t-value-xyz", "client_secret_post", ("http://127.0.0.1:1/cb",), "dcr")
    with pytest.raises(UsageError) as caught:
        save_registration(ctx, "https://as.example", reg, {"client_id": "client-123"})
    err = caught.value
    assert err.code == ErrorCode.STORE_UNWRITABLE and err.exit_code == 2
    assert "client_id client-123" in err.message and str(home) in err.message
    assert "s3cr3t-value-xyz" not in err.message and "--client-id client-123" in (err.hint or "")
    with pytest.raises(UsageError) as revealed:
        save_registration(ctx, "https://as.example", reg, {"client_id": "client-123"}, reveal=True)
    assert "s3cr3t-value-xyz" in revealed.value.message


@pytest.mark.parametrize(
    ("pasted", "says"),
    [
        ("https://as.example/login?next=1", "not the redirect to http://127.0.0.1:5000/oauth/callback"),
        ("hello", "not a URL"),
        ("http://127.0.0.1:5000/oauth/callback?code=abc", "no state parameter"),
        ("http://127.0.0.1:5000/oauth/callback?code=abc&state=st", "state is not this login's"),
        ("http://127.0.0.1:5000/oauth/callback?error=access_denied&state=other", "carries error=access_denied"),
        ("http://127.0.0.1:5000/oauth/callback?state=st4te", "no code"),
    ],
)
def test_a_wrong_paste_is_named(pasted, says):
    """Issue #24 item 3: what is wrong with a pasted redirect URL, instead of a silent wait."""
    from authkit_mcp_cli.loopback import paste_problem

    problem = paste_problem(pasted, "http://127.0.0.1:5000/oauth/callback", "st4te")
    assert problem and says in problem, problem


@pytest.mark.parametrize("pasted", ["http://127.0.0.1:5000/oauth/callback?code=abc&state=st4te", "http://localhost:5000/oauth/callback?error=access_denied&state=st4te", "?code=abc&state=st4te"])
def test_this_logins_response_goes_to_the_receiver(pasted):
    from authkit_mcp_cli.loopback import paste_problem

    assert paste_problem(pasted, "http://127.0.0.1:5000/oauth/callback", "st4te") is None
